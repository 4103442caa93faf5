"""Quotes and their cost sheets (DESIGN §12). Changed only through quotes.services."""

import uuid
from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import CostSheetStatus, QuoteStatus

MONEY = {"max_digits": 12, "decimal_places": 2}
PERCENT = {"max_digits": 5, "decimal_places": 2}
USER = settings.AUTH_USER_MODEL
MAX_TERM_MONTHS = 72


class Quote(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    quote_no = models.CharField(_("quote no."), max_length=20, unique=True, editable=False)
    status = models.CharField(
        _("status"), max_length=20, choices=QuoteStatus.choices, default=QuoteStatus.DRAFT
    )
    branch = models.ForeignKey(
        "fleet.Branch", on_delete=models.PROTECT, related_name="quotes", verbose_name=_("branch")
    )
    customer = models.ForeignKey(
        "fleet.Customer", on_delete=models.PROTECT, related_name="quotes", verbose_name=_("customer")
    )
    valid_until = models.DateField(_("valid until"))
    vat_rate = models.DecimalField(
        _("VAT %"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
        **PERCENT,
    )
    notes = models.TextField(_("notes"), blank=True)
    # Monthly amounts, kept equal to pricing.quote_totals(lines) by the services.
    subtotal = models.DecimalField(_("subtotal"), default=Decimal("0"), **MONEY)
    vat_amount = models.DecimalField(_("VAT"), default=Decimal("0"), **MONEY)
    total = models.DecimalField(_("total"), default=Decimal("0"), **MONEY)

    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    approved_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    last_reject_reason = models.TextField(blank=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    sent_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    sent_to = models.EmailField(blank=True)

    # The public review link: a random nonce (the token is an HMAC of it, never stored) and the token's hash.
    review_nonce = models.CharField(max_length=64, blank=True)
    review_token_hash = models.CharField(max_length=64, blank=True, db_index=True)
    review_expires_at = models.DateTimeField(null=True, blank=True)

    # The customer's decision on the public page.
    decided_at = models.DateTimeField(null=True, blank=True)
    decision_name = models.CharField(max_length=200, blank=True)
    decision_reason = models.TextField(blank=True)
    decision_ip = models.GenericIPAddressField(null=True, blank=True)
    decision_user_agent = models.CharField(max_length=300, blank=True)
    signature_png = models.BinaryField(null=True, blank=True, editable=False)
    signature_sha256 = models.CharField(max_length=64, blank=True)
    expired_at = models.DateTimeField(null=True, blank=True)

    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("quote")
        verbose_name_plural = _("quotes")
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["branch", "status", "-created_at"], name="quote_branch_status_created"),
            models.Index(fields=["status", "-created_at"], name="quote_status_created"),
            models.Index(fields=["-created_at", "-id"], name="quote_created"),
            models.Index(fields=["customer", "-created_at"], name="quote_customer_created"),
            models.Index(fields=["status", "valid_until"], name="quote_status_valid_until"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quote_no__startswith="QT-"), name="quote_no_format"),
            models.CheckConstraint(
                condition=Q(vat_rate__gte=0) & Q(vat_rate__lte=100), name="quote_vat_0_100"
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["accepted", "rejected"]) | Q(decided_at__isnull=False),
                name="quote_decided_has_decided_at",
            ),
            models.CheckConstraint(
                condition=~Q(status="accepted") | ~Q(decision_name=""), name="quote_accepted_has_signer"
            ),
        ]

    def __str__(self):
        return self.quote_no


class QuoteLine(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="lines")
    position = models.PositiveSmallIntegerField(default=0)
    vehicle_class = models.ForeignKey(
        "fleet.VehicleClass",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name=_("vehicle class"),
    )
    vehicle = models.ForeignKey(
        "fleet.Vehicle",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="quote_lines",
        verbose_name=_("vehicle"),
    )
    description = models.CharField(_("description"), max_length=200, blank=True)
    quantity = models.PositiveIntegerField(_("quantity"), validators=[MinValueValidator(1)])
    term_months = models.PositiveSmallIntegerField(
        _("term (months)"), validators=[MinValueValidator(1), MaxValueValidator(MAX_TERM_MONTHS)]
    )
    monthly_rate = models.DecimalField(
        _("monthly rate"), validators=[MinValueValidator(Decimal("0"))], **MONEY
    )
    maintenance_included = models.BooleanField(_("maintenance included"), default=False)
    roadside_included = models.BooleanField(_("roadside assistance included"), default=False)
    replacement_included = models.BooleanField(_("replacement car included"), default=False)
    line_total = models.DecimalField(_("line total"), default=Decimal("0"), **MONEY)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(vehicle_class__isnull=False) | Q(vehicle__isnull=False),
                name="quote_line_class_or_vehicle",
            ),
            models.CheckConstraint(condition=Q(quantity__gte=1), name="quote_line_quantity_positive"),
            models.CheckConstraint(condition=Q(monthly_rate__gte=0), name="quote_line_rate_non_negative"),
            models.CheckConstraint(
                condition=Q(term_months__gte=1) & Q(term_months__lte=MAX_TERM_MONTHS), name="quote_line_term"
            ),
        ]

    def __str__(self):
        return self.description or str(self.vehicle or self.vehicle_class or "")


