"""Reports' writers: export jobs (queued by a list view, built by the worker) and the KPI rollup."""

from __future__ import annotations

import base64
import logging
import pickle
import tempfile
from datetime import timedelta

from django.apps import apps
from django.conf import settings
from django.core import signing
from django.core.files import File
from django.db import transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from core.exports import csv_lines, resolve_columns, write_xlsx

from .models import ExportJob, ExportStatus

logger = logging.getLogger(__name__)
SALT = "reports.export-query"
PROGRESS_EVERY = 1000  # rows between two progress updates (core.exports calls back every 1,000 rows)


def _sign_query(queryset) -> str:
    raw = base64.b64encode(pickle.dumps(queryset.query)).decode("ascii")
    return signing.Signer(salt=SALT).sign(raw)


def _load_queryset(job: ExportJob):
    raw = signing.Signer(salt=SALT).unsign(job.query)  # BadSignature: not a row this app wrote
    queryset = apps.get_model(job.model).objects.all()
    queryset.query = pickle.loads(base64.b64decode(raw))  # noqa: S301 - signed by us, see above
    return queryset


def queue_export(user, queryset, columns_ref: str, columns_arg: str, name: str, fmt: str) -> ExportJob:
    """Record the export and queue its task in one transaction (the task never runs for a job that
    was not committed, and a committed job always has its task). `queryset` is already filtered and
    scoped to the user's branches by the list view; the worker runs exactly that query."""
    from .tasks import build_export

    if fmt not in ("csv", "xlsx"):
        raise ValueError(fmt)
    with transaction.atomic():
        job = ExportJob.objects.create(
            requested_by=user,
            name=name[:100],
            fmt=fmt,
            model=queryset.model._meta.label,
            query=_sign_query(queryset),
            columns_ref=columns_ref,
            columns_arg=columns_arg,
            language=translation.get_language() or settings.LANGUAGE_CODE,
            time_zone=timezone.get_current_timezone_name(),
        )
        build_export.enqueue(str(job.pk))
    return job


