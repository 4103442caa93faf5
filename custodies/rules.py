"""Submission rules (DESIGN §4.2): errors block, warnings are returned and shown."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Q
from django.utils.translation import gettext as _

from documents.services import missing_documents
from fleet.choices import VehicleStatus

from .choices import SUBCODES_BY_REASON, CustodyStatus, RatePolicy, ReasonCode
from .models import Custody

HOLDING_STATUSES = (CustodyStatus.APPROVED, CustodyStatus.ACTIVE)


@dataclass
class RuleReport:
    errors: dict[str, list[str]] = field(default_factory=dict)
    warnings: list[dict] = field(default_factory=list)

    def error(self, key: str, message: str) -> None:
        self.errors.setdefault(key, []).append(str(message))

    def warn(self, code: str, message: str) -> None:
        self.warnings.append({"code": code, "message": str(message)})

    @property
    def ok(self) -> bool:
        return not self.errors


def overlapping_holds(vehicle_id, start: datetime, end: datetime | None, exclude_custody_id=None):
    """Approved/active custodies holding `vehicle_id` as replacement in a period overlapping [start, end)."""
    qs = Custody.objects.filter(replacement_vehicle_id=vehicle_id, status__in=HOLDING_STATUSES)
    if exclude_custody_id:
        qs = qs.exclude(pk=exclude_custody_id)
    qs = qs.filter(Q(reserved_until__isnull=True) | Q(reserved_until__gt=start))
    if end is not None:
        qs = qs.filter(Q(reserved_from__isnull=True) | Q(reserved_from__lt=end))
    return qs


def replacement_problem(custody: Custody, vehicle=None) -> str | None:
    """Why the replacement vehicle cannot serve this custody, or None."""
    vehicle = vehicle or custody.replacement_vehicle
    if vehicle is None:
        return None
    if custody.original_vehicle_id and vehicle.pk == custody.original_vehicle_id:
        return _("The replacement cannot be the original vehicle.")
    reserved_for_us = vehicle.status == VehicleStatus.RESERVED and custody.status in HOLDING_STATUSES
    if vehicle.status != VehicleStatus.AVAILABLE and not reserved_for_us:
        return _("Vehicle %(plate)s is %(status)s, not available.") % {
            "plate": vehicle.plate,
            "status": vehicle.get_status_display(),
        }
    start = custody.effective_from
    end = None if custody.until_original_ready else custody.expected_return_at
    if overlapping_holds(vehicle.pk, start, end, exclude_custody_id=custody.pk).exists():
        return _("Vehicle %(plate)s is already held by another custody in this period.") % {
            "plate": vehicle.plate
        }
    return None


def check_fields(custody: Custody, now: datetime, report: RuleReport) -> None:
    """Field rules shared by create/edit (errors) — the subset that can be checked on a draft."""
    if custody.incident_at and custody.incident_at > now + timedelta(minutes=5):
        report.error("incident_at", _("The incident cannot be in the future."))
    if (
        custody.expected_return_at
        and custody.effective_from
        and custody.expected_return_at <= custody.effective_from
    ):
        report.error("expected_return_at", _("The expected return must be after the start."))
    if custody.reason_subcode and custody.reason_subcode not in SUBCODES_BY_REASON.get(
        custody.reason_code, []
    ):
        report.error("reason_subcode", _("This detail does not belong to the chosen reason."))
    if custody.rate_policy == RatePolicy.SPECIAL_CODE:
        code = custody.special_rate_code
        if code is None or not code.active:
            report.error("special_rate_code", _("Choose an active special rate code for this rate policy."))
    if custody.replacement_vehicle_id and custody.replacement_vehicle_id == custody.original_vehicle_id:
        report.error("replacement_vehicle_id", _("The replacement cannot be the original vehicle."))
    if custody.agreement_id and custody.agreement.customer_id != custody.customer_id:
        report.error("agreement_id", _("The agreement belongs to another customer."))
    if custody.agreement_id and custody.agreement.branch_id != custody.branch_id:
        report.error("agreement_id", _("The agreement belongs to another branch."))


REQUIRED_FIELDS = [  # a draft needs these already (DESIGN §4.1 "create")
    ("branch_id", _("Choose the branch.")),
    ("customer_id", _("Choose the customer.")),
    ("custodian_type", _("Choose who holds the vehicle.")),
    ("custodian_name", _("Enter the custodian's name.")),
    ("reason_code", _("Choose the reason.")),
    ("incident_at", _("Enter when the incident happened.")),
    ("effective_from", _("Enter when the custody starts.")),
]


def check_required(custody: Custody, report: RuleReport) -> None:
    for name, message in REQUIRED_FIELDS:
        if not getattr(custody, name):
            report.error(name, message)


def check_submission(custody: Custody, now: datetime) -> RuleReport:
    report = RuleReport()
    check_required(custody, report)
    if not custody.expected_return_at and not custody.until_original_ready:
        report.error(
            "expected_return_at",
            _("Enter the expected return or mark it open-ended (until the original is ready)."),
        )
    check_fields(custody, now, report)
    problem = replacement_problem(custody)
    if problem:
        report.error("replacement_vehicle_id", problem)
    missing = missing_documents(custody, "submit")
    if missing:
        report.errors["documents"] = [
            _("Required document missing: %(type)s.") % {"type": t.replace("_", " ")} for t in missing
        ]

    # Warnings (DESIGN §4.2): shown, never blocking.
    if custody.replacement_vehicle_id and not custody.original_vehicle_id:
        report.warn(
            "replacement_without_original", _("A replacement is given but no original vehicle is recorded.")
        )
    if custody.expected_return_at and custody.effective_from:
        duration = custody.expected_return_at - custody.effective_from
        if duration < timedelta(days=1):
            report.warn("short_duration", _("The custody lasts less than one day."))
        elif duration > timedelta(days=90):
            report.warn("long_duration", _("The custody lasts more than 90 days."))
    if custody.incident_at and now - custody.incident_at > timedelta(days=30):
        report.warn("old_incident", _("The incident is more than 30 days old."))
    from documents.services import present_types

    present = present_types(custody)
    if custody.reason_code == ReasonCode.ACCIDENT and "police_report" not in present:
        report.warn("no_police_report", _("Accident without a police report."))
    if custody.damage_hold_amount and "customer_acknowledgment" not in present:
        report.warn("hold_without_acknowledgment", _("Damage hold without the customer's acknowledgment."))
    vehicle = custody.replacement_vehicle
    if vehicle is not None:
        soon = (now + timedelta(days=30)).date()
        if vehicle.registration_expiry and vehicle.registration_expiry <= soon:
            report.warn("registration_expiring", _("The replacement's registration expires within 30 days."))
        if vehicle.insurance_expiry and vehicle.insurance_expiry <= soon:
            report.warn("insurance_expiring", _("The replacement's insurance expires within 30 days."))
    return report
