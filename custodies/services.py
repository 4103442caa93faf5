"""Custody business rules and state transitions: the only code that changes a custody.

Every action: one transaction, the custody row locked (vehicles locked after it, in primary-key
order), the transition table checked, the change audited and its event written to the outbox.
"""

import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db import IntegrityError, models, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import permissions
from audit import services as audit
from audit.context import acting_as
from core import rawsql, switches
from core.errors import Conflict, InvalidTransition, ValidationFailed
from core.events import emit, emit_many
from fleet import selectors as fleet_selectors
from fleet import services as fleet_services
from fleet.choices import AgreementStatus, VehicleStatus
from fleet.models import Branch, Customer, Vehicle

from . import hooks, rules, selectors, sla
from .choices import TERMINAL_STATUSES, CustodianType, CustodyStatus, RatePolicy, ReasonCode, SlaTarget
from .models import Custody
from .numbers import next_custody_no
from .transitions import (
    APPROVAL_DECIDERS,
    TRANSITIONS,
    permissions_for,
    role_refusal,
    state_refusal,
    transition_for,
)

# Fields a draft may change; after submission only NOTE_FIELDS until the custody is terminal.
EDITABLE_FIELDS = [
    "branch",
    "agreement",
    "customer",
    "custodian_type",
    "custodian_name",
    "custodian_phone",
    "custodian_email",
    "custodian_id_no",
    "original_vehicle",
    "replacement_vehicle",
    "reason_code",
    "reason_subcode",
    "incident_at",
    "incident_ref",
    "incident_narrative",
    "incident_odometer_km",
    "incident_location",
    "effective_from",
    "expected_return_at",
    "until_original_ready",
    "no_replacement_needed",
    "no_replacement_reason",
    "rate_policy",
    "special_rate_code",
    "deposit_carryover",
    "damage_hold_amount",
    "damage_hold_ref",
    "notes",
    "tags",
    "insurer_name",
    "insurance_policy_no",
    "claim_no",
    "claim_status",
    "insurer_authorization_no",
    "authorized_daily_rate_cap",
    "authorized_max_days",
]
NOTE_FIELDS = ["notes", "tags"]
REFERENCE_FIELDS = {
    "branch_id": "branch",
    "agreement_id": "agreement",
    "customer_id": "customer",
    "original_vehicle_id": "original_vehicle",
    "replacement_vehicle_id": "replacement_vehicle",
    "special_rate_code_id": "special_rate_code",
}
AUDITED_FIELDS = [f if f not in REFERENCE_FIELDS.values() else f"{f}_id" for f in EDITABLE_FIELDS] + [
    "status",
    "original_ready_at",
    "handover_odometer_km",
    "handover_fuel_level",
    "return_odometer_km",
    "return_fuel_level",
    "returned_at",
    "original_critical_problem",
]


@dataclass
class ActionResult:
    custody: Custody
    warnings: list[dict] = field(default_factory=list)


# ---- helpers -------------------------------------------------------------------------------


# An audit note with a value: stored in English, shown in the reader's language (audit.present).
AUTO_APPROVED = audit.message_template(gettext_lazy("Approved automatically by rule: %(rule)s"))


def _now() -> datetime:
    return timezone.now()


# The custody's columns as `_save` compares them (the primary key never changes).
_COLUMNS = tuple(f.attname for f in Custody._meta.concrete_fields if not f.primary_key)


def _remember_stored(custody: Custody) -> None:
    """The values the row holds now, so `_save` writes only the columns an action changed."""
    custody._stored = {
        name: copy.deepcopy(value) if isinstance(value, list | dict) else value
        for name in _COLUMNS
        for value in (getattr(custody, name),)
    }


def _lock(custody_id, user) -> Custody:
    """The custody locked, with the references its rules and the API's answer read (one query)."""
    custody = selectors.lock_custody(custody_id, user, references=True)
    _remember_stored(custody)
    return custody


def _lock_vehicles(custody: Custody, *vehicle_ids) -> dict:
    ids = sorted({str(v) for v in vehicle_ids if v})
    if not ids:
        return {}
    locked = Vehicle.objects.select_for_update().filter(pk__in=ids).order_by("pk")
    params = [rawsql.db_value(locked, "pk", pk) for pk in ids]
    vehicles = {
        str(v.pk): v for v in rawsql.compiled_once(locked, f"custodies.lock_vehicles.{len(ids)}", params)
    }
    # The custody's own vehicles are now the locked rows: what the action changes on them is what
    # the custody answers with (the API does not reload it).
    for name in ("original_vehicle", "replacement_vehicle"):
        locked = vehicles.get(str(getattr(custody, f"{name}_id") or ""))
        if locked is not None:
            Custody._meta.get_field(name).set_cached_value(custody, locked)
    return vehicles


def allowed_actions(user, custody: Custody) -> list[str]:
    """Actions this user may take now (drives buttons on pages and `allowed_actions` in the API)."""
    if not user or not user.is_authenticated or not permissions.in_branch(user, custody.branch_id):
        return []
    result = []
    may_decide = None  # approve and reject ask the same question of the current level: ask it once
    for (source, action), transition in TRANSITIONS.items():
        if source != custody.status:
            continue
        if transition.permission is None:
            if may_decide is None:
                level = hooks.approvals.current_level(custody)
                may_decide = hooks.approvals.why_cannot_decide(user, custody, level) is None
            if may_decide:
                result.append(action)
        elif permissions.may(user, transition.permission):
            result.append(action)
    return result


