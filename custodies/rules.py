"""Submission rules (DESIGN §4.2): errors block, warnings are returned and shown."""

import functools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import connections
from django.db.models import Q
from django.utils.translation import gettext as _

from core import rawsql
from fleet.choices import VehicleStatus

from . import hooks
from .choices import SUBCODES_BY_REASON, CustodyStatus, RatePolicy, ReasonCode
from .models import Custody

# ---- documents, as the documents app reports them (`hooks.documents`) --------------------------------------


def missing_document_errors(custody: Custody, stage: str) -> list[str]:
    """One message per document the rules require at `stage` that the custody does not have."""
    return [
        _("Required document missing: %(type)s.") % {"type": hooks.documents.label(t)}
        for t in hooks.documents.missing(custody, stage)
    ]


HOLDING_STATUSES = (CustodyStatus.APPROVED, CustodyStatus.ACTIVE)
# Reasons where the customer is left without a car unless a replacement is given (DESIGN §4.1 hand over).
REPLACEMENT_EXPECTED = (ReasonCode.ACCIDENT, ReasonCode.BREAKDOWN, ReasonCode.DAMAGE)
# More than this per day since the last reading is most likely a typing error.
PLAUSIBLE_KM_PER_DAY = 5000

# Which wizard step fixes a field (or a warning) named by a rule: the wizard checks each step
# against the rules it can already know, and the review links every problem to its step.
FIELD_STEPS = {
    "agreement_id": "agreement",
    "customer_id": "agreement",
    "branch_id": "agreement",
    "original_vehicle_id": "agreement",
    "original_other_branch": "agreement",
    "reason_code": "reason",
    "reason_subcode": "reason",
    "incident_at": "reason",
    "incident_ref": "reason",
    "incident_location": "reason",
    "incident_narrative": "reason",
    "incident_odometer_km": "reason",
    "custodian_type": "custodian",
    "custodian_name": "custodian",
    "custodian_phone": "custodian",
    "custodian_email": "custodian",
    "custodian_id_no": "custodian",
    "replacement_vehicle_id": "replacement",
    "no_replacement_reason": "replacement",
    "effective_from": "replacement",
    "expected_return_at": "replacement",
    "until_original_ready": "replacement",
    "rate_policy": "rate",
    "special_rate_code": "rate",
    "special_rate_code_id": "rate",
    "damage_hold_amount": "rate",
    "deposit_carryover": "rate",
    "documents": "documents",
}
WARNING_STEPS = {
    "old_incident": "reason",
    "odometer_jump": "reason",
    "replacement_without_original": "replacement",
    "short_duration": "replacement",
    "long_duration": "replacement",
    "registration_expiring": "replacement",
    "insurance_expiring": "replacement",
    "no_police_report": "documents",
    "hold_without_acknowledgment": "documents",
}


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


@functools.cache
def _holds_sql(alias: str, bounded: bool, excluding: bool) -> str:
    connection = connections[alias]
    table, pk, vehicle, status, reserved_from, reserved_until = rawsql.names(
        connection, Custody, "id", "replacement_vehicle", "status", "reserved_from", "reserved_until"
    )
    statuses = ", ".join(["%s"] * len(HOLDING_STATUSES))
    sql = f"SELECT 1 FROM {table} WHERE {vehicle} = %s AND {status} IN ({statuses})"  # noqa: S608
    if excluding:
        sql += f" AND NOT ({pk} = %s)"
    sql += f" AND ({reserved_until} IS NULL OR {reserved_until} > %s)"
    if bounded:
        sql += f" AND ({reserved_from} IS NULL OR {reserved_from} < %s)"
    return sql + " LIMIT 1"


def holds_overlap(vehicle_id, start: datetime, end: datetime | None, exclude_custody_id=None) -> bool:
    """overlapping_holds(...).exists() as hand-written SQL (core.rawsql): every submission, approval and
    handover asks it, and building that queryset cost ~2 ms of CPU against ~0.3 ms for this. The values
    are prepared by the model's fields, as the ORM prepares them (test_rules compares the two)."""
    connection = rawsql.read_connection(Custody)
    field = Custody._meta.get_field
    params = [
        field("replacement_vehicle").get_db_prep_value(vehicle_id, connection),
        *HOLDING_STATUSES,
        *([field("id").get_db_prep_value(exclude_custody_id, connection)] if exclude_custody_id else []),
        field("reserved_until").get_db_prep_value(start, connection),
        *([field("reserved_from").get_db_prep_value(end, connection)] if end is not None else []),
    ]
    sql = _holds_sql(connection.alias, end is not None, bool(exclude_custody_id))
    return bool(rawsql.fetch(connection, sql, params))


def replacement_problem(custody: Custody, vehicle=None, *, overlap: bool = True) -> str | None:
    """Why the replacement vehicle cannot serve this custody, or None. `overlap=False` skips the
    other custodies' holds, for a caller that already asked in the same action."""
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
    if overlap and holds_overlap(vehicle.pk, start, end, exclude_custody_id=custody.pk):
        return _("Vehicle %(plate)s is already held by another custody in this period.") % {
            "plate": vehicle.plate
        }
    return None