def run_export(job_id: str) -> str:
    """Build the file (called by the worker). Idempotent: a job is claimed once, from `queued`."""
    now = timezone.now()
    if not ExportJob.objects.filter(pk=job_id, status=ExportStatus.QUEUED).update(
        status=ExportStatus.RUNNING, started_at=now
    ):
        return "not queued"
    job = ExportJob.objects.select_related("requested_by").get(pk=job_id)
    try:
        with translation.override(job.language or None), timezone.override(job.time_zone or None):
            count = _build(job)
    except Exception as exc:
        logger.exception("export %s failed", job.pk)
        ExportJob.objects.filter(pk=job.pk).update(
            status=ExportStatus.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        _notify(job, failed=True)
        return "failed"
    ExportJob.objects.filter(pk=job.pk).update(
        status=ExportStatus.DONE, rows_done=count, file=job.file.name, finished_at=timezone.now()
    )
    _notify(job, failed=False)
    return f"{count} rows"


def _build(job: ExportJob) -> int:
    queryset = _load_queryset(job)
    ExportJob.objects.filter(pk=job.pk).update(rows_total=queryset.count())
    columns = resolve_columns(job.columns_ref, job.columns_arg)

    def progress(done: int) -> None:
        ExportJob.objects.filter(pk=job.pk).update(rows_done=done)

    rows = queryset.iterator(chunk_size=2000)
    with tempfile.TemporaryFile() as handle:
        if job.fmt == "xlsx":
            count = write_xlsx(rows, columns, job.name, handle, progress=progress)
        else:
            chunks = 0
            for chunk in csv_lines(rows, columns, progress=progress):
                handle.write(chunk.encode("utf-8"))
                chunks += 1
            count = chunks - 2  # the byte-order mark and the header row come first
        handle.seek(0)
        job.file.save(job.filename, File(handle), save=False)
    return count


def _notify(job: ExportJob, failed: bool) -> None:
    if not apps.is_installed("notifications"):
        return
    from notifications.services import notify_users

    if failed:
        title = format_lazy(_("Export {name} failed"), name=job.name)
        body = _("The export could not be built. Try again with fewer rows, or report a problem.")
        url = reverse("reports:export", args=[job.pk])
    else:
        title = format_lazy(_("Export {name} is ready"), name=job.name)
        body = _("Your export is ready to download.")
        url = reverse("reports:export_download", args=[job.pk])
    notify_users([job.requested_by], "export_ready", title, body, url=url, dedupe_key=f"export:{job.pk}")


def delete_old_exports(now) -> dict:
    """Finished exports older than `CUSTODY_EXPORT_KEEP_DAYS`: the file and the row."""
    old = ExportJob.objects.filter(created_at__lt=now - timedelta(days=settings.CUSTODY_EXPORT_KEEP_DAYS))
    removed = 0
    for job in old.only("pk", "file"):
        if job.file:
            job.file.delete(save=False)
        removed += 1
    old.delete()
    return {"exports_deleted": removed}


# ---- the daily KPI rollup ---------------------------------------------------------------------------


def rollup_day(day, now) -> int:
    """(Re)compute `KpiDay` rows of one local day for every branch, with the definitions of `kpis`."""
    from django.db.models import Count, DurationField, ExpressionWrapper, F, Sum

    from billing.models import Charge, Payment
    from billing.money import to_cents
    from custodies import sla
    from custodies.choices import SlaTarget
    from custodies.models import Custody

    from . import kpis
    from .models import KpiDay

    period = kpis.Period(day, day)
    custodies = Custody.objects.order_by()
    rows: dict = {}

    def row(branch_id) -> dict:
        return rows.setdefault(
            branch_id,
            {
                "created": 0,
                "sla": {t: [0, 0] for t in SlaTarget.values},
                "closed": 0,
                "closed_hours": 0.0,
                "turnaround_seconds": [],  # stored as text, see KpiDay
                "charges": {},
                "billed": kpis.ZERO,
                "paid": kpis.ZERO,
                "by_status": {},
                "by_reason": {},
                "by_custodian": {},
                "by_customer": {},
                "insurers": {},
            },
        )

    facets: dict = {}
    for branch_id, *facet in kpis.created_by_facet(custodies, period, "branch_id"):
        facets.setdefault(branch_id, kpis.CreatedFacets()).add(day, branch_id, *facet)
    for branch_id, counted in facets.items():
        r = row(branch_id)
        r["created"] = counted.by_branch[branch_id]
        r["by_status"], r["by_reason"] = dict(counted.by_status), dict(counted.by_reason)
        r["by_custodian"], r["by_customer"] = dict(counted.by_custodian), dict(counted.by_customer)
    for target in SlaTarget.values:
        decided, on_time = sla.outcome_q(target, period.since, period.until, now)
        for branch_id, d, m in (
            custodies.filter(period.contains(f"sla_{target}_due_at"))
            .values_list("branch_id")
            .annotate(d=Count("pk", filter=decided), m=Count("pk", filter=on_time))
        ):
            if d:
                row(branch_id)["sla"][target] = [d, m]
    duration = ExpressionWrapper(F("returned_at") - F("handed_over_at"), output_field=DurationField())
    for branch_id, n, total in (
        custodies.filter(kpis.closed_q(period))
        .values_list("branch_id")
        .annotate(n=Count("pk"), t=Sum(duration))
    ):
        row(branch_id)["closed"] = n
        row(branch_id)["closed_hours"] = kpis._hours(kpis._as_timedelta(total)) if total is not None else 0.0
    for branch_id, seconds in kpis.approval_seconds_by_branch(custodies, period):
        row(branch_id)["turnaround_seconds"].append(seconds)
    for branch_id, charge_type, who, total in (
        Charge.objects.order_by()
        .filter(kpis.posted_charges_q(period))
        .values_list("custody__branch_id", "charge_type", "responsibility")
        .annotate(s=Sum("total"))
    ):
        r = row(branch_id)
        r["charges"][f"{charge_type}|{who}"] = to_cents(total)
        r["billed"] += total
    for branch_id, insurer, billed, paid in kpis.insurer_sums(
        Charge.objects.order_by(), period, "custody__branch_id"
    ):
        row(branch_id)["insurers"][insurer] = [to_cents(billed), to_cents(paid)]
    for branch_id, total in (
        Payment.objects.order_by()
        .filter(period.contains("received_at"))
        .values_list("custody__branch_id")
        .annotate(s=Sum("amount"))
    ):
        row(branch_id)["paid"] = total
    for r in rows.values():
        r["turnaround_seconds"] = " ".join(map(str, sorted(r["turnaround_seconds"])))
    with transaction.atomic():
        KpiDay.objects.filter(day=day).delete()
        KpiDay.objects.bulk_create(
            [
                KpiDay(day=day, branch_id=branch_id, computed_at=now, **values)
                for branch_id, values in rows.items()
            ]
        )
    return len(rows)


def _dirty_days(since, now) -> set:
    """Local days whose figures rows changed since `since` may have moved (voids, late payments)."""
    from billing.models import Charge, Payment
    from custodies.models import Custody

    fields = [
        "created_at", "closed_at", "approved_at",
        "sla_approve_due_at", "sla_handover_due_at", "sla_close_due_at",
    ]  # fmt: skip
    days = set()
    changed = []
    for pk, *values in Custody.objects.filter(updated_at__gte=since).values_list("pk", *fields).iterator():
        changed.append(pk)
        days.update(timezone.localdate(v) for v in values if v is not None)
    # a changed custody moves its charges too (insurer recovery groups them by its insurer's name)
    charges = Charge.objects.filter(posted_at__isnull=False)
    batches = [charges.filter(updated_at__gte=since)]
    batches += [charges.filter(custody_id__in=changed[i : i + 1000]) for i in range(0, len(changed), 1000)]
    for batch in batches:
        days.update(timezone.localdate(posted) for posted in batch.values_list("posted_at", flat=True))
    for received in Payment.objects.filter(created_at__gte=since).values_list("received_at", flat=True):
        days.add(timezone.localdate(received))
    return days


def kpi_rollup(now) -> dict:
    """The scheduled job: roll up every finished day not yet covered (all history on the first run),
    and recompute yesterday, today's predecessor days touched by changes since the last run.
    Today is never covered: it is still happening, and the KPIs count it live."""
    from billing.models import Charge
    from custodies.models import Custody

    from .models import KpiRollupState

    today = timezone.localdate(now)
    yesterday = today - timedelta(days=1)
    state, _created = KpiRollupState.objects.get_or_create(key="kpi")
    days: set = set()
    if state.covered_until is None:
        first = [
            v
            for v in (
                Custody.objects.order_by("created_at").values_list("created_at", flat=True).first(),
                Charge.objects.exclude(posted_at=None)
                .order_by("posted_at")
                .values_list("posted_at", flat=True)
                .first(),
            )
            if v is not None
        ]
        start = timezone.localdate(min(first)) if first else yesterday
    else:
        start = state.covered_until + timedelta(days=1)
        if state.checked_at is not None:
            # a minute of overlap: a transaction that committed just after the last run's reads
            days |= {
                d
                for d in _dirty_days(state.checked_at - timedelta(minutes=1), now)
                if d <= state.covered_until
            }
    day = min(start, yesterday)
    while day <= yesterday:
        days.add(day)
        day += timedelta(days=1)
    rows = sum(rollup_day(d, now) for d in sorted(days))
    KpiRollupState.objects.filter(key="kpi").update(covered_until=yesterday, checked_at=now)
    return {"days": len(days), "rows": rows}