def _role_may(user, action: str) -> bool:
    return any(
        hooks.approvals.may_decide_any(user) if name == APPROVAL_DECIDERS else permissions.may(user, name)
        for name in permissions_for(action)
    )


def _check_transition(user, custody: Custody, action: str):
    if not _role_may(user, action):
        raise PermissionDenied(role_refusal(action))
    transition = transition_for(custody.status, action)
    if transition is None:
        raise InvalidTransition(
            state_refusal(custody, action),
            {"status": custody.status, "action": action, "allowed_actions": allowed_actions(user, custody)},
        )
    if transition.permission is not None and not permissions.can(user, transition.permission, custody):
        raise PermissionDenied(role_refusal(action))
    return transition


def _check_version(custody: Custody, expected_version: int | None) -> None:
    if expected_version is not None and int(expected_version) != custody.version:
        raise Conflict(
            _("This custody was changed by someone else; reload and try again."),
            {"version": custody.version, "expected_version": expected_version},
        )


def _save(
    custody: Custody,
    before: dict,
    action: str,
    event: str | None,
    message="",
    entries: list = (),
    events: list = (),
    audit_later: list | None = None,
) -> Custody:
    """Write the custody, its audit entry (after `entries`: the action's other entries, such as its
    vehicles', so they all go in one INSERT in the order they were made) and its event (after
    `events`, the action's other (type, data) events, likewise in one INSERT). `audit_later`: the
    entries are appended there instead, for the rental sync to write with its own (one INSERT)."""
    custody.version += 1
    try:
        _write(custody)
    except IntegrityError as exc:
        if "custody_replacement_no_overlap" in str(exc):
            raise Conflict(
                _("The replacement vehicle is already held by another custody in this period."),
                {"replacement_vehicle_id": ["Already held in an overlapping period."]},
            ) from exc
        raise
    _as_stored(custody)
    changes = audit.diff(before, audit.snapshot(custody, AUDITED_FIELDS))
    entries = [
        *entries,
        audit.entry(
            action, custody, object_type="custody", custody_id=custody.pk, changes=changes, message=message
        ),
    ]
    if audit_later is None:
        audit.record_many(entries)
    else:
        audit_later.extend(entries)
    if event or events:
        emit_many([*events, *([(event, event_payload(custody, changes))] if event else [])])
    return custody


_UTC = timezone.get_fixed_timezone(0)
_DATETIMES = tuple(f.attname for f in Custody._meta.concrete_fields if isinstance(f, models.DateTimeField))
_DECIMALS = tuple(
    (f.attname, Decimal(1).scaleb(-f.decimal_places))
    for f in Custody._meta.concrete_fields
    if isinstance(f, models.DecimalField)
)


def _as_stored(custody: Custody) -> None:
    """Give the values a caller sent the form the database keeps (datetimes in UTC, decimals at their
    field's places), so every caller — the API's answer, the audit diff, the event — sees the row as a
    read would, without reading it again."""
    for name in _DATETIMES:
        value = getattr(custody, name)
        if value is not None and value.utcoffset():
            setattr(custody, name, value.astimezone(_UTC))
    for name, places in _DECIMALS:
        value = getattr(custody, name)
        if value is not None:
            setattr(custody, name, Decimal(value).quantize(places, rounding=ROUND_HALF_UP))


def _write(custody: Custody) -> None:
    """INSERT a new custody; UPDATE a locked one with only the columns that changed since it was read
    (`_lock`) or last written. No savepoint: an IntegrityError leaves the action's transaction, which
    rolls back whole."""
    stored = getattr(custody, "_stored", None)
    if stored is None:
        custody.save()
    else:
        changed = [name for name, value in stored.items() if getattr(custody, name) != value]
        custody.save(update_fields=[*changed, "updated_at"])
    _remember_stored(custody)


def event_payload(custody: Custody, changes: dict | None = None) -> dict:
    return {
        "custody": {
            "id": str(custody.pk),
            "custody_no": custody.custody_no,
            "status": custody.status,
            "branch_id": str(custody.branch_id),
            "customer_id": str(custody.customer_id),
            "agreement_id": str(custody.agreement_id) if custody.agreement_id else None,
            "original_vehicle_id": str(custody.original_vehicle_id) if custody.original_vehicle_id else None,
            "replacement_vehicle_id": str(custody.replacement_vehicle_id)
            if custody.replacement_vehicle_id
            else None,
            "reason_code": custody.reason_code,
            "version": custody.version,
        },
        "changes": changes or {},
    }


