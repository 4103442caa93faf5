import uuid
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator, RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import AgreementStatus, CustomerKind, VehicleStatus

MONEY = {"max_digits": 12, "decimal_places": 2}
non_negative = MinValueValidator(Decimal("0"))


class TimeStamped(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(default=timezone.now, editable=False, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class Branch(TimeStamped):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=120)
    city = models.CharField(_("city"), max_length=80, blank=True)
    timezone = models.CharField(_("timezone"), max_length=50, default="Asia/Dubai")
    active = models.BooleanField(_("active"), default=True)
    # Some insurers are billed per calendar day touched, not per started 24 hours (DESIGN §8).
    insurer_calendar_days = models.BooleanField(
        _("bill insurers per calendar day"),
        default=False,
        help_text=_("Replacement rental paid by an insurer counts every calendar day the car is out."),
    )

    class Meta:
        ordering = ["code"]
        verbose_name = _("branch")
        verbose_name_plural = _("branches")

    def __str__(self):
        return f"{self.code} · {self.name}"

    def clean(self):
        import zoneinfo

        if self.timezone not in zoneinfo.available_timezones():
            raise ValidationError({"timezone": _("Unknown timezone.")})


class Customer(TimeStamped):
    customer_no = models.CharField(_("customer no."), max_length=30, unique=True)
    kind = models.CharField(
        _("kind"), max_length=10, choices=CustomerKind.choices, default=CustomerKind.PERSON
    )
    full_name = models.CharField(_("full name"), max_length=200)
    email = models.EmailField(_("e-mail"), blank=True)
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    national_id = models.CharField(_("national ID (Emirates ID)"), max_length=30, blank=True)
    driving_licence_no = models.CharField(_("driving licence no."), max_length=40, blank=True)
    driving_licence_expiry = models.DateField(_("driving licence expiry"), null=True, blank=True)
    address = models.TextField(_("address"), blank=True)
    notes = models.TextField(_("notes"), blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["full_name"]
        verbose_name = _("customer")
        verbose_name_plural = _("customers")
        indexes = [models.Index(fields=["full_name"]), models.Index(fields=["phone"])]

    def __str__(self):
        return f"{self.full_name} ({self.customer_no})"


class VehicleClass(TimeStamped):
    code = models.CharField(_("code"), max_length=20, unique=True)
    name = models.CharField(_("name"), max_length=80)
    daily_rate = models.DecimalField(_("daily rate"), validators=[non_negative], **MONEY)
    monthly_rate = models.DecimalField(_("monthly rate"), validators=[non_negative], **MONEY)

    class Meta:
        ordering = ["code"]
        verbose_name = _("vehicle class")
        verbose_name_plural = _("vehicle classes")
        constraints = [
            models.CheckConstraint(
                condition=Q(daily_rate__gte=0) & Q(monthly_rate__gte=0), name="vclass_rates_non_negative"
            ),
        ]

    def __str__(self):
        return f"{self.code} · {self.name}"


class Vehicle(TimeStamped):
    plate = models.CharField(_("plate"), max_length=20, unique=True)
    vin = models.CharField(_("VIN"), max_length=17, unique=True)
    make = models.CharField(_("make"), max_length=50)
    model = models.CharField(_("model"), max_length=50)
    year = models.PositiveSmallIntegerField(
        _("year"), validators=[MinValueValidator(1980), MaxValueValidator(2100)]
    )
    vehicle_class = models.ForeignKey(
        VehicleClass, on_delete=models.PROTECT, related_name="vehicles", verbose_name=_("class")
    )
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, related_name="vehicles", verbose_name=_("branch")
    )
    status = models.CharField(
        _("status"), max_length=20, choices=VehicleStatus.choices, default=VehicleStatus.AVAILABLE
    )
    odometer_km = models.PositiveIntegerField(_("odometer (km)"), default=0)
    fuel_level = models.PositiveSmallIntegerField(
        _("fuel level (eighths)"), default=8, validators=[MinValueValidator(0), MaxValueValidator(8)]
    )
    registration_expiry = models.DateField(_("registration expiry"), null=True, blank=True)
    insurance_expiry = models.DateField(_("insurance expiry"), null=True, blank=True)

    class Meta:
        ordering = ["plate"]
        verbose_name = _("vehicle")
        verbose_name_plural = _("vehicles")
        indexes = [
            models.Index(fields=["branch", "status"]),
            models.Index(fields=["vehicle_class", "status"]),
            models.Index(fields=["status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(fuel_level__gte=0) & Q(fuel_level__lte=8), name="vehicle_fuel_level_0_8"
            ),
            models.CheckConstraint(
                condition=Q(year__gte=1980) & Q(year__lte=2100), name="vehicle_year_range"
            ),
        ]

    def __str__(self):
        return f"{self.plate} · {self.make} {self.model}"

    def save(self, *args, **kwargs):
        self._normalize()
        super().save(*args, **kwargs)

    def _normalize(self):
        self.plate = (self.plate or "").strip().upper()
        self.vin = (self.vin or "").strip().upper()

    def clean_fields(self, exclude=None):
        # Normalize before the blank, length and unique checks see the values, so " dxb-1 "
        # is refused as a duplicate of "DXB-1" instead of failing on the database constraint.
        self._normalize()
        super().clean_fields(exclude=exclude)

    def clean(self):
        if self.vin and (len(self.vin) != 17 or any(c in "IOQ" for c in self.vin)):
            raise ValidationError({"vin": _("A VIN has 17 characters and never contains I, O or Q.")})


class RentalAgreement(TimeStamped):
    agreement_no = models.CharField(_("agreement no."), max_length=30, unique=True)
    customer = models.ForeignKey(
        Customer, on_delete=models.PROTECT, related_name="agreements", verbose_name=_("customer")
    )
    vehicle = models.ForeignKey(
        Vehicle, on_delete=models.PROTECT, related_name="agreements", verbose_name=_("vehicle")
    )
    branch = models.ForeignKey(
        Branch, on_delete=models.PROTECT, related_name="agreements", verbose_name=_("branch")
    )
    start_at = models.DateTimeField(_("start"))
    end_at = models.DateTimeField(_("end"))
    daily_rate = models.DecimalField(_("daily rate"), validators=[non_negative], **MONEY)
    monthly_rate = models.DecimalField(_("monthly rate"), validators=[non_negative], **MONEY)
    deposit_amount = models.DecimalField(
        _("deposit"), default=Decimal("0"), validators=[non_negative], **MONEY
    )
    status = models.CharField(
        _("status"), max_length=12, choices=AgreementStatus.choices, default=AgreementStatus.ACTIVE
    )

    class Meta:
        ordering = ["-start_at"]
        verbose_name = _("rental agreement")
        verbose_name_plural = _("rental agreements")
        indexes = [
            models.Index(fields=["branch", "status"]),
            models.Index(fields=["customer", "status"]),
            models.Index(fields=["vehicle", "status"]),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_at__gt=models.F("start_at")), name="agreement_end_after_start"
            ),
            models.CheckConstraint(
                condition=Q(daily_rate__gte=0) & Q(monthly_rate__gte=0) & Q(deposit_amount__gte=0),
                name="agreement_amounts_non_negative",
            ),
        ]

    def __str__(self):
        return self.agreement_no

    def clean(self):
        if self.start_at and self.end_at and self.end_at <= self.start_at:
            raise ValidationError({"end_at": _("The end must be after the start.")})


