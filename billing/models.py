import uuid
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import ChargeStatus, ChargeType, HoldStatus, PaymentMethod, Responsibility

MONEY = {"max_digits": 12, "decimal_places": 2}
USER = settings.AUTH_USER_MODEL


class Charge(models.Model):
    """One line of what a custody costs. Posted lines are immutable: correct by void + new line."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    custody = models.ForeignKey("custodies.Custody", on_delete=models.PROTECT, related_name="charges")
    charge_type = models.CharField(_("type"), max_length=20, choices=ChargeType.choices)
    description = models.CharField(_("description"), max_length=200)
    quantity = models.DecimalField(_("quantity"), max_digits=10, decimal_places=3)
    unit_price = models.DecimalField(_("unit price"), **MONEY)
    tax_rate = models.DecimalField(_("tax %"), max_digits=5, decimal_places=2)
    subtotal = models.DecimalField(_("subtotal"), **MONEY)
    tax_amount = models.DecimalField(_("tax"), **MONEY)
    total = models.DecimalField(_("total"), **MONEY)
    amount_paid = models.DecimalField(_("paid"), default=Decimal("0.00"), **MONEY)
    responsibility = models.CharField(_("responsibility"), max_length=12, choices=Responsibility.choices)
    status = models.CharField(
        _("status"), max_length=10, choices=ChargeStatus.choices, default=ChargeStatus.DRAFT
    )
    # Lines the system computes (replacement rental) carry a key; users cannot edit them.
    system_key = models.CharField(max_length=40, blank=True)
    # A line the system wrote (rental, fuel, excess km): which text and its values (billing.rental.DESCRIPTIONS),
    # so it is shown in the reader's language; `description` keeps the English text.
    description_key = models.CharField(max_length=40, blank=True)
    description_params = models.JSONField(default=dict, blank=True)
    invoice_ref = models.CharField(_("invoice reference"), max_length=60, blank=True)
    # Set when our own invoice was issued; an external billing system's invoice has only invoice_ref.
    invoice = models.ForeignKey(
        "Invoice", null=True, blank=True, on_delete=models.PROTECT, related_name="charges"
    )
    created_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    posted_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    posted_at = models.DateTimeField(null=True, blank=True)
    invoiced_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)
    voided_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    voided_at = models.DateTimeField(null=True, blank=True)
    void_reason = models.TextField(blank=True)
    updated_at = models.DateTimeField(auto_now=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["created_at"]
        indexes = [
            models.Index(fields=["custody", "status"], name="charge_custody_status"),
            models.Index(fields=["status", "-created_at"], name="charge_status_created"),
            models.Index(fields=["charge_type", "status"], name="charge_type_status"),
            models.Index(fields=["responsibility", "status"], name="charge_resp_status"),
            models.Index(fields=["posted_at"], name="charge_posted_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gt=0), name="charge_quantity_positive"),
            models.CheckConstraint(condition=Q(unit_price__gte=0), name="charge_unit_price_non_negative"),
            models.CheckConstraint(
                condition=Q(tax_rate__gte=0) & Q(tax_rate__lte=100), name="charge_tax_rate_range"
            ),
            # Within half a fils: SQLite compares decimals as floats; PostgreSQL's numeric is exact.
            models.CheckConstraint(
                condition=Q(total__gte=F("subtotal") + F("tax_amount") - Decimal("0.005"))
                & Q(total__lte=F("subtotal") + F("tax_amount") + Decimal("0.005")),
                name="charge_total_adds_up",
            ),
            models.CheckConstraint(
                condition=Q(amount_paid__gte=0) & Q(amount_paid__lte=F("total")),
                name="charge_paid_within_total",
            ),
            models.CheckConstraint(
                condition=~Q(status="void") | Q(voided_at__isnull=False), name="charge_void_has_time"
            ),
            models.UniqueConstraint(
                fields=["custody", "system_key"],
                condition=~Q(system_key="") & Q(status="draft"),
                name="charge_one_draft_system_line",
            ),
        ]

    def __str__(self):
        return f"{self.get_charge_type_display()} {self.total}"

    @property
    def display_description(self) -> str:
        """The description in the reader's language (HTML, values isolated); a user's own text as typed."""
        from django.utils.html import conditional_escape

        from .rental import describe

        return describe(self.description_key, self.description_params, html=True) or conditional_escape(
            self.description
        )

    @property
    def description_text(self) -> str:
        """The same as plain text (exports)."""
        from .rental import describe

        return describe(self.description_key, self.description_params) or self.description

    @classmethod
    def audit_reworded(cls, changes: dict) -> dict:
        """An audit entry's changes with a system line's description in the reader's language (the
        stored text is English) and its key and values left out."""
        from .rental import describe

        changes = dict(changes)
        keys, params = changes.pop("description_key", None), changes.pop("description_params", None)
        if keys and "description" in changes:
            key_pair = keys if isinstance(keys, list) else [keys, keys]
            param_pair = params if isinstance(params, list) else [params, params]
            changes["description"] = [
                describe(key, values) or text
                for key, values, text in zip(key_pair, param_pair, changes["description"], strict=False)
            ]
        return changes

    @property
    def outstanding(self) -> Decimal:
        return self.total - self.amount_paid


class Payment(models.Model):
    """Money received (positive) or refunded (negative, with a reason) for a custody."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    custody = models.ForeignKey("custodies.Custody", on_delete=models.PROTECT, related_name="payments")
    amount = models.DecimalField(_("amount"), **MONEY)
    method = models.CharField(_("method"), max_length=24, choices=PaymentMethod.choices)
    payer = models.CharField(_("payer"), max_length=12, choices=Responsibility.choices)
    reference = models.CharField(_("reference"), max_length=80, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    # Money taken beyond what the payer owes, on purpose: a deposit or credit for later charges.
    is_credit = models.BooleanField(_("deposit / credit"), default=False)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["received_at", "created_at"]
        indexes = [
            models.Index(fields=["custody", "payer"], name="payment_custody_payer"),
            models.Index(fields=["received_at"], name="payment_received_at"),
        ]
        constraints = [
            models.CheckConstraint(condition=~Q(amount=0), name="payment_not_zero"),
            models.CheckConstraint(condition=Q(amount__gt=0) | ~Q(reason=""), name="refund_has_reason"),
        ]

    def __str__(self):
        return f"{self.get_method_display()} {self.amount}"

    @property
    def is_refund(self) -> bool:
        return self.amount < 0


class DamageHold(models.Model):
    """A pre-authorization on the customer's card: held, then captured (→ payment) or released."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    custody = models.ForeignKey("custodies.Custody", on_delete=models.PROTECT, related_name="damage_holds")
    amount = models.DecimalField(_("amount"), **MONEY)
    reference = models.CharField(_("reference"), max_length=80, blank=True)
    status = models.CharField(max_length=10, choices=HoldStatus.choices, default=HoldStatus.HELD)
    captured_amount = models.DecimalField(default=Decimal("0.00"), **MONEY)
    capture_payment = models.ForeignKey(
        Payment, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recorded_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # The hold typed into the custody (wizard): kept in step with the custody while it is a draft.
    from_custody = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now)
    settled_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="hold_amount_positive"),
            models.CheckConstraint(
                condition=Q(captured_amount__gte=0) & Q(captured_amount__lte=F("amount")),
                name="hold_capture_within_amount",
            ),
        ]

    def __str__(self):
        return f"Hold {self.amount} {self.status}"


class Invoice(models.Model):
    """A tax invoice to one payer of a custody: its posted charges, numbered without gaps or races."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    invoice_no = models.CharField(_("invoice no."), max_length=30, unique=True)
    custody = models.ForeignKey("custodies.Custody", on_delete=models.PROTECT, related_name="invoices")
    payer = models.CharField(_("payer"), max_length=12, choices=Responsibility.choices)
    bill_to_name = models.CharField(_("bill to"), max_length=200)
    bill_to_address = models.TextField(_("address"), blank=True)
    subtotal = models.DecimalField(_("subtotal"), **MONEY)
    tax_amount = models.DecimalField(_("VAT"), **MONEY)
    total = models.DecimalField(_("total"), **MONEY)
    currency = models.CharField(max_length=3, default="AED")
    issued_at = models.DateTimeField(_("issued at"), default=timezone.now)
    issued_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.PROTECT, related_name="+")

    class Meta:
        ordering = ["issued_at", "invoice_no"]
        indexes = [models.Index(fields=["custody", "payer"], name="invoice_custody_payer")]
        constraints = [
            models.CheckConstraint(
                condition=Q(total__gte=F("subtotal") + F("tax_amount") - Decimal("0.005"))
                & Q(total__lte=F("subtotal") + F("tax_amount") + Decimal("0.005")),
                name="invoice_total_adds_up",
            ),
        ]

    def __str__(self):
        return self.invoice_no
