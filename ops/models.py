import uuid

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class SystemSettings(models.Model):
    """Singleton row (pk=1): switches an admin flips at run time."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    maintenance_mode = models.BooleanField(_("maintenance mode (read-only)"), default=False)
    new_custodies_enabled = models.BooleanField(_("new custodies allowed"), default=True)
    message = models.CharField(_("message to users"), max_length=500, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("system settings")
        verbose_name_plural = _("system settings")

    def __str__(self):
        return "system settings"

    @classmethod
    def load(cls) -> "SystemSettings":
        obj, _created = cls.objects.get_or_create(pk=1)
        return obj


class IdempotencyRecord(models.Model):
    """First result of a creating POST for (user, Idempotency-Key), replayed on retries (DESIGN §15)."""

    user = models.ForeignKey("accounts.User", on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    method = models.CharField(max_length=8)
    path = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)  # null while the first request runs
    response_body = models.BinaryField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_user_key")]

    def __str__(self):
        return f"{self.user_id}:{self.key}"


class JobRun(models.Model):
    """Last run of each scheduled job (DESIGN §11), shown on the monitoring page."""

    name = models.CharField(max_length=40, primary_key=True)
    last_started_at = models.DateTimeField(null=True, blank=True)
    last_finished_at = models.DateTimeField(null=True, blank=True)
    last_duration_ms = models.PositiveIntegerField(null=True, blank=True)
    last_counts = models.JSONField(default=dict, blank=True)
    last_error = models.TextField(blank=True)
    runs = models.PositiveIntegerField(default=0)
    failures = models.PositiveIntegerField(default=0)

    def __str__(self):
        return self.name


class WorkerHeartbeat(models.Model):
    worker_id = models.CharField(max_length=64, primary_key=True)
    hostname = models.CharField(max_length=120, blank=True)
    pid = models.PositiveIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self):
        return self.worker_id


class JobMarker(models.Model):
    """ "Done once" markers for jobs (e.g. one overdue reminder per custody per day)."""

    key = models.CharField(max_length=120, primary_key=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self):
        return self.key


class ImportedRecord(models.Model):
    """What a legacy import created, by (kind, natural key): running the same file again creates nothing."""

    kind = models.CharField(max_length=20)
    key = models.CharField(max_length=120)
    object_id = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="imported_record_kind_key")]

    def __str__(self):
        return f"{self.kind}:{self.key}"


class ImportRun(models.Model):
    """One legacy import through the admin page: the uploaded CSV, its column mapping, the dry run and the
    import the worker runs (progress polled by the page), and what came of it."""

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded: check the mapping")
        CHECKING = "checking", _("Dry run running")
        CHECKED = "checked", _("Dry run done")
        IMPORTING = "importing", _("Importing")
        DONE = "done", _("Imported")
        FAILED = "failed", _("Refused")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    kind = models.CharField(_("kind"), max_length=20)
    file_name = models.CharField(_("file"), max_length=200)
    content = models.BinaryField(editable=False)
    mapping = models.JSONField(default=dict, blank=True)  # file column → import column ("" = ignored)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.UPLOADED)
    dry_run = models.BooleanField(default=True)  # what the last (or running) pass was
    phase = models.CharField(max_length=20, blank=True)  # checking rows / writing
    processed = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    skipped = models.PositiveIntegerField(default=0)
    rejected = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    created_by = models.ForeignKey("accounts.User", on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.kind}: {self.file_name}"

    @property
    def running(self) -> bool:
        return self.status in (self.Status.CHECKING, self.Status.IMPORTING)

    @property
    def percent(self) -> int:
        if not self.total:
            return 0
        return min(100, round(100 * self.processed / self.total))