def _resolve(user, data: dict[str, Any]) -> dict[str, Any]:
    """`<name>_id` references → objects the user may see; unknown → field error."""
    found = _find_references(
        user, {k: v for k, v in data.items() if k in REFERENCE_FIELDS and v not in (None, "")}
    )
    resolved: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for key, value in data.items():
        if key in REFERENCE_FIELDS:
            if value in (None, ""):
                resolved[REFERENCE_FIELDS[key]] = None
                continue
            obj = found.get(key)
            if obj is None:
                errors[key] = [_("No such record, or not in your branches.")]
            else:
                resolved[REFERENCE_FIELDS[key]] = obj
        elif key == "special_rate_code" and isinstance(value, str):
            # The API may name the code instead of its id.
            obj = fleet_selectors.special_rate_codes().filter(code=value).first() if value else None
            if value and obj is None:
                errors["special_rate_code"] = [_("Unknown special rate code.")]
            resolved["special_rate_code"] = obj
        else:
            resolved[key] = value
    if errors:
        raise ValidationFailed(_("Some references are unknown."), errors)
    return resolved


def _find_references(user, ids: dict[str, Any]) -> dict[str, Any]:
    """The referenced rows the user may see, by key (absent: unknown or outside the user's branches),
    with at most one query per table: the agreement (which brings its customer and branch along), the
    vehicles together, and the branch, customer and rate code only when the agreement did not bring them.
    The selectors decide what the user may see; their joins for lists are dropped (select_related(None)):
    a reference read later (a vehicle's class for the rental without an agreement) loads on access."""
    found: dict[str, Any] = {}
    agreement = None
    if "agreement_id" in ids:
        agreement = fleet_selectors.agreement_for(user, ids["agreement_id"])
        found["agreement_id"] = agreement
    if "branch_id" in ids:
        pk = Branch._meta.pk.to_python(ids["branch_id"])
        if agreement is not None and agreement.branch_id == pk:
            # The agreement is in the user's branches (agreements_for), so its branch is visible.
            found["branch_id"] = agreement.branch if agreement.branch.active else None
        else:
            found["branch_id"] = fleet_selectors.branches_for(user).filter(active=True).filter(pk=pk).first()
    if "customer_id" in ids:
        pk = Customer._meta.pk.to_python(ids["customer_id"])
        if agreement is not None and agreement.customer_id == pk:
            found["customer_id"] = agreement.customer  # every customer is visible (customers_for)
        else:
            found["customer_id"] = fleet_selectors.customers_for(user).filter(pk=pk).first()
    vehicle_keys = [k for k in ("original_vehicle_id", "replacement_vehicle_id") if k in ids]
    if vehicle_keys:
        wanted = {k: Vehicle._meta.pk.to_python(ids[k]) for k in vehicle_keys}
        vehicles = fleet_selectors.vehicles_by_id(user, wanted.values())
        found.update({k: vehicles.get(pk) for k, pk in wanted.items()})
    if "special_rate_code_id" in ids:
        found["special_rate_code_id"] = (
            fleet_selectors.special_rate_codes().filter(pk=ids["special_rate_code_id"]).first()
        )
    return found


def _blank_text(name: str) -> bool:
    try:
        model_field = Custody._meta.get_field(name)
    except FieldDoesNotExist:
        return False
    return isinstance(model_field, models.CharField | models.TextField) and not model_field.null


def _apply(custody: Custody, values: dict, allowed: list[str]) -> None:
    unknown = sorted(set(values) - set(allowed))
    if unknown:
        raise ValidationFailed(
            _("These fields cannot be changed now: %(fields)s.") % {"fields": ", ".join(unknown)},
            {name: [_("Cannot be changed in this state.")] for name in unknown},
        )
    for name, value in values.items():
        if name in ("deposit_carryover", "damage_hold_amount") and value is None:
            value = Decimal("0")
        if value is None and _blank_text(name):
            value = ""  # an omitted/null optional text field is stored as the empty value, never NULL
        if isinstance(value, str) and name not in ("tags",):
            value = value.strip()
        setattr(custody, name, value)
    if custody.until_original_ready:
        custody.expected_return_at = None
    if custody.replacement_vehicle_id:
        custody.no_replacement_needed, custody.no_replacement_reason = False, ""
    elif not custody.no_replacement_needed:
        custody.no_replacement_reason = ""


def _prefill(custody: Custody) -> None:
    """Sensible defaults an operator expects: agreement → customer, branch, original vehicle; custodian from customer."""
    agreement = custody.agreement
    if agreement is not None:
        if custody.customer_id is None:
            custody.customer = agreement.customer
        if custody.original_vehicle_id is None:
            custody.original_vehicle = agreement.vehicle
        if custody.branch_id is None:
            custody.branch = agreement.branch
    if (
        custody.custodian_type == CustodianType.CUSTOMER
        and custody.customer_id
        and not custody.custodian_name
    ):
        customer = custody.customer
        custody.custodian_name = customer.full_name
        custody.custodian_phone = custody.custodian_phone or customer.phone
        custody.custodian_email = custody.custodian_email or customer.email
        custody.custodian_id_no = custody.custodian_id_no or customer.national_id


