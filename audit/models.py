from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Source(models.TextChoices):
    WEB = "web", _("Web")
    API = "api", _("API")
    SYSTEM = "system", _("System")
    INTEGRATION = "integration", _("Integration")
    IMPORT = "import", _("Import")


class AuditEntryQuerySet(models.QuerySet):
    """No bulk rewrite or removal through the ORM (PostgreSQL refuses it again with a trigger)."""

    def update(self, **kwargs):
        raise RuntimeError("audit entries are append-only")

    def delete(self):
        raise RuntimeError("audit entries are append-only")


class AuditEntry(models.Model):
    """Append-only and hash-chained (tamper evidence).

    Writers only INSERT (no lock). The chain is linked after commit by `audit.services.link_pending`,
    which gives each entry its place (`chain_seq`), the previous entry's hash and its own hash over
    every stored field; an entry is linked exactly once. `hash_version` 1 = entries written before
    the rework (hash over part of the fields, linked at insert), kept and verified as they were.
    """

    id = models.BigAutoField(primary_key=True)
    at = models.DateTimeField(default=timezone.now, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    actor_email = models.CharField(max_length=254, blank=True)
    source = models.CharField(max_length=12, choices=Source.choices, default=Source.SYSTEM)
    ip = models.GenericIPAddressField(null=True, blank=True)
    request_id = models.CharField(max_length=36, blank=True)
    action = models.CharField(_("action"), max_length=40, db_index=True)
    object_type = models.CharField(_("object type"), max_length=40)
    object_id = models.CharField(max_length=64)
    object_repr = models.CharField(max_length=200, blank=True)
    # The custody an entry belongs to (a custody's documents, charges... included), for its audit tab.
    custody_id = models.UUIDField(null=True, blank=True)
    changes = models.JSONField(default=dict, blank=True)
    message = models.TextField(blank=True)
    hash_version = models.PositiveSmallIntegerField(default=2)
    chain_seq = models.BigIntegerField(null=True, blank=True, unique=True)  # null until linked
    prev_hash = models.CharField(max_length=64, blank=True)
    entry_hash = models.CharField(max_length=64, unique=True, null=True, blank=True)  # null until linked

    objects = AuditEntryQuerySet.as_manager()

    class Meta:
        ordering = ["-id"]
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(fields=["object_type", "object_id", "id"]),
            models.Index(fields=["custody_id", "id"]),
            models.Index(fields=["actor", "id"]),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.action} {self.object_type} {self.object_repr}"

    def save(self, *args, **kwargs):
        if self.pk is not None:
            raise RuntimeError("audit entries are append-only")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise RuntimeError("audit entries are append-only")
