"""Reports' own tables: export jobs built by the worker, and the daily KPI rollup."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class ExportStatus(models.TextChoices):
    QUEUED = "queued", _("Queued")
    RUNNING = "running", _("Being built")
    DONE = "done", _("Ready")
    FAILED = "failed", _("Failed")


class ExportJob(models.Model):
    """A large export (over `CUSTODY_EXPORT_SYNC_ROWS` rows) built by the worker.

    `query` is the list's filtered, branch-scoped query as the request built it (pickled, then signed
    with the secret key so only this application's own rows are ever unpickled). Only the requester
    may see the progress or download the file.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("requested by")
    )
    name = models.CharField(_("name"), max_length=100)
    fmt = models.CharField(_("format"), max_length=4)
    status = models.CharField(
        _("status"), max_length=8, choices=ExportStatus.choices, default=ExportStatus.QUEUED
    )
    model = models.CharField(max_length=100)
    query = models.TextField()
    columns_ref = models.CharField(max_length=200)
    columns_arg = models.CharField(max_length=100, blank=True)
    language = models.CharField(max_length=10, blank=True)
    time_zone = models.CharField(max_length=64, blank=True)
    rows_total = models.PositiveIntegerField(_("rows"), null=True, blank=True)
    rows_done = models.PositiveIntegerField(_("rows written"), default=0)
    file = models.FileField(upload_to="exports/%Y/%m/", blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(_("requested"), default=timezone.now)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["requested_by", "-created_at"], name="export_requester_idx")]

    def __str__(self) -> str:
        return f"{self.name}.{self.fmt}"

    @property
    def filename(self) -> str:
        return f"{self.name}-{timezone.localtime(self.created_at):%Y%m%d-%H%M}.{self.fmt}"

    @property
    def percent(self) -> int:
        if self.status == ExportStatus.DONE:
            return 100
        if not self.rows_total:
            return 0
        return min(99, int(self.rows_done * 100 / self.rows_total))

    @property
    def finished(self) -> bool:
        return self.status in (ExportStatus.DONE, ExportStatus.FAILED)


class KpiDay(models.Model):
    """The period KPIs of one branch for one local day, as `reports.kpis` defines them (daily rollup).

    Filled by the `kpi_rollup` job (reports/services.py): days up to `KpiRollupState.covered_until`
    are final; later days (today) are counted live. A past day changed later (a void, a late payment
    dated back) is recomputed by the next run, found through the rows' `updated_at`/`created_at`.
    """

    day = models.DateField()
    branch = models.ForeignKey("fleet.Branch", on_delete=models.CASCADE, related_name="+")
    created = models.PositiveIntegerField(default=0)
    # {"approve": [decided, met on time], "handover": [...], "close": [...]}
    sla = models.JSONField(default=dict)
    closed = models.PositiveIntegerField(default=0)
    closed_hours = models.FloatField(default=0)
    # submitted → approved seconds of each custody approved by people that day, sorted and
    # space-separated (exact percentiles over any period: the days' lists are merged; a year is
    # ~400,000 values, which as a JSON array took twice as long to read)
    turnaround_seconds = models.TextField(blank=True, default="")
    # {"<charge type>|<responsibility>": cents} of charges posted that day and still billed
    charges = models.JSONField(default=dict)
    billed = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    paid = models.DecimalField(max_digits=14, decimal_places=2, default=0)
    # Custodies created that day, counted by what the analytics charts group them by:
    # {"<status>": n} (voided included), {"<reason>": n}, {"<custodian type>": n}, {"<customer id>": n}
    # (the last three without voided custodies, as `kpis.created_q`).
    by_status = models.JSONField(default=dict)
    by_reason = models.JSONField(default=dict)
    by_custodian = models.JSONField(default=dict)
    by_customer = models.JSONField(default=dict)
    # {"<insurer name>": [billed cents, paid cents]} of charges posted that day with responsibility insurance
    insurers = models.JSONField(default=dict)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["day", "branch"], name="kpi_day_one_per_branch")]

    def __str__(self) -> str:
        return f"{self.day} {self.branch_id}"


class KpiRollupState(models.Model):
    """One row: every day up to `covered_until` is rolled up; changes after `checked_at` not yet."""

    key = models.CharField(max_length=20, primary_key=True, default="kpi")
    covered_until = models.DateField(null=True, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.key} until {self.covered_until}"