def _validate_draft(custody: Custody, now: datetime) -> None:
    report = rules.RuleReport()
    rules.check_required(custody, report)
    if custody.custodian_type and custody.custodian_type not in CustodianType.values:
        report.error("custodian_type", _("Unknown custodian type."))
    if custody.reason_code and custody.reason_code not in ReasonCode.values:
        report.error("reason_code", _("Unknown reason."))
    if custody.rate_policy not in RatePolicy.values:
        report.error("rate_policy", _("Unknown rate policy."))
    for money in ("deposit_carryover", "damage_hold_amount"):
        if getattr(custody, money) is not None and getattr(custody, money) < 0:
            report.error(money, _("Cannot be negative."))
    rules.check_fields(custody, now, report)
    if not report.ok:
        raise ValidationFailed(_("The custody is not valid."), report.errors)


# ---- create and edit -------------------------------------------------------------------------


@transaction.atomic
def create_custody(user, data: dict[str, Any]) -> Custody:
    permissions.require(user, "custody.create")
    switches.ensure_new_custodies_allowed()
    values = _resolve(user, data)
    custody = Custody(created_by=user)
    _apply(custody, values, EDITABLE_FIELDS)
    _prefill(custody)
    if custody.branch_id and not permissions.in_branch(user, custody.branch_id):
        raise ValidationFailed(_("Not your branch."), {"branch_id": [_("Not in your branches.")]})
    now = _now()
    _validate_draft(custody, now)
    custody.custody_no = next_custody_no()
    custody.version = 0  # _save increments to 1
    entries: list = []  # the custody's entry, written with its rental line's by the sync (one INSERT)
    _save(custody, {}, "custody.created", "custody.created", audit_later=entries)
    hooks.billing.sync_rental(custody, entries=entries, created=True)
    if custody.damage_hold_amount:  # a new custody has no hold yet: without an amount none follows it
        hooks.billing.sync_hold(custody)
    return custody


@transaction.atomic
def update_custody(user, custody_id, data: dict[str, Any], expected_version: int | None = None) -> Custody:
    custody = _lock(custody_id, user)
    permissions.require(user, "custody.edit", custody)  # the role first: a refusal reveals no state
    if custody.status in TERMINAL_STATUSES:
        raise InvalidTransition(
            _("A closed or voided custody cannot be changed."),
            {"status": custody.status, "allowed_actions": []},
        )
    _check_version(custody, expected_version)
    allowed = EDITABLE_FIELDS if custody.status == CustodyStatus.DRAFT else NOTE_FIELDS
    before = audit.snapshot(custody, AUDITED_FIELDS)
    values = _resolve(user, data)
    _apply(custody, values, allowed)
    if custody.status == CustodyStatus.DRAFT:
        _prefill(custody)
        _validate_draft(custody, _now())
    if not audit.diff(before, audit.snapshot(custody, AUDITED_FIELDS)):
        return custody  # nothing changed: no new version, audit entry or event
    _save(custody, before, "custody.updated", "custody.updated")
    hooks.billing.sync_rental(custody)
    hooks.billing.sync_hold(custody)
    return custody


# ---- transitions -----------------------------------------------------------------------------


@transaction.atomic
def submit_custody(user, custody_id, expected_version: int | None = None) -> ActionResult:
    custody = _lock(custody_id, user)
    _check_transition(user, custody, "submit")
    _check_version(custody, expected_version)
    now = _now()
    report = rules.check_submission(custody, now)
    if not report.ok:
        raise ValidationFailed(
            _("The custody cannot be submitted yet."), {**report.errors, "warnings": report.warnings}
        )
    before = audit.snapshot(custody, AUDITED_FIELDS)
    custody.status = CustodyStatus.PENDING_APPROVAL
    custody.submission_round += 1
    custody.submitted_at = now
    custody.submitted_by = user
    custody.approved_at = None
    sla.clear_clock(custody, SlaTarget.APPROVE)
    sla.start_clock(custody, SlaTarget.APPROVE, now)
    _save(custody, before, "custody.submitted", "custody.submitted")

    auto_rule = hooks.approvals.start(custody, now, custody.sla_approve_due_at)
    if auto_rule is not None:
        _finalize_approval(custody, now, message=(AUTO_APPROVED, {"rule": auto_rule}))
    return ActionResult(custody, report.warnings)


def _finalize_approval(
    custody: Custody,
    now: datetime,
    message="",
    entries: list | None = None,
    events: list = (),
    overlap_checked: bool = False,
) -> None:
    """Last level approved (or auto-approved): reserve the replacement, start the handover clock.

    `overlap_checked`: the caller asked for other custodies' holds on the car in this action; the locked
    car's own status is still checked here. A hold committed since is refused all the same: SQLite
    serialises the writers (IMMEDIATE transactions) and PostgreSQL's exclusion constraint refuses it."""
    entries = [] if entries is None else entries
    before = audit.snapshot(custody, AUDITED_FIELDS)
    if custody.replacement_vehicle_id:
        vehicles = _lock_vehicles(custody, custody.replacement_vehicle_id)
        vehicle = vehicles[str(custody.replacement_vehicle_id)]
        problem = rules.replacement_problem(custody, vehicle, overlap=not overlap_checked)
        if problem:
            raise Conflict(problem, {"replacement_vehicle_id": [problem]})
        _set_vehicle_status(vehicle, VehicleStatus.RESERVED, custody, entries)
    custody.status = CustodyStatus.APPROVED
    custody.approved_at = now
    custody.reserved_from = custody.effective_from
    custody.reserved_until = None if custody.until_original_ready else custody.expected_return_at
    sla.stamp_met(custody, SlaTarget.APPROVE, now)
    sla.start_clock(custody, SlaTarget.HANDOVER, now)
    _save(
        custody,
        before,
        "custody.approved",
        "custody.approved",
        message=message,
        entries=entries,
        events=events,
    )


