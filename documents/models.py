import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import (
    ConditionStage,
    DamageSeverity,
    DamageType,
    DamageZone,
    DocumentType,
    RuleStage,
    SignatureStatus,
)


def document_path(instance, filename):
    # Random names: the original name is kept in file_name, never used as a path.
    return f"documents/{instance.custody_id}/{uuid.uuid4().hex}"


class Document(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    custody = models.ForeignKey("custodies.Custody", on_delete=models.PROTECT, related_name="documents")
    document_type = models.CharField(_("type"), max_length=30, choices=DocumentType.choices)
    file = models.FileField(upload_to=document_path, max_length=255)
    file_name = models.CharField(_("file name"), max_length=255)
    size = models.PositiveBigIntegerField()
    content_type = models.CharField(max_length=100)
    sha256 = models.CharField(max_length=64)
    expires_on = models.DateField(_("expires on"), null=True, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    uploaded_at = models.DateTimeField(default=timezone.now)
    superseded_by = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    superseded_at = models.DateTimeField(null=True, blank=True)
    expiry_alerted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-uploaded_at"]
        indexes = [
            models.Index(fields=["custody", "document_type"], name="document_custody_type"),
            models.Index(fields=["expires_on"], name="document_expires_on"),
        ]

    def __str__(self):
        return f"{self.get_document_type_display()}: {self.file_name}"


class DocumentRule(models.Model):
    """Required documents by reason and stage (DESIGN §7), admin-editable."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reason_code = models.CharField(
        _("reason"), max_length=12, blank=True, help_text=_("Empty: every reason.")
    )
    stage = models.CharField(_("stage"), max_length=10, choices=RuleStage.choices, default=RuleStage.SUBMIT)
    document_type = models.CharField(_("document"), max_length=30, choices=DocumentType.choices)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["stage", "reason_code", "document_type"]
        verbose_name = _("required document rule")
        verbose_name_plural = _("required document rules")
        constraints = [
            models.UniqueConstraint(
                fields=["reason_code", "stage", "document_type"], name="document_rule_unique"
            ),
        ]

    def __str__(self):
        return f"{self.reason_code or '*'} · {self.stage} · {self.document_type}"


class Signature(models.Model):
    """An e-signature on an acknowledgment or checklist (DESIGN §7)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    custody = models.ForeignKey("custodies.Custody", on_delete=models.PROTECT, related_name="signatures")
    document_type = models.CharField(max_length=30, choices=DocumentType.choices)
    status = models.CharField(max_length=10, choices=SignatureStatus.choices, default=SignatureStatus.PENDING)
    signer_name = models.CharField(_("signer name"), max_length=200, blank=True)
    signed_at = models.DateTimeField(null=True, blank=True)
    signer_ip = models.GenericIPAddressField(null=True, blank=True)
    signed_content_sha256 = models.CharField(max_length=64, blank=True)
    image = models.ForeignKey(Document, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decline_reason = models.TextField(blank=True)
    # Customer signing links (single use, expiring): only the hash of the token is stored.
    token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    token_used_at = models.DateTimeField(null=True, blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status="signed") | Q(signed_at__isnull=False), name="signature_signed_has_time"
            ),
        ]

    def __str__(self):
        return f"{self.get_document_type_display()} · {self.get_status_display()}"


class ConditionReport(models.Model):
    """The car's condition at handover or return: readings entered once, damage marked by zone."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    custody = models.ForeignKey(
        "custodies.Custody", on_delete=models.PROTECT, related_name="condition_reports"
    )
    stage = models.CharField(_("stage"), max_length=10, choices=ConditionStage.choices)
    vehicle = models.ForeignKey("fleet.Vehicle", on_delete=models.PROTECT, related_name="condition_reports")
    odometer_km = models.PositiveIntegerField(_("odometer (km)"), null=True, blank=True)
    fuel_level = models.PositiveSmallIntegerField(_("fuel level (eighths)"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.UniqueConstraint(fields=["custody", "stage"], name="condition_one_report_per_stage"),
            models.CheckConstraint(
                condition=Q(fuel_level__isnull=True) | (Q(fuel_level__gte=0) & Q(fuel_level__lte=8)),
                name="condition_fuel_0_8",
            ),
        ]

    def __str__(self):
        return f"{self.get_stage_display()} · {self.vehicle_id}"


class DamageMark(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    report = models.ForeignKey(ConditionReport, on_delete=models.CASCADE, related_name="marks")
    zone = models.CharField(_("zone"), max_length=10, choices=DamageZone.choices)
    damage_type = models.CharField(_("damage"), max_length=10, choices=DamageType.choices)
    severity = models.CharField(_("severity"), max_length=10, choices=DamageSeverity.choices)
    note = models.CharField(_("note"), max_length=300, blank=True)
    photo = models.ForeignKey(Document, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["created_at"]
        indexes = [models.Index(fields=["report", "zone"], name="damage_report_zone")]

    def __str__(self):
        return f"{self.get_zone_display()}: {self.get_damage_type_display()}"