class QuoteAssignment(models.Model):
    """A vehicle assigned to an accepted quote's line, and the rental agreement it became."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    line = models.ForeignKey(QuoteLine, on_delete=models.CASCADE, related_name="assignments")
    vehicle = models.ForeignKey("fleet.Vehicle", on_delete=models.PROTECT, related_name="+")
    agreement = models.OneToOneField(
        "fleet.RentalAgreement", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["line", "vehicle"], name="quote_assignment_once")]

    def __str__(self):
        return f"{self.line_id} → {self.vehicle_id}"


class CostSheet(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    quote = models.ForeignKey(Quote, on_delete=models.CASCADE, related_name="cost_sheets")
    version = models.PositiveIntegerField(_("version"))
    status = models.CharField(
        _("status"), max_length=20, choices=CostSheetStatus.choices, default=CostSheetStatus.DRAFT
    )
    financing_rate_pct = models.DecimalField(_("financing %"), **PERCENT)
    overhead_pct = models.DecimalField(_("overhead %"), **PERCENT)
    target_margin_pct = models.DecimalField(_("target margin %"), **PERCENT)
    submitted_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    reject_reason = models.TextField(blank=True)
    applied_at = models.DateTimeField(null=True, blank=True)
    obsolete_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)
    # Optimistic locking of edits (the sheet's `version` is its number within the quote).
    revision = models.PositiveIntegerField(default=1)

    class Meta:
        verbose_name = _("cost sheet")
        verbose_name_plural = _("cost sheets")
        ordering = ["quote", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["quote", "version"], name="cost_sheet_version_once"),
            models.CheckConstraint(
                condition=Q(target_margin_pct__gte=0) & Q(target_margin_pct__lt=100),
                name="cost_sheet_margin_0_100",
            ),
            models.CheckConstraint(
                condition=Q(financing_rate_pct__gte=0) & Q(overhead_pct__gte=0),
                name="cost_sheet_pct_non_negative",
            ),
        ]

    def __str__(self):
        return f"{self.quote.quote_no} v{self.version}"


class CostSheetLine(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sheet = models.ForeignKey(CostSheet, on_delete=models.CASCADE, related_name="lines")
    # Null once the quote line is removed; the sheet (then obsolete) keeps what it priced.
    quote_line = models.ForeignKey(
        QuoteLine, null=True, blank=True, on_delete=models.SET_NULL, related_name="cost_lines"
    )
    # The quote line as priced (a change to the line makes the sheet obsolete).
    position = models.PositiveSmallIntegerField(default=0)
    description = models.CharField(max_length=200, blank=True)
    term_months = models.PositiveSmallIntegerField()
    quantity = models.PositiveIntegerField()
    acquisition_cost = models.DecimalField(_("acquisition cost"), **MONEY)
    maintenance_monthly = models.DecimalField(_("maintenance / month"), default=Decimal("0"), **MONEY)
    insurance_monthly = models.DecimalField(_("insurance / month"), default=Decimal("0"), **MONEY)
    registration_monthly = models.DecimalField(_("registration / month"), default=Decimal("0"), **MONEY)
    roadside_monthly = models.DecimalField(_("roadside / month"), default=Decimal("0"), **MONEY)
    replacement_monthly = models.DecimalField(_("replacement / month"), default=Decimal("0"), **MONEY)
    other_monthly = models.DecimalField(_("other / month"), default=Decimal("0"), **MONEY)

    class Meta:
        ordering = ["position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["sheet", "quote_line"], name="cost_sheet_line_once"),
            models.CheckConstraint(
                condition=Q(acquisition_cost__gte=0)
                & Q(maintenance_monthly__gte=0)
                & Q(insurance_monthly__gte=0)
                & Q(registration_monthly__gte=0)
                & Q(roadside_monthly__gte=0)
                & Q(replacement_monthly__gte=0)
                & Q(other_monthly__gte=0),
                name="cost_sheet_line_non_negative",
            ),
        ]

    def __str__(self):
        return self.description


class CostDefaults(models.Model):
    """The admin's default percentages for new cost sheets (one row)."""

    financing_rate_pct = models.DecimalField(_("financing %"), default=Decimal("5.50"), **PERCENT)
    overhead_pct = models.DecimalField(_("overhead %"), default=Decimal("8.00"), **PERCENT)
    target_margin_pct = models.DecimalField(
        _("target margin %"),
        default=Decimal("15.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("99.99"))],
        **PERCENT,
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("cost defaults")
        verbose_name_plural = _("cost defaults")

    def __str__(self):
        return str(_("Cost defaults"))


class CostElement(models.Model):
    """Default acquisition cost and monthly running costs of a vehicle class (admin-editable)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    vehicle_class = models.OneToOneField(
        "fleet.VehicleClass", on_delete=models.CASCADE, related_name="cost_element", verbose_name=_("class")
    )
    acquisition_cost = models.DecimalField(_("acquisition cost"), default=Decimal("0"), **MONEY)
    maintenance_monthly = models.DecimalField(_("maintenance / month"), default=Decimal("0"), **MONEY)
    insurance_monthly = models.DecimalField(_("insurance / month"), default=Decimal("0"), **MONEY)
    registration_monthly = models.DecimalField(_("registration / month"), default=Decimal("0"), **MONEY)
    roadside_monthly = models.DecimalField(_("roadside / month"), default=Decimal("0"), **MONEY)
    replacement_monthly = models.DecimalField(_("replacement / month"), default=Decimal("0"), **MONEY)
    other_monthly = models.DecimalField(_("other / month"), default=Decimal("0"), **MONEY)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("cost element")
        verbose_name_plural = _("cost elements")
        ordering = ["vehicle_class__code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(acquisition_cost__gte=0)
                & Q(maintenance_monthly__gte=0)
                & Q(insurance_monthly__gte=0)
                & Q(registration_monthly__gte=0)
                & Q(roadside_monthly__gte=0)
                & Q(replacement_monthly__gte=0)
                & Q(other_monthly__gte=0),
                name="cost_element_non_negative",
            ),
        ]

    def __str__(self):
        return str(self.vehicle_class)