@transaction.atomic
def approve_custody(user, custody_id, notes: str = "") -> ActionResult:
    custody = _lock(custody_id, user)
    _check_transition(user, custody, "approve")
    level = hooks.approvals.current_level(custody)
    reason = hooks.approvals.why_cannot_decide(user, custody, level)
    if reason:
        raise PermissionDenied(reason)
    # The replacement is checked at every level, not only the last: an approver sees it first.
    problem = rules.replacement_problem(custody)
    if problem:
        raise Conflict(
            problem,
            {"replacement_vehicle_id": [problem], "hint": [_("Choose another car, or send it back.")]},
        )
    now = _now()
    entries: list = []  # the decision's audit entry, written with the custody's (one INSERT)
    hooks.approvals.decide(level, user, approve=True, notes=notes or "", now=now, entries=entries)
    decided = (
        "custody.approval_decided",
        {**event_payload(custody), "level": level.level, "decision": "approved"},
    )
    if hooks.approvals.activate_next_level(custody, now) is None:
        # The decision's entry and event are written with the approval's (one INSERT each).
        _finalize_approval(
            custody, now, message=notes or "", entries=entries, events=[decided], overlap_checked=True
        )
    else:
        audit.record_many(entries)
        emit(*decided)
        custody.version += 1
        custody.save(update_fields=["version", "updated_at"])
        _remember_stored(custody)
    return ActionResult(custody)


@transaction.atomic
def change_replacement(user, custody_id, vehicle_id, expected_version: int | None = None) -> Custody:
    """Swap the replacement car: the draft's editor, or the approver of the current level (inbox)."""
    custody = _lock(custody_id, user)
    _check_version(custody, expected_version)
    if custody.status == CustodyStatus.PENDING_APPROVAL:
        level = hooks.approvals.current_level(custody)
        why = hooks.approvals.why_cannot_decide(user, custody, level)
        if why:
            raise PermissionDenied(why)
    elif custody.status == CustodyStatus.DRAFT:
        permissions.require(user, "custody.edit", custody)
    else:
        raise InvalidTransition(
            _("The replacement is chosen before approval; at handover the counter may give another car."),
            {"status": custody.status},
        )
    vehicle = fleet_selectors.vehicles_for(user).filter(pk=vehicle_id).first() if vehicle_id else None
    if vehicle is None:
        raise ValidationFailed(
            _("Choose an available car."),
            {"replacement_vehicle_id": [_("No such vehicle, or not in your branches.")]},
        )
    vehicle = _lock_vehicles(custody, vehicle.pk)[str(vehicle.pk)]
    problem = rules.replacement_problem(custody, vehicle)
    if problem:
        raise Conflict(problem, {"replacement_vehicle_id": [problem]})
    before = audit.snapshot(custody, AUDITED_FIELDS)
    custody.replacement_vehicle = vehicle
    custody.no_replacement_needed, custody.no_replacement_reason = False, ""
    _save(custody, before, "custody.replacement_changed", "custody.updated")
    hooks.billing.sync_rental(custody)
    return custody


@transaction.atomic
def reject_custody(user, custody_id, reason: str) -> ActionResult:
    custody = _lock(custody_id, user)
    _check_transition(user, custody, "reject")
    if not (reason or "").strip():
        raise ValidationFailed(_("Give a reason for the rejection."), {"reason": [_("Required.")]})
    level = hooks.approvals.current_level(custody)
    why = hooks.approvals.why_cannot_decide(user, custody, level)
    if why:
        raise PermissionDenied(why)
    now = _now()
    entries: list = []  # the decision's audit entry, written with the custody's (one INSERT)
    hooks.approvals.decide(level, user, approve=False, notes=reason.strip(), now=now, entries=entries)
    hooks.approvals.skip_open_levels(custody)
    decided = (
        "custody.approval_decided",
        {**event_payload(custody), "level": level.level, "decision": "rejected"},
    )
    before = audit.snapshot(custody, AUDITED_FIELDS)
    custody.status = CustodyStatus.DRAFT
    custody.last_reject_reason = reason.strip()
    sla.clear_clock(custody, SlaTarget.APPROVE)
    _save(
        custody,
        before,
        "custody.rejected",
        "custody.rejected",
        message=reason.strip(),
        entries=entries,
        events=[decided],
    )
    return ActionResult(custody)


def _set_vehicle_status(vehicle: Vehicle, status: str, custody: Custody, entries: list, **readings) -> None:
    # The custody holds the vehicle, so it is the one caller fleet lets move it. Its audit entry goes
    # into `entries`, written with the custody's by _save.
    fleet_services.set_status(
        vehicle,
        status,
        by_holder=True,
        custody_id=custody.pk,
        message=custody.custody_no,
        entries=entries,
        **readings,
    )


