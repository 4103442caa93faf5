"""Running the scheduled jobs (DESIGN §11): by the worker every minute and by `custody run-jobs`.

Each app declares its own jobs in `<app>/jobs.py` (see core/schedule.py); this module keeps the
operations jobs (retention, backups) and runs them all. A job run is claimed in the database so
several workers never run the same job at once, and a failing job is recorded without stopping the others.
"""

import logging
import time
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, Q
from django.utils import timezone

from audit.context import acting_as
from core.schedule import Job, every
from core.schedule import jobs as registered_jobs

from .models import JobMarker, JobRun

logger = logging.getLogger(__name__)


@every(hours=6)
def retention(now: datetime) -> dict:
    from django_tasks_db.models import DBTaskResult

    from .idempotency import purge_expired

    old_results, _ = DBTaskResult.objects.filter(finished_at__lt=now - timedelta(days=7)).delete()
    old_markers, _ = JobMarker.objects.filter(created_at__lt=now - timedelta(days=30)).delete()
    return {"idempotency_keys": purge_expired(), "task_results": old_results, "markers": old_markers}


def backup(now: datetime) -> dict:
    from .backup import scheduled_backup

    return scheduled_backup(now)


if settings.CUSTODY_BACKUP_EVERY_HOURS > 0:
    every(hours=settings.CUSTODY_BACKUP_EVERY_HOURS)(backup)


def first_time(key: str, now: datetime) -> bool:
    """True once per key (a unique marker row), so reruns and parallel workers do not repeat work."""
    try:
        with transaction.atomic():
            JobMarker.objects.create(key=key, created_at=now)
        return True
    except IntegrityError:
        return False


def all_jobs() -> list[Job]:
    return registered_jobs()


# ---- running ------------------------------------------------------------------------------------------------


def _claim(job: Job, now: datetime, force: bool) -> bool:
    JobRun.objects.get_or_create(name=job.name)
    qs = JobRun.objects.filter(name=job.name)
    if not force:
        qs = qs.filter(Q(last_started_at__isnull=True) | Q(last_started_at__lte=now - job.interval))
    return bool(qs.update(last_started_at=now))


def run_due_jobs(now: datetime | None = None, force: bool = False, only: list[str] | None = None) -> dict:
    """Run every job whose interval has passed (or all with force). Returns name → counts or error."""
    results = {}
    for job in all_jobs():
        if only and job.name not in only:
            continue
        started_at = now or timezone.now()
        if not _claim(job, started_at, force):
            continue
        clock = time.monotonic()
        error = ""
        counts: dict = {}
        try:
            with acting_as(source="system"):
                counts = job.run(started_at) or {}
        except Exception as exc:  # noqa: BLE001 - one failing job must not stop the others
            logger.exception("job %s failed", job.name)
            error = f"{exc.__class__.__name__}: {exc}"
        duration = int((time.monotonic() - clock) * 1000)
        JobRun.objects.filter(name=job.name).update(
            last_finished_at=timezone.now(),
            last_duration_ms=duration,
            last_counts=counts,
            last_error=error,
        )
        JobRun.objects.filter(name=job.name).update(
            runs=F("runs") + 1, failures=F("failures") + (1 if error else 0)
        )
        results[job.name] = {"error": error} if error else counts
    return results