class SpecialRateCode(TimeStamped):
    code = models.CharField(_("code"), max_length=20, unique=True)
    description = models.CharField(_("description"), max_length=200, blank=True)
    daily_rate = models.DecimalField(_("daily rate"), validators=[non_negative], **MONEY)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        ordering = ["code"]
        verbose_name = _("special rate code")
        verbose_name_plural = _("special rate codes")

    def __str__(self):
        return self.code


class TaxProfile(TimeStamped):
    name = models.CharField(_("name"), max_length=80, unique=True)
    rate_percent = models.DecimalField(
        _("rate %"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("5.00"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    is_default = models.BooleanField(_("default"), default=False)

    class Meta:
        ordering = ["name"]
        verbose_name = _("tax profile")
        verbose_name_plural = _("tax profiles")
        constraints = [
            # Exactly one default at most; the money module falls back to 0 % if none.
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="one_default_tax_profile"
            ),
            models.CheckConstraint(
                condition=Q(rate_percent__gte=0) & Q(rate_percent__lte=100), name="tax_rate_0_100"
            ),
        ]

    def __str__(self):
        return f"{self.name} ({self.rate_percent} %)"

    def validate_constraints(self, exclude=None):
        # Choosing a new default is allowed: fleet.services.save_record unsets the old one in
        # the same transaction, and the database constraint still guards against races.
        super().validate_constraints(exclude={*(exclude or ()), "is_default"})


class CompanyProfile(TimeStamped):
    """The seller on tax invoices and the letterhead of printed forms (one row, edited by admins)."""

    name = models.CharField(_("company name"), max_length=200)
    name_ar = models.CharField(_("company name (Arabic)"), max_length=200, blank=True)
    address = models.TextField(_("address"), blank=True)
    address_ar = models.TextField(_("address (Arabic)"), blank=True)
    trn = models.CharField(
        _("tax registration number (TRN)"),
        max_length=15,
        blank=True,
        validators=[
            RegexValidator(r"^\d{15}$", _("A UAE TRN has 15 digits.")),
        ],
    )
    phone = models.CharField(_("phone"), max_length=30, blank=True)
    email = models.EmailField(_("e-mail"), blank=True)
    website = models.CharField(_("website"), max_length=120, blank=True)
    # PNG/JPEG/SVG bytes kept in the database: it is small and must print without a file server.
    logo = models.BinaryField(_("logo"), blank=True, editable=True, default=b"")
    logo_content_type = models.CharField(max_length=40, blank=True)

    class Meta:
        verbose_name = _("company profile")
        verbose_name_plural = _("company profile")

    def __str__(self):
        return self.name

    @classmethod
    def current(cls) -> "CompanyProfile":
        """The saved profile, or an unsaved placeholder so documents still print."""
        return cls.objects.order_by("created_at").first() or cls(name="Custody")

    @property
    def logo_data_uri(self) -> str:
        import base64

        if not self.logo or not self.logo_content_type:
            return ""
        return f"data:{self.logo_content_type};base64,{base64.b64encode(bytes(self.logo)).decode()}"