def _original_status_after(custody: Custody) -> str:
    if custody.original_critical_problem:
        return VehicleStatus.OUT_OF_SERVICE
    if custody.original_ready_at is None and custody.reason_code in (
        ReasonCode.ACCIDENT,
        ReasonCode.BREAKDOWN,
        ReasonCode.MAINTENANCE,
        ReasonCode.DAMAGE,
    ):
        return VehicleStatus.MAINTENANCE
    agreement = custody.agreement
    if agreement is not None and agreement.status == AgreementStatus.ACTIVE:
        return VehicleStatus.RENTED
    return VehicleStatus.AVAILABLE


@transaction.atomic
def hand_over_custody(user, custody_id, data: dict[str, Any]) -> ActionResult:
    """approved → active: replacement out to the customer, original into custody, readings recorded."""
    custody = _lock(custody_id, user)
    _check_transition(user, custody, "handover")
    now = _now()
    errors: dict[str, list[str]] = {}
    odometer, fuel = data.get("odometer_km"), data.get("fuel_level")
    handed_over_at = data.get("handed_over_at") or now
    if handed_over_at > now + timedelta(minutes=5):
        errors["handed_over_at"] = [_("Cannot be in the future.")]
    new_replacement = custody.replacement_vehicle
    if "replacement_vehicle_id" in data and data["replacement_vehicle_id"] not in (None, ""):
        new_replacement = fleet_selectors.vehicles_for(user).filter(pk=data["replacement_vehicle_id"]).first()
        if new_replacement is None:
            errors["replacement_vehicle_id"] = [_("No such vehicle, or not in your branches.")]
    if (
        new_replacement is None
        and custody.reason_code not in (ReasonCode.MAINTENANCE, ReasonCode.OTHER)
        and not custody.no_replacement_needed
        and "replacement_vehicle_id" not in errors
    ):
        errors["replacement_vehicle_id"] = [_("A replacement vehicle is required for this reason.")]
    if new_replacement is not None:
        if odometer is None:
            errors["odometer_km"] = [_("Record the replacement's odometer.")]
        elif odometer < 0:
            errors["odometer_km"] = [_("Cannot be negative.")]
        if fuel is None:
            errors["fuel_level"] = [_("Record the replacement's fuel level.")]
        elif not 0 <= fuel <= 8:
            errors["fuel_level"] = [_("Fuel level is in eighths, 0 to 8.")]
    missing = rules.missing_document_errors(custody, "handover")
    if missing:
        errors["documents"] = missing
    if errors:
        raise ValidationFailed(_("The custody cannot be handed over yet."), errors)

    before = audit.snapshot(custody, AUDITED_FIELDS)
    warnings: list[dict] = []
    entries: list = []
    old_replacement_id = custody.replacement_vehicle_id
    vehicles = _lock_vehicles(
        custody,
        old_replacement_id,
        new_replacement.pk if new_replacement else None,
        custody.original_vehicle_id,
    )
    if new_replacement is not None and str(new_replacement.pk) != str(old_replacement_id or ""):
        # A different car at the counter: release the reserved one, check the new one.
        if old_replacement_id:
            _set_vehicle_status(vehicles[str(old_replacement_id)], VehicleStatus.AVAILABLE, custody, entries)
        custody.replacement_vehicle = vehicles[str(new_replacement.pk)]
    replacement = (
        vehicles.get(str(custody.replacement_vehicle_id)) if custody.replacement_vehicle_id else None
    )
    if replacement is not None:
        custody.reserved_from = min(custody.effective_from, handed_over_at)
        problem = rules.replacement_problem(custody, replacement)
        if problem:
            raise Conflict(problem, {"replacement_vehicle_id": [problem]})
        error, warning = rules.odometer_problems(
            odometer, replacement.odometer_km, replacement.updated_at, handed_over_at
        )
        if error:
            raise ValidationFailed(
                _("The odometer cannot be below the vehicle's last reading."), {"odometer_km": [error]}
            )
        if warning:
            warnings.append({"code": "odometer_jump", "message": str(warning)})
        _set_vehicle_status(
            replacement, VehicleStatus.RENTED, custody, entries, odometer_km=odometer, fuel_level=fuel
        )
    if custody.original_vehicle_id:
        _set_vehicle_status(
            vehicles[str(custody.original_vehicle_id)], VehicleStatus.IN_CUSTODY, custody, entries
        )
    custody.status = CustodyStatus.ACTIVE
    custody.handed_over_at = handed_over_at
    custody.handed_over_by = user
    custody.handover_odometer_km = odometer
    custody.handover_fuel_level = fuel
    custody.handover_notes = (data.get("notes") or "").strip()
    sla.stamp_met(custody, SlaTarget.HANDOVER, now)
    _set_close_due(custody)
    later: list = []  # the vehicles' and the custody's entries, written with the rental's by the sync
    _save(custody, before, "custody.handed_over", "custody.handed_over", entries=entries, audit_later=later)
    hooks.billing.sync_rental(custody, now, entries=later)
    return ActionResult(custody, warnings)


def _set_close_due(custody: Custody) -> None:
    sla.start_clock(custody, SlaTarget.CLOSE, custody.original_ready_at or custody.expected_return_at)


