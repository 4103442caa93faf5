import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import CustodianType, CustodyStatus, RatePolicy, ReasonCode, ReasonSubcode

MONEY = {"max_digits": 12, "decimal_places": 2}
USER = settings.AUTH_USER_MODEL


class Custody(models.Model):
    """A custody transaction (DESIGN §4). Changed only through custodies.services."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    custody_no = models.CharField(_("custody no."), max_length=20, unique=True, editable=False)
    status = models.CharField(
        _("status"), max_length=20, choices=CustodyStatus.choices, default=CustodyStatus.DRAFT
    )
    branch = models.ForeignKey(
        "fleet.Branch", on_delete=models.PROTECT, related_name="custodies", verbose_name=_("branch")
    )
    agreement = models.ForeignKey(
        "fleet.RentalAgreement",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="custodies",
        verbose_name=_("rental agreement"),
    )
    customer = models.ForeignKey(
        "fleet.Customer", on_delete=models.PROTECT, related_name="custodies", verbose_name=_("customer")
    )
    custodian_type = models.CharField(_("custodian type"), max_length=12, choices=CustodianType.choices)
    custodian_name = models.CharField(_("custodian name"), max_length=200)
    custodian_phone = models.CharField(_("custodian phone"), max_length=30, blank=True)
    custodian_email = models.EmailField(_("custodian e-mail"), blank=True)
    custodian_id_no = models.CharField(_("custodian ID no."), max_length=40, blank=True)
    original_vehicle = models.ForeignKey(
        "fleet.Vehicle",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="custodies_as_original",
        verbose_name=_("original vehicle"),
    )
    replacement_vehicle = models.ForeignKey(
        "fleet.Vehicle",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="custodies_as_replacement",
        verbose_name=_("replacement vehicle"),
    )
    reason_code = models.CharField(_("reason"), max_length=12, choices=ReasonCode.choices)
    reason_subcode = models.CharField(
        _("reason detail"), max_length=30, choices=ReasonSubcode.choices, blank=True
    )
    incident_at = models.DateTimeField(_("incident time"))
    incident_ref = models.CharField(_("incident reference"), max_length=60, blank=True)
    incident_narrative = models.TextField(_("what happened"), blank=True)
    incident_odometer_km = models.PositiveIntegerField(_("odometer at incident (km)"), null=True, blank=True)
    incident_location = models.CharField(_("incident location"), max_length=200, blank=True)
    effective_from = models.DateTimeField(_("effective from"))
    expected_return_at = models.DateTimeField(_("expected return"), null=True, blank=True)
    until_original_ready = models.BooleanField(_("until the original is ready"), default=False)
    # An accident, breakdown or damage without a replacement car is a decision, recorded with its reason.
    no_replacement_needed = models.BooleanField(_("no replacement needed"), default=False)
    no_replacement_reason = models.CharField(_("why no replacement"), max_length=200, blank=True)
    original_ready_at = models.DateTimeField(_("original ready at"), null=True, blank=True)
    rate_policy = models.CharField(
        _("rate policy"), max_length=14, choices=RatePolicy.choices, default=RatePolicy.INHERIT
    )
    special_rate_code = models.ForeignKey(
        "fleet.SpecialRateCode",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="custodies",
        verbose_name=_("special rate code"),
    )
    deposit_carryover = models.DecimalField(_("deposit carried over"), default=Decimal("0"), **MONEY)
    damage_hold_amount = models.DecimalField(_("damage hold"), default=Decimal("0"), **MONEY)
    damage_hold_ref = models.CharField(_("damage hold reference"), max_length=60, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    tags = models.JSONField(_("tags"), default=list, blank=True)

    # Insurance replacement (insurers pay within an authorization).
    insurer_name = models.CharField(_("insurer"), max_length=120, blank=True)
    insurance_policy_no = models.CharField(_("policy no."), max_length=60, blank=True)
    claim_no = models.CharField(_("claim no."), max_length=60, blank=True)
    claim_status = models.CharField(_("claim status"), max_length=40, blank=True)
    insurer_authorization_no = models.CharField(_("authorization no."), max_length=60, blank=True)
    authorized_daily_rate_cap = models.DecimalField(
        _("authorized daily rate cap"), null=True, blank=True, **MONEY
    )
    authorized_max_days = models.PositiveIntegerField(_("authorized max days"), null=True, blank=True)

    # SLA targets (custodies/sla.py): due, at-risk-from, met and breached stamps per target.
    sla_approve_due_at = models.DateTimeField(_("approval SLA due"), null=True, blank=True)
    sla_approve_at_risk_at = models.DateTimeField(_("approval SLA at risk from"), null=True, blank=True)
    sla_approve_met_at = models.DateTimeField(_("approval SLA met at"), null=True, blank=True)
    sla_approve_breached_at = models.DateTimeField(_("approval SLA breached at"), null=True, blank=True)
    sla_handover_due_at = models.DateTimeField(_("handover SLA due"), null=True, blank=True)
    sla_handover_at_risk_at = models.DateTimeField(_("handover SLA at risk from"), null=True, blank=True)
    sla_handover_met_at = models.DateTimeField(_("handover SLA met at"), null=True, blank=True)
    sla_handover_breached_at = models.DateTimeField(_("handover SLA breached at"), null=True, blank=True)
    sla_close_due_at = models.DateTimeField(_("close SLA due"), null=True, blank=True)
    sla_close_at_risk_at = models.DateTimeField(_("close SLA at risk from"), null=True, blank=True)
    sla_close_met_at = models.DateTimeField(_("close SLA met at"), null=True, blank=True)
    sla_close_breached_at = models.DateTimeField(_("close SLA breached at"), null=True, blank=True)

    # Handover and return readings (DESIGN §4.3).
    handover_odometer_km = models.PositiveIntegerField(_("odometer at handover (km)"), null=True, blank=True)
    handover_fuel_level = models.PositiveSmallIntegerField(
        _("fuel at handover (eighths)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(8)],
    )
    handover_notes = models.TextField(_("handover notes"), blank=True)
    return_odometer_km = models.PositiveIntegerField(_("odometer at return (km)"), null=True, blank=True)
    return_fuel_level = models.PositiveSmallIntegerField(
        _("fuel at return (eighths)"),
        null=True,
        blank=True,
        validators=[MinValueValidator(0), MaxValueValidator(8)],
    )
    return_notes = models.TextField(_("return notes"), blank=True)
    original_critical_problem = models.BooleanField(_("original has a critical problem"), default=False)

    # The period the replacement vehicle is held: [reserved_from, reserved_until); null until = open-ended.
    reserved_from = models.DateTimeField(null=True, blank=True)
    reserved_until = models.DateTimeField(null=True, blank=True)

    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    handed_over_at = models.DateTimeField(null=True, blank=True)
    handed_over_by = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    returned_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    closed_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    voided_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    void_reason = models.TextField(blank=True)
    last_reject_reason = models.TextField(blank=True)
    submission_round = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("custody")
        verbose_name_plural = _("custodies")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["branch", "status", "-created_at"], name="custody_branch_status_created"),
            models.Index(fields=["status", "-created_at"], name="custody_status_created"),
            models.Index(fields=["-created_at", "-id"], name="custody_created"),
            models.Index(fields=["reason_code", "-created_at"], name="custody_reason_created"),
            models.Index(fields=["custodian_type"], name="custody_custodian_type"),
            models.Index(fields=["customer", "-created_at"], name="custody_customer_created"),
            models.Index(fields=["agreement"], name="custody_agreement"),
            models.Index(fields=["replacement_vehicle", "status"], name="custody_replacement_status"),
            models.Index(fields=["original_vehicle", "status"], name="custody_original_status"),
            # The custody that took a car out of use (dashboard and analytics ageing): one index probe a car.
            models.Index(
                fields=["original_vehicle", "-handed_over_at"],
                condition=Q(handed_over_at__isnull=False),
                name="custody_original_handed_over",
            ),
            models.Index(fields=["incident_at"], name="custody_incident_at"),
            models.Index(fields=["effective_from"], name="custody_effective_from"),
            models.Index(fields=["incident_ref"], name="custody_incident_ref"),
            models.Index(fields=["custodian_name"], name="custody_custodian_name"),
            models.Index(fields=["status", "sla_approve_due_at"], name="custody_sla_approve"),
            models.Index(fields=["status", "sla_handover_due_at"], name="custody_sla_handover"),
            models.Index(fields=["status", "sla_close_due_at"], name="custody_sla_close"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(custody_no__startswith="CST-"), name="custody_no_format"),
            models.CheckConstraint(
                condition=Q(expected_return_at__isnull=True) | Q(expected_return_at__gt=F("effective_from")),
                name="custody_return_after_start",
            ),
            models.CheckConstraint(
                condition=Q(damage_hold_amount__gte=0) & Q(deposit_carryover__gte=0),
                name="custody_amounts_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(handover_fuel_level__isnull=True) | Q(handover_fuel_level__lte=8),
                name="custody_handover_fuel",
            ),
            models.CheckConstraint(
                condition=Q(return_fuel_level__isnull=True) | Q(return_fuel_level__lte=8),
                name="custody_return_fuel",
            ),
            models.CheckConstraint(
                condition=Q(return_odometer_km__isnull=True)
                | Q(handover_odometer_km__isnull=True)
                | Q(return_odometer_km__gte=F("handover_odometer_km")),
                name="custody_return_odometer_not_below_handover",
            ),
            models.CheckConstraint(
                condition=Q(replacement_vehicle__isnull=True)
                | Q(original_vehicle__isnull=True)
                | ~Q(replacement_vehicle=F("original_vehicle")),
                name="custody_replacement_not_original",
            ),
            # status ↔ timestamps
            models.CheckConstraint(
                condition=~Q(status="active") | Q(handed_over_at__isnull=False),
                name="custody_active_has_handover",
            ),
            models.CheckConstraint(
                condition=~Q(status="closed") | Q(closed_at__isnull=False),
                name="custody_closed_has_closed_at",
            ),
            models.CheckConstraint(
                condition=~Q(status="voided") | Q(voided_at__isnull=False),
                name="custody_voided_has_voided_at",
            ),
        ]

    def __str__(self):
        return self.custody_no

    @property
    def is_terminal(self) -> bool:
        return self.status in (CustodyStatus.CLOSED, CustodyStatus.VOIDED)


class SlaPolicy(models.Model):
    """Hours allowed per target, per reason with an optional branch override (DESIGN §6)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    reason_code = models.CharField(_("reason"), max_length=12, choices=ReasonCode.choices)
    branch = models.ForeignKey(
        "fleet.Branch",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="sla_policies",
        verbose_name=_("branch (override)"),
    )
    approve_within_hours = models.DecimalField(
        _("approve within (hours)"),
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.1"))],
    )
    handover_within_hours = models.DecimalField(
        _("hand over within (hours)"),
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.1"))],
    )
    close_within_hours = models.DecimalField(
        _("close within (hours)"),
        max_digits=6,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.1"))],
    )

    class Meta:
        verbose_name = _("SLA policy")
        verbose_name_plural = _("SLA policies")
        ordering = ["reason_code", "branch__code"]
        constraints = [
            models.UniqueConstraint(
                fields=["reason_code"], condition=Q(branch__isnull=True), name="sla_one_default_per_reason"
            ),
            models.UniqueConstraint(fields=["reason_code", "branch"], name="sla_one_per_reason_branch"),
        ]

    def __str__(self):
        scope = self.branch.code if self.branch_id else _("all branches")
        return f"{self.get_reason_code_display()} · {scope}"


class Counter(models.Model):
    """Race-free number sequences where the database has no sequences (SQLite)."""

    name = models.CharField(max_length=40, primary_key=True)
    value = models.BigIntegerField(default=0)

    def __str__(self):
        return f"{self.name}={self.value}"