def odometer_problems(reading, last_km, since: datetime | None, at: datetime | None):
    """(error, warning) for an odometer reading against the car's last one: never below it, and a
    warning above PLAUSIBLE_KM_PER_DAY per day of the period (at least one day)."""
    if reading is None or last_km is None:
        return None, None
    if reading < last_km:
        return _("Below the car's last reading of %(km)s km.") % {"km": f"{last_km:,}"}, None
    days = 1
    if since and at and at > since:
        days = max(1, -(-int((at - since).total_seconds()) // 86400))
    driven = reading - last_km
    if driven > PLAUSIBLE_KM_PER_DAY * days:
        return None, _(
            "%(km)s km more than the last reading (%(last)s km) in %(days)s day(s): check the odometer."
        ) % {"km": f"{driven:,}", "last": f"{last_km:,}", "days": days}
    return None, None


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
    if custody.reason_code in REPLACEMENT_EXPECTED and not custody.replacement_vehicle_id:
        if not custody.no_replacement_needed:
            report.error(
                "replacement_vehicle_id",
                _("Choose a replacement vehicle, or confirm that no replacement is needed and say why."),
            )
        elif not (custody.no_replacement_reason or "").strip():
            report.error("no_replacement_reason", _("Say why no replacement is needed."))
    original = custody.original_vehicle if custody.original_vehicle_id else None
    if original is not None and custody.incident_odometer_km is not None:
        error, warning = odometer_problems(
            custody.incident_odometer_km, original.odometer_km, original.updated_at, custody.incident_at
        )
        if error:
            report.error("incident_odometer_km", error)
        if warning:
            report.warn("odometer_jump", warning)
    missing = missing_document_errors(custody, "submit")
    if missing:
        report.errors["documents"] = missing

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
    present = hooks.documents.present(custody)
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


def step_report(custody: Custody, step: str, now: datetime) -> RuleReport:
    """The submission rules whose problems the given wizard step fixes (errors and warnings)."""
    full = check_submission(custody, now)
    report = RuleReport()
    for name, messages in full.errors.items():
        if FIELD_STEPS.get(name, "agreement") == step:
            report.errors[name] = messages
    report.warnings = [w for w in full.warnings if WARNING_STEPS.get(w["code"]) == step]
    return report


def next_stage_needs(custody: Custody) -> list[dict]:
    """What handover and close will ask for, so the review can say it before the counter meets it."""
    needs = []
    for stage, label in (("handover", _("Handover")), ("close", _("Close"))):
        for document_type in hooks.documents.missing(custody, stage):
            needs.append(
                {
                    "stage": stage,
                    "stage_label": label,
                    "what": _("Document: %(type)s") % {"type": hooks.documents.label(document_type)},
                }
            )
    if custody.replacement_vehicle_id:
        needs.append(
            {
                "stage": "handover",
                "stage_label": _("Handover"),
                "what": _("Odometer and fuel of the replacement at handover (from the handover checklist)"),
            }
        )
        needs.append(
            {
                "stage": "close",
                "stage_label": _("Close"),
                "what": _("Odometer and fuel at return, not below the handover reading"),
            }
        )
    return needs


def replacement_problems(custodies) -> dict:
    """replacement_problem for many custodies with one query (the approvals inbox)."""
    with_car = [c for c in custodies if c.replacement_vehicle_id]
    holders = list(
        Custody.objects.filter(
            replacement_vehicle_id__in={c.replacement_vehicle_id for c in with_car},
            status__in=HOLDING_STATUSES,
        ).values("id", "replacement_vehicle_id", "reserved_from", "reserved_until")
    )
    problems = {}
    for custody in with_car:
        vehicle = custody.replacement_vehicle
        start = custody.effective_from
        end = None if custody.until_original_ready else custody.expected_return_at
        reserved_for_us = vehicle.status == VehicleStatus.RESERVED and custody.status in HOLDING_STATUSES
        if custody.original_vehicle_id and vehicle.pk == custody.original_vehicle_id:
            problems[custody.pk] = _("The replacement cannot be the original vehicle.")
        elif vehicle.status != VehicleStatus.AVAILABLE and not reserved_for_us:
            problems[custody.pk] = _("Vehicle %(plate)s is %(status)s, not available.") % {
                "plate": vehicle.plate,
                "status": vehicle.get_status_display(),
            }
        elif any(
            h["replacement_vehicle_id"] == vehicle.pk
            and h["id"] != custody.pk
            and (h["reserved_until"] is None or h["reserved_until"] > start)
            and (end is None or h["reserved_from"] is None or h["reserved_from"] < end)
            for h in holders
        ):
            problems[custody.pk] = _(
                "Vehicle %(plate)s is already held by another custody in this period."
            ) % {"plate": vehicle.plate}
    return problems