@transaction.atomic
def close_custody(user, custody_id, data: dict[str, Any]) -> ActionResult:
    """active → closed: replacement back, original released, readings recorded."""
    custody = _lock(custody_id, user)
    _check_transition(user, custody, "close")
    now = _now()
    errors: dict[str, list[str]] = {}
    returned_at = data.get("returned_at")
    odometer, fuel = data.get("odometer_km"), data.get("fuel_level")
    close_warnings: list[dict] = []
    if returned_at is None:
        errors["returned_at"] = [_("Enter when the replacement came back.")]
    elif custody.handed_over_at and returned_at < custody.handed_over_at:
        errors["returned_at"] = [_("The return cannot be before the handover.")]
    elif returned_at > now + timedelta(minutes=5):
        errors["returned_at"] = [_("Cannot be in the future.")]
    if custody.replacement_vehicle_id:
        if odometer is None:
            errors["odometer_km"] = [_("Record the odometer at return.")]
        elif custody.handover_odometer_km is not None and odometer < custody.handover_odometer_km:
            errors["odometer_km"] = [
                _("Cannot be below the handover reading (%(km)s km).") % {"km": custody.handover_odometer_km}
            ]
        else:
            _error, jump = rules.odometer_problems(
                odometer, custody.handover_odometer_km, custody.handed_over_at, returned_at
            )
            if jump:
                close_warnings.append({"code": "odometer_jump", "message": str(jump)})
        if fuel is None:
            errors["fuel_level"] = [_("Record the fuel level at return.")]
        elif not 0 <= fuel <= 8:
            errors["fuel_level"] = [_("Fuel level is in eighths, 0 to 8.")]
    missing = rules.missing_document_errors(custody, "close")
    if missing:
        errors["documents"] = missing
    blockers = hooks.billing.blocking_drafts(custody)
    if blockers:
        errors["charges"] = [
            _("Draft charge not posted or voided: %(charge)s (%(total)s).")
            % {"charge": c.description, "total": c.total}
            for c in blockers
        ]
    accepted = set(data.get("accept_suggestions") or [])
    suggestions = []
    if returned_at is not None:
        suggestions = [
            s
            for s in hooks.billing.close_suggestions(custody, returned_at, odometer, fuel)
            if s.key in accepted
        ]
    if errors:
        raise ValidationFailed(_("The custody cannot be closed yet."), errors)

    before = audit.snapshot(custody, AUDITED_FIELDS)
    entries: list = []
    vehicles = _lock_vehicles(custody, custody.replacement_vehicle_id, custody.original_vehicle_id)
    custody.original_critical_problem = bool(data.get("original_critical_problem"))
    if data.get("original_ready") and custody.original_ready_at is None:
        custody.original_ready_at = returned_at
    if custody.replacement_vehicle_id:
        _set_vehicle_status(
            vehicles[str(custody.replacement_vehicle_id)],
            VehicleStatus.AVAILABLE,
            custody,
            entries,
            odometer_km=odometer,
            fuel_level=fuel,
        )
    if custody.original_vehicle_id:
        _set_vehicle_status(
            vehicles[str(custody.original_vehicle_id)], _original_status_after(custody), custody, entries
        )
    custody.status = CustodyStatus.CLOSED
    custody.returned_at = returned_at
    custody.reserved_until = max(returned_at, custody.reserved_from) if custody.reserved_from else returned_at
    custody.return_odometer_km = odometer
    custody.return_fuel_level = fuel
    custody.return_notes = (data.get("notes") or "").strip()
    custody.closed_at = now
    custody.closed_by = user
    sla.stamp_met(custody, SlaTarget.CLOSE, now)
    later: list = []  # the close's entries, written with the settlement's by billing (one INSERT)
    _save(custody, before, "custody.closed", "custody.closed", entries=entries, audit_later=later)
    with acting_as(user=None, source="system"):
        hooks.billing.finalize_on_close(custody, now, suggestions, entries=later)
    return ActionResult(custody, close_warnings)


@transaction.atomic
def void_custody(user, custody_id, reason: str) -> ActionResult:
    custody = _lock(custody_id, user)
    _check_transition(user, custody, "void")
    if not (reason or "").strip():
        raise ValidationFailed(_("Give a reason for voiding."), {"reason": [_("Required.")]})
    now = _now()
    before = audit.snapshot(custody, AUDITED_FIELDS)
    entries: list = []
    was = custody.status
    vehicles = _lock_vehicles(custody, custody.replacement_vehicle_id, custody.original_vehicle_id)
    if custody.replacement_vehicle_id and was in (CustodyStatus.APPROVED, CustodyStatus.ACTIVE):
        replacement = vehicles[str(custody.replacement_vehicle_id)]
        if replacement.status in (VehicleStatus.RESERVED, VehicleStatus.RENTED):
            _set_vehicle_status(replacement, VehicleStatus.AVAILABLE, custody, entries)
    if custody.original_vehicle_id and was == CustodyStatus.ACTIVE:
        original = vehicles[str(custody.original_vehicle_id)]
        if original.status == VehicleStatus.IN_CUSTODY:
            _set_vehicle_status(original, _original_status_after(custody), custody, entries)
    if was == CustodyStatus.PENDING_APPROVAL:
        hooks.approvals.skip_open_levels(custody)
    custody.status = CustodyStatus.VOIDED
    custody.voided_at = now
    custody.voided_by = user
    custody.void_reason = reason.strip()
    _save(custody, before, "custody.voided", "custody.voided", message=reason.strip(), entries=entries)
    hooks.billing.sync_rental(custody, now)
    return ActionResult(custody)


