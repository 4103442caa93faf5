"""Scheduled jobs (DESIGN §11): run by the worker every 5 minutes and by `custody run-jobs`.

Each job is idempotent; a job run is claimed in the database so several workers never run the
same job at once, and a failing job is recorded without stopping the others.
"""

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db.models import F, Q
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from audit.context import acting_as
from core import switches

from .models import JobRun

logger = logging.getLogger(__name__)
INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True)
class Job:
    name: str
    run: Callable[[datetime], dict]
    interval: timedelta = INTERVAL


def _t(message: str, **values):
    """Translated lazily, so each recipient reads it in their own language."""
    return format_lazy(gettext_lazy(message), **values)


def _when(value) -> str:
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else ""


def _target(target: str):
    from custodies.choices import SlaTarget

    return SlaTarget(target).label


def _role(role: str):
    from accounts.choices import Role

    return Role(role).label if role in Role.values else role


# ---- the jobs -------------------------------------------------------------------------------------------


def sla_and_escalation(now: datetime) -> dict:
    from custodies.services import check_sla

    counts = check_sla(now)
    _notify_breaches_and_escalations(now)
    return counts


def _notify(users, kind, title, body, url, custody, key) -> int:
    if not apps.is_installed("notifications"):
        return 0
    from notifications.services import notify_users

    return notify_users(users, kind, title, body, url=url, custody=custody, dedupe_key=key)


def _staff(branch_id):
    if not apps.is_installed("notifications"):
        return []
    from notifications.services import branch_staff

    return branch_staff(branch_id, {"supervisor", "manager"})


def _notify_breaches_and_escalations(now: datetime) -> None:
    from approvals.models import Approval
    from custodies.choices import SlaTarget
    from custodies.models import Custody

    recent = now - timedelta(days=2)
    for target in SlaTarget.values:
        breached = Custody.objects.filter(
            **{f"sla_{target}_breached_at__gte": recent, f"sla_{target}_met_at__isnull": True}
        ).select_related("branch")
        for custody in breached[:500]:
            _notify(
                _staff(custody.branch_id),
                "sla_breached",
                _t("SLA breached: {no} ({target})", no=custody.custody_no, target=_target(target)),
                _t(
                    "The {target} target was due {due}.",
                    target=_target(target),
                    due=_when(getattr(custody, f"sla_{target}_due_at")),
                ),
                f"/custodies/{custody.pk}/",
                custody,
                f"sla_breached:{custody.pk}:{target}",
            )
    for level in Approval.objects.filter(status="escalated", escalated_at__gte=recent).select_related(
        "custody"
    )[:500]:
        _notify(
            _staff(level.custody.branch_id),
            "approval_escalated",
            _t("Approval escalated: {no} level {level}", no=level.custody.custody_no, level=level.level),
            _t("Level {level} ({role}) was not decided in time.", level=level.level, role=_role(level.role)),
            f"/custodies/{level.custody_id}/",
            level.custody,
            f"escalated:{level.pk}",
        )


def sla_at_risk(now: datetime) -> dict:
    from custodies import sla
    from custodies.choices import SlaState
    from custodies.models import Custody

    count = 0
    for custody in Custody.objects.filter(sla.state_q(SlaState.AT_RISK, now))[:1000]:
        view = sla.current_view(custody, now)
        if view:
            count += _notify(
                _staff(custody.branch_id),
                "sla_at_risk",
                _t("SLA at risk: {no}", no=custody.custody_no),
                _t("The {target} target is due {due}.", target=_target(view.target), due=_when(view.due_at)),
                f"/custodies/{custody.pk}/",
                custody,
                f"sla_at_risk:{custody.pk}:{view.target}",
            )
    return {"notified": count}


def approval_reminders(now: datetime) -> dict:
    """Remind deciders once when half of a level's time has passed."""
    from approvals.eligibility import decider_roles
    from approvals.models import Approval
    from approvals.services import claim_reminder

    count = 0
    for level in Approval.objects.filter(
        status="pending", reminded_at__isnull=True, due_at__isnull=False, due_at__gt=now
    ).select_related("custody")[:1000]:
        start = level.created_at
        if now < start + (level.due_at - start) / 2:
            continue
        if claim_reminder(level, now):
            if not apps.is_installed("notifications"):
                continue
            from notifications.services import branch_staff

            users = branch_staff(level.custody.branch_id, decider_roles(level.role))
            count += _notify(
                users,
                "approval_reminder",
                _t("Approval waiting: {no}", no=level.custody.custody_no),
                _t("Level {level} is due {due}.", level=level.level, due=_when(level.due_at)),
                "/approvals/",
                level.custody,
                f"reminder:{level.pk}",
            )
    return {"reminded": count}