@transaction.atomic
def mark_original_ready(user, custody_id, ready_at: datetime | None = None) -> Custody:
    """The workshop says the original is ready (fleet `vehicle.ready`): starts the close clock."""
    custody = _lock(custody_id, user)
    if custody.status in TERMINAL_STATUSES:
        raise InvalidTransition(_("The custody is already finished."), {"status": custody.status})
    if user is not None:
        permissions.require(user, "custody.edit", custody)
    before = audit.snapshot(custody, AUDITED_FIELDS)
    custody.original_ready_at = ready_at or _now()
    if custody.status == CustodyStatus.ACTIVE:
        _set_close_due(custody)
    return _save(custody, before, "custody.original_ready", "custody.updated")


@transaction.atomic
def update_claim(custody_id, *, claim_no: str | None, claim_status: str | None) -> Custody:
    """The insurer's claim system reports a claim number/status (inbound integration event)."""
    custody = _lock(custody_id, None)
    before = audit.snapshot(custody, AUDITED_FIELDS)
    new = ((claim_no or custody.claim_no)[:60], (claim_status or custody.claim_status)[:40])
    if new != (custody.claim_no, custody.claim_status):
        custody.claim_no, custody.claim_status = new
        _save(custody, before, "custody.claim_updated", "custody.updated")
    return custody


# ---- scheduled ---------------------------------------------------------------------------------


def check_sla(now: datetime | None = None) -> dict[str, int]:
    """Stamp breaches of open targets (idempotent: each target is claimed once) and emit one event each."""
    now = now or _now()
    counts = {"approve": 0, "handover": 0, "close": 0, "escalated": 0}
    for target, status in sla.STATUS_BY_TARGET.items():
        due_field, _risk, met_field, breached_field = sla.fields(target)
        candidates = Custody.objects.filter(
            **{
                "status": status,
                f"{due_field}__lt": now,
                f"{met_field}__isnull": True,
                f"{breached_field}__isnull": True,
            }
        ).only("id", due_field)
        for custody in candidates.iterator(chunk_size=500):
            with transaction.atomic():
                claimed = Custody.objects.filter(pk=custody.pk, **{f"{breached_field}__isnull": True}).update(
                    **{breached_field: getattr(custody, due_field)}
                )
                if claimed:
                    fresh = Custody.objects.get(pk=custody.pk)
                    audit.record(
                        "custody.sla_breached",
                        fresh,
                        object_type="custody",
                        custody_id=fresh.pk,
                        # The field's label says which target, in the reader's language.
                        changes={breached_field: [None, getattr(custody, due_field)]},
                    )
                    emit(
                        "custody.sla_breached",
                        {**event_payload(fresh), "target": target, "due_at": getattr(custody, due_field)},
                    )
                    counts[target] += 1
    with transaction.atomic():
        counts["escalated"] = hooks.approvals.escalate_overdue(now)
    return counts


# ---- SLA policies (admin configuration page) -------------------------------------------------------

SLA_FIELDS = (
    "reason_code",
    "branch_id",
    "approve_within_hours",
    "handover_within_hours",
    "close_within_hours",
)


@transaction.atomic
def save_sla_policy(user, policy, data: dict):
    """Create or change an SLA policy (admins). New clocks use it; clocks already running keep their due time."""
    from django.core.exceptions import ValidationError as DjangoValidationError

    from .models import SlaPolicy

    permissions.require(user, "settings.manage")
    policy = SlaPolicy.objects.select_for_update().get(pk=policy.pk) if policy is not None else SlaPolicy()
    creating = policy._state.adding
    before = {} if creating else audit.snapshot(policy, list(SLA_FIELDS))
    for name, value in data.items():
        if name in ("branch", *SLA_FIELDS):
            setattr(policy, name, value)
    twin = SlaPolicy.objects.filter(reason_code=policy.reason_code, branch_id=policy.branch_id).exclude(
        pk=policy.pk
    )
    if twin.exists():
        message = (
            _("This branch already has its own policy for this reason: edit that one.")
            if policy.branch_id
            else _("This reason already has its policy for all branches: edit that one.")
        )
        raise ValidationFailed(message, {"branch": [message]})
    try:
        policy.full_clean(validate_constraints=False)
    except DjangoValidationError as exc:
        raise ValidationFailed(_("The SLA policy is not valid."), exc.message_dict) from exc
    policy.save()
    policy.refresh_from_db()  # stored values (2 places), so the audit shows only real changes
    audit.record(
        "slapolicy.created" if creating else "slapolicy.updated",
        policy,
        object_type="sla_policy",
        changes=audit.diff(before, audit.snapshot(policy, list(SLA_FIELDS))),
    )
    return policy