def document_expiry(now: datetime) -> dict:
    from documents.models import Document

    today = timezone.localdate(now)
    count = 0
    expiring = Document.objects.filter(
        superseded_at__isnull=True,
        expires_on__isnull=False,
        expires_on__lte=today + timedelta(days=7),
        expires_on__gte=today - timedelta(days=1),
    ).select_related("custody", "uploaded_by")
    for document in expiring[:2000]:
        stage = "today" if document.expires_on <= today else "soon"
        users = list(_staff(document.custody.branch_id))
        if document.uploaded_by and document.uploaded_by not in users:
            users.append(document.uploaded_by)
        title = (
            _t("Document expires today: {name}", name=document.file_name)
            if stage == "today"
            else _t(
                "Document expires on {date}: {name}",
                date=document.expires_on.isoformat(),
                name=document.file_name,
            )
        )
        count += _notify(
            users,
            "document_expiring",
            title,
            document.custody.custody_no,
            f"/custodies/{document.custody_id}/",
            document.custody,
            f"doc_expiry:{document.pk}:{stage}",
        )
    return {"notified": count}


def webhook_retries(now: datetime) -> dict:
    if switches.outbound_held():
        return {"held": True}
    from integrations.services import retry_due

    return retry_due(now)


def email_retries(now: datetime) -> dict:
    if switches.outbound_held():
        return {"held": True}
    if not apps.is_installed("notifications"):
        return {}
    from notifications.services import retry_failed_emails

    return {"retried": retry_failed_emails(now)}


def quote_expiry(now: datetime) -> dict:
    from quotes.services import expire_quotes

    return expire_quotes(now)


def _monitoring():
    from monitoring import jobs

    return jobs


def retention(now: datetime) -> dict:
    from django_tasks_db.models import DBTaskResult

    from .idempotency import purge_expired
    from .models import JobMarker

    old_results, _ = DBTaskResult.objects.filter(finished_at__lt=now - timedelta(days=7)).delete()
    old_markers, _ = JobMarker.objects.filter(created_at__lt=now - timedelta(days=30)).delete()
    return {"idempotency_keys": purge_expired(), "task_results": old_results, "markers": old_markers}


def audit_link(now: datetime) -> dict:
    from audit.services import link_pending

    return {"linked": link_pending(wait=True)}  # entries whose post-commit linking was skipped


JOBS = [
    Job("audit_link", audit_link, timedelta(minutes=1)),
    Job("sla", sla_and_escalation),
    Job("sla_at_risk", sla_at_risk),
    Job("approval_reminders", approval_reminders),
    Job("overdue", lambda now: overdue(now)),  # defined below; looked up at run time
    Job("document_expiry", document_expiry, timedelta(hours=1)),
    Job("webhook_retries", webhook_retries, timedelta(minutes=1)),
    Job("email_retries", email_retries),
    Job("monitoring_probe", lambda now: _monitoring().flush_and_probe(now), timedelta(minutes=1)),
    Job("monitoring_retention", lambda now: _monitoring().retention(now), timedelta(hours=6)),
    Job("rollback_triggers", lambda now: _monitoring().rollback_triggers(now), timedelta(hours=1)),
    Job("retention", retention, timedelta(hours=6)),
    # Daily in effect: a quote expires once the day after valid_until starts; hourly keeps that prompt.
    Job("quote_expiry", quote_expiry, timedelta(hours=1)),
]


def backup(now: datetime) -> dict:
    from .backup import scheduled_backup

    return scheduled_backup(now)


if settings.CUSTODY_BACKUP_EVERY_HOURS > 0:
    JOBS.append(Job("backup", backup, timedelta(hours=settings.CUSTODY_BACKUP_EVERY_HOURS)))


def overdue(now: datetime) -> dict:
    """Active custodies past their expected return: one reminder and one event per custody per day."""
    from custodies.models import Custody
    from custodies.services import event_payload
    from integrations.events import emit

    today = timezone.localdate(now).isoformat()
    count = 0
    for custody in Custody.objects.filter(status="active", expected_return_at__lt=now).select_related(
        "branch"
    )[:2000]:
        key = f"overdue:{custody.pk}:{today}"
        if not _first_time(key, now):
            continue
        emit("custody.overdue", {**event_payload(custody), "expected_return_at": custody.expected_return_at})
        _notify(
            _staff(custody.branch_id),
            "custody_overdue",
            _t("Overdue: {no}", no=custody.custody_no),
            _t("Expected back {when}.", when=_when(custody.expected_return_at)),
            f"/custodies/{custody.pk}/",
            custody,
            key,
        )
        count += 1
    return {"overdue": count}


def _first_time(key: str, now: datetime) -> bool:
    """True once per key (a unique marker row), so reruns and parallel workers do not repeat work."""
    from django.db import IntegrityError, transaction

    from .models import JobMarker

    try:
        with transaction.atomic():
            JobMarker.objects.create(key=key, created_at=now)
        return True
    except IntegrityError:
        return False


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
    for job in JOBS:
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
