"""Custody REST endpoints (DESIGN §15): list/create/retrieve/update, actions, approvals, audit."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any
from uuid import UUID

from django.http import Http404, HttpResponse
from django.utils import timezone
from ninja import Field, Query, Router, Schema
from pydantic import AwareDatetime

from audit.models import AuditEntry
from core import rawsql
from core.errors import ValidationFailed
from core.fastjson import json_response
from core.pagination import COUNT_CAP, paginate
from fleet.api import CustomerRef, VehicleRef

from . import hooks, selectors, services, sla
from .choices import CustodianType, CustodyStatus, RatePolicy, ReasonCode, ReasonSubcode, SlaState
from .models import Custody

router = Router(tags=["custodies"])


# ---- schemas -----------------------------------------------------------------------------------


class NamedRef(Schema):
    id: UUID
    code: str
    name: str


class AgreementRef(Schema):
    id: UUID
    agreement_no: str


class SlaTargetOut(Schema):
    target: str
    state: str | None
    due_at: datetime | None
    met_at: datetime | None
    breached_at: datetime | None
    seconds_left: int | None


class SlaOut(Schema):
    state: str | None
    current_target: str | None
    targets: list[SlaTargetOut]


class CustodyCreate(Schema):
    branch_id: UUID | None = None
    customer_id: UUID | None = None
    agreement_id: UUID | None = None
    original_vehicle_id: UUID | None = None
    replacement_vehicle_id: UUID | None = None
    custodian_type: CustodianType
    custodian_name: str = Field("", max_length=200)
    custodian_phone: str = Field("", max_length=30)
    custodian_email: str = Field("", max_length=254)
    custodian_id_no: str = Field("", max_length=40)
    reason_code: ReasonCode
    reason_subcode: ReasonSubcode | None = None
    incident_at: AwareDatetime
    incident_ref: str = Field("", max_length=60)
    incident_narrative: str = ""
    incident_odometer_km: int | None = Field(None, ge=0)
    incident_location: str = Field("", max_length=200)
    effective_from: AwareDatetime
    expected_return_at: AwareDatetime | None = None
    until_original_ready: bool = False
    no_replacement_needed: bool = Field(
        False, description="Accident, breakdown or damage without a replacement car: set it on purpose."
    )
    no_replacement_reason: str = Field("", max_length=200)
    rate_policy: RatePolicy = RatePolicy.INHERIT
    special_rate_code: str | None = Field(None, description="Code of an active special rate code")
    special_rate_code_id: UUID | None = None
    deposit_carryover: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    damage_hold_amount: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    damage_hold_ref: str = Field("", max_length=60)
    notes: str = ""
    tags: list[str] = Field(default_factory=list)
    insurer_name: str = Field("", max_length=120)
    insurance_policy_no: str = Field("", max_length=60)
    claim_no: str = Field("", max_length=60)
    claim_status: str = Field("", max_length=40)
    insurer_authorization_no: str = Field("", max_length=60)
    authorized_daily_rate_cap: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    authorized_max_days: int | None = Field(None, ge=1)


class CustodyPatch(Schema):
    version: int | None = Field(None, description="The version you read; or send If-Match")
    branch_id: UUID | None = None
    customer_id: UUID | None = None
    agreement_id: UUID | None = None
    original_vehicle_id: UUID | None = None
    replacement_vehicle_id: UUID | None = None
    custodian_type: CustodianType | None = None
    custodian_name: str | None = Field(None, max_length=200)
    custodian_phone: str | None = Field(None, max_length=30)
    custodian_email: str | None = Field(None, max_length=254)
    custodian_id_no: str | None = Field(None, max_length=40)
    reason_code: ReasonCode | None = None
    reason_subcode: ReasonSubcode | None = None
    incident_at: AwareDatetime | None = None
    incident_ref: str | None = Field(None, max_length=60)
    incident_narrative: str | None = None
    incident_odometer_km: int | None = Field(None, ge=0)
    incident_location: str | None = Field(None, max_length=200)
    effective_from: AwareDatetime | None = None
    expected_return_at: AwareDatetime | None = None
    until_original_ready: bool | None = None
    no_replacement_needed: bool | None = None
    no_replacement_reason: str | None = Field(None, max_length=200)
    rate_policy: RatePolicy | None = None
    special_rate_code: str | None = None
    special_rate_code_id: UUID | None = None
    deposit_carryover: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    damage_hold_amount: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    damage_hold_ref: str | None = Field(None, max_length=60)
    notes: str | None = None
    tags: list[str] | None = None
    insurer_name: str | None = Field(None, max_length=120)
    insurance_policy_no: str | None = Field(None, max_length=60)
    claim_no: str | None = Field(None, max_length=60)
    claim_status: str | None = Field(None, max_length=40)
    insurer_authorization_no: str | None = Field(None, max_length=60)
    authorized_daily_rate_cap: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    authorized_max_days: int | None = Field(None, ge=1)


class Warning_(Schema):
    code: str
    message: str


class CustodyListItem(Schema):
    id: UUID
    custody_no: str
    status: str
    branch_id: UUID
    branch: NamedRef
    customer_id: UUID
    customer: CustomerRef
    agreement_id: UUID | None
    custodian_type: str
    custodian_name: str
    original_vehicle_id: UUID | None
    original_vehicle: VehicleRef | None
    replacement_vehicle_id: UUID | None
    replacement_vehicle: VehicleRef | None
    reason_code: str
    reason_subcode: str
    incident_at: datetime
    effective_from: datetime
    expected_return_at: datetime | None
    sla_state: str | None
    created_at: datetime
    updated_at: datetime
    version: int


class ResponsibilityBalance(Schema):
    charged: Decimal
    paid: Decimal
    outstanding: Decimal


class BalanceOut(Schema):
    """The custody's money (DESIGN §15.1): billing computes it (`hooks.billing.balance`) and also
    answers it on its own at /custodies/{id}/balance."""

    charged: Decimal
    paid: Decimal
    outstanding: Decimal
    by_responsibility: dict[str, ResponsibilityBalance]


class CustodyOut(Schema):
    id: UUID
    custody_no: str
    status: str
    branch_id: UUID
    branch: NamedRef
    agreement_id: UUID | None
    agreement: AgreementRef | None
    customer_id: UUID
    customer: CustomerRef
    custodian_type: str
    custodian_name: str
    custodian_phone: str
    custodian_email: str
    custodian_id_no: str
    original_vehicle_id: UUID | None
    original_vehicle: VehicleRef | None
    replacement_vehicle_id: UUID | None
    replacement_vehicle: VehicleRef | None
    reason_code: str
    reason_subcode: str
    incident_at: datetime
    incident_ref: str
    incident_narrative: str
    incident_odometer_km: int | None
    incident_location: str
    effective_from: datetime
    expected_return_at: datetime | None
    until_original_ready: bool
    no_replacement_needed: bool
    no_replacement_reason: str
    original_ready_at: datetime | None
    rate_policy: str
    special_rate_code: str | None
    special_rate_code_id: UUID | None
    deposit_carryover: Decimal
    damage_hold_amount: Decimal
    damage_hold_ref: str
    notes: str
    tags: list[str]
    insurer_name: str
    insurance_policy_no: str
    claim_no: str
    claim_status: str
    insurer_authorization_no: str
    authorized_daily_rate_cap: Decimal | None
    authorized_max_days: int | None
    handover_odometer_km: int | None
    handover_fuel_level: int | None
    handover_notes: str
    return_odometer_km: int | None
    return_fuel_level: int | None
    return_notes: str
    original_critical_problem: bool
    submitted_at: datetime | None
    submitted_by_id: UUID | None
    approved_at: datetime | None
    handed_over_at: datetime | None
    handed_over_by_id: UUID | None
    returned_at: datetime | None
    closed_at: datetime | None
    closed_by_id: UUID | None
    voided_at: datetime | None
    voided_by_id: UUID | None
    void_reason: str
    last_reject_reason: str
    created_at: datetime
    created_by_id: UUID | None
    updated_at: datetime
    version: int
    sla: SlaOut
    allowed_actions: list[str]
    balance: BalanceOut
    warnings: list[Warning_] = Field(default_factory=list)


class CustodyList(Schema):
    items: list[CustodyListItem]
    count: int = Field(
        description="Matching custodies, exact up to 10,000; above that 10000 with count_capped true"
    )
    count_capped: bool = Field(
        False, description="True when more than 10,000 custodies match (show the count as 10,000+)"
    )
    next: str | None


class CustodyListParams(Schema):
    status: list[CustodyStatus] = Field(default_factory=list)
    reason_code: ReasonCode | None = None
    branch_id: UUID | None = None
    custodian_type: CustodianType | None = None
    customer_id: UUID | None = None
    agreement_id: UUID | None = None
    plate: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    sla_state: SlaState | None = None
    q: str | None = None
    limit: int | None = Field(None, ge=1, le=200)
    cursor: str | None = None
    page: int | None = Field(None, ge=1)
    ordering: str | None = None


class EmptyIn(Schema):
    pass


class ApproveIn(Schema):
    notes: str = ""


class ReasonIn(Schema):
    reason: str = Field(min_length=1, max_length=2000)


class HandoverIn(Schema):
    replacement_vehicle_id: UUID | None = None
    odometer_km: int | None = Field(None, ge=0)
    fuel_level: int | None = Field(None, ge=0, le=8)
    notes: str = ""
    handed_over_at: AwareDatetime | None = None


class CloseIn(Schema):
    returned_at: AwareDatetime
    odometer_km: int | None = Field(None, ge=0)
    fuel_level: int | None = Field(None, ge=0, le=8)
    notes: str = ""
    original_ready: bool = False
    original_critical_problem: bool = False


class AuditOut(Schema):
    id: int
    at: datetime
    actor_email: str
    source: str
    ip: str | None
    action: str
    object_type: str
    object_id: str
    changes: dict[str, Any]
    message: str
    prev_hash: str
    entry_hash: str | None = Field(
        description="null until the entry is linked into the chain (just after commit)"
    )


class AuditList(Schema):
    items: list[AuditOut]
    count: int
    next: str | None


# ---- serialization -------------------------------------------------------------------------------


def _sla_out(custody: Custody, now: datetime) -> dict:
    current = sla.current_view(custody, now)
    targets = []
    for view in sla.all_views(custody, now):
        targets.append(
            {
                "target": view.target,
                "state": view.state,
                "due_at": view.due_at,
                "met_at": getattr(custody, f"sla_{view.target}_met_at"),
                "breached_at": getattr(custody, f"sla_{view.target}_breached_at"),
                "seconds_left": view.seconds_left,
            }
        )
    return {
        "state": current.state if current else None,
        "current_target": current.target if current else None,
        "targets": targets,
    }


def custody_out(custody: Custody, user, warnings: list | None = None, *, created: bool = False) -> dict:
    now = timezone.now()
    out = {
        field: getattr(custody, field)
        for field in CustodyOut.model_fields
        if field
        not in (
            "sla",
            "allowed_actions",
            "balance",
            "warnings",
            "special_rate_code",
            "tags",
            "branch",
            "agreement",
            "customer",
            "original_vehicle",
            "replacement_vehicle",
        )
    }
    out.update(
        {
            "branch": custody.branch,
            "agreement": custody.agreement,
            "customer": custody.customer,
            "original_vehicle": custody.original_vehicle,
            "replacement_vehicle": custody.replacement_vehicle,
            "special_rate_code": custody.special_rate_code.code if custody.special_rate_code_id else None,
            "tags": list(custody.tags or []),
            "sla": _sla_out(custody, now),
            "allowed_actions": services.allowed_actions(user, custody),
            "balance": hooks.billing.balance(custody, created=created),
            "warnings": warnings or [],
        }
    )
    return out


def _obj_ref(obj, fields: tuple[str, ...]) -> dict | None:
    return None if obj is None else {"id": obj.pk, **{f: getattr(obj, f) for f in fields}}


def custody_json(custody: Custody, user, warnings: list | None = None, *, created: bool = False) -> dict:
    """custody_out() with the references as plain dicts, for json_response: the shape CustodyOut
    documents, without validating our own output again (test_list_contract compares the two)."""
    out = custody_out(custody, user, warnings, created=created)
    out["branch"] = _obj_ref(custody.branch, ("code", "name"))
    out["agreement"] = _obj_ref(custody.agreement, ("agreement_no",))
    out["customer"] = _obj_ref(custody.customer, ("customer_no", "full_name"))
    out["original_vehicle"] = _obj_ref(custody.original_vehicle, _VEHICLE)
    out["replacement_vehicle"] = _obj_ref(custody.replacement_vehicle, _VEHICLE)
    return out


def _ref(row: dict, prefix: str, fields: tuple[str, ...]) -> dict | None:
    pk = row[f"{prefix}_id"]
    if pk is None:
        return None
    return {"id": pk, **{f: row[f"{prefix}__{f}"] for f in fields}}


_VEHICLE = ("plate", "make", "model", "status")


def _list_item(row: selectors.ListRow, now: datetime) -> dict:
    """One CustodyListItem as a plain dict (the schema documents it; test_list_contract pins it)."""
    current = sla.current_view(row, now) if row["status"] in sla.TARGET_BY_STATUS else None
    return {
        "id": row["id"],
        "custody_no": row["custody_no"],
        "status": row["status"],
        "branch_id": row["branch_id"],
        "branch": _ref(row, "branch", ("code", "name")),
        "customer_id": row["customer_id"],
        "customer": _ref(row, "customer", ("customer_no", "full_name")),
        "agreement_id": row["agreement_id"],
        "custodian_type": row["custodian_type"],
        "custodian_name": row["custodian_name"],
        "original_vehicle_id": row["original_vehicle_id"],
        "original_vehicle": _ref(row, "original_vehicle", _VEHICLE),
        "replacement_vehicle_id": row["replacement_vehicle_id"],
        "replacement_vehicle": _ref(row, "replacement_vehicle", _VEHICLE),
        "reason_code": row["reason_code"],
        "reason_subcode": row["reason_subcode"],
        "incident_at": row["incident_at"],
        "effective_from": row["effective_from"],
        "expected_return_at": row["expected_return_at"],
        "sla_state": current.state if current else None,
        "created_at": row["created_at"],
        "updated_at": row["updated_at"],
        "version": row["version"],
    }


def _get(request, custody_id) -> Custody:
    custody = selectors.custody_detail(request.user, custody_id)
    if custody is None:
        raise Http404  # config.api answers it: 404 NOT_FOUND
    return custody


def _written(
    request, custody: Custody, warnings: list | None = None, *, created: bool = False
) -> HttpResponse:
    """The answer to a write: the row the service wrote, with the references it locked it with
    (selectors.LOCKED_REFERENCES), in the form a GET reads it back (services._save gives it that
    form) — no reload. `created`: this request created the custody (201)."""
    answer = custody_json(custody, request.user, warnings, created=created)
    return json_response(answer, status=201 if created else 200)


def _version_from(request, payload_version: int | None) -> int | None:
    header = request.headers.get("If-Match", "").strip().strip('"').removeprefix("W/").strip('"')
    if header:
        try:
            return int(header)
        except ValueError as exc:
            raise ValidationFailed(
                "If-Match must be the custody version number.",
                {"If-Match": ["Send the version number, e.g. If-Match: 3."]},
            ) from exc
    return payload_version


# ---- endpoints --------------------------------------------------------------------------------------


@router.get("custodies", response=CustodyList, summary="List custodies (filters as query parameters)")
def list_custodies(request, params: Query[CustodyListParams]):
    filters = selectors.CustodyFilters(
        status=[str(s) for s in params.status],
        reason_code=params.reason_code,
        branch_id=params.branch_id,
        custodian_type=params.custodian_type,
        customer_id=params.customer_id,
        agreement_id=params.agreement_id,
        plate=params.plate,
        date_from=params.date_from,
        date_to=params.date_to,
        sla_state=params.sla_state,
        q=params.q,
    )
    errors = filters.errors()
    if errors:
        raise ValidationFailed("Invalid filters.", errors)
    now = timezone.now()
    qs = selectors.filter_custodies(selectors.custodies_for(request.user), filters, now)
    with rawsql.prepared(enabled=filters.plan_fits_any_values(request.user)):
        page = paginate(
            selectors.list_rows(qs),
            params=request.GET,
            path=request.path,
            allowed_orderings=selectors.LIST_ORDERINGS,
            default_ordering="-created_at",
            count_cap=COUNT_CAP,
            count_from=qs,  # the filters without the rows' joins (branch, customer, vehicles)
        )
    # Plain dicts straight to orjson: the rows are ours, validating them again cost more than the query.
    return json_response(
        {
            "items": [_list_item(selectors.ListRow(r), now) for r in page.items],
            "count": page.count,
            "count_capped": page.count_capped,
            "next": page.next,
        }
    )


@router.post("custodies", response={201: CustodyOut}, summary="Create a draft custody")
def create_custody(request, payload: CustodyCreate):
    custody = services.create_custody(request.user, payload.dict())
    return _written(request, custody, created=True)


@router.get(
    "custodies/{custody_id}", response=CustodyOut, summary="A custody with SLA, allowed actions, version"
)
def get_custody(request, custody_id: UUID):
    return json_response(custody_json(_get(request, custody_id), request.user))


@router.patch(
    "custodies/{custody_id}",
    response=CustodyOut,
    summary="Edit a draft (notes/tags later); send If-Match: <version>",
)
def update_custody(request, custody_id: UUID, payload: CustodyPatch):
    _get(request, custody_id)  # 404 before a malformed If-Match's 422
    data = payload.dict(exclude_unset=True)
    version = _version_from(request, data.pop("version", None))
    custody = services.update_custody(request.user, custody_id, data, expected_version=version)
    return _written(request, custody)


def _act(request, custody_id, result_fn):
    # A custody outside the user's branches is a 404 before anything else: the service's first step
    # is locking it, scoped to the user's branches (Custody.DoesNotExist answers 404).
    result = result_fn()
    return _written(request, result.custody, result.warnings)


@router.post("custodies/{custody_id}/submit", response=CustodyOut, summary="draft → pending approval")
def submit(request, custody_id: UUID, payload: EmptyIn | None = None):
    return _act(request, custody_id, lambda: services.submit_custody(request.user, custody_id))


@router.post("custodies/{custody_id}/approve", response=CustodyOut, summary="Approve the current level")
def approve(request, custody_id: UUID, payload: ApproveIn | None = None):
    notes = payload.notes if payload else ""
    return _act(request, custody_id, lambda: services.approve_custody(request.user, custody_id, notes))


@router.post(
    "custodies/{custody_id}/reject", response=CustodyOut, summary="Reject back to draft (reason required)"
)
def reject(request, custody_id: UUID, payload: ReasonIn):
    return _act(
        request, custody_id, lambda: services.reject_custody(request.user, custody_id, payload.reason)
    )


class ReplacementIn(Schema):
    replacement_vehicle_id: UUID
    version: int | None = None


@router.post(
    "custodies/{custody_id}/replacement",
    response=CustodyOut,
    summary="Give another replacement car (draft: editors; pending approval: the current level's approver)",
    description="409 CONFLICT when that car is not available for the period.",
)
def change_replacement(request, custody_id: UUID, payload: ReplacementIn):
    _get(request, custody_id)  # 404 before a malformed If-Match's 422
    version = _version_from(request, payload.version)
    custody = services.change_replacement(request.user, custody_id, payload.replacement_vehicle_id, version)
    return _written(request, custody)


@router.post("custodies/{custody_id}/handover", response=CustodyOut, summary="approved → active")
def handover(request, custody_id: UUID, payload: HandoverIn):
    data = payload.dict(exclude_unset=True)
    return _act(request, custody_id, lambda: services.hand_over_custody(request.user, custody_id, data))


@router.post("custodies/{custody_id}/close", response=CustodyOut, summary="active → closed")
def close(request, custody_id: UUID, payload: CloseIn):
    data = payload.dict()
    return _act(request, custody_id, lambda: services.close_custody(request.user, custody_id, data))


@router.post("custodies/{custody_id}/void", response=CustodyOut, summary="Void (reason required)")
def void(request, custody_id: UUID, payload: ReasonIn):
    return _act(request, custody_id, lambda: services.void_custody(request.user, custody_id, payload.reason))


@router.get("custodies/{custody_id}/audit", response=AuditList, summary="The custody's audit trail")
def list_audit(
    request,
    custody_id: UUID,
    action: str | None = None,
    limit: int | None = None,
    cursor: str | None = None,
    page: int | None = None,
    ordering: str | None = None,
):
    custody = _get(request, custody_id)
    qs = AuditEntry.objects.filter(custody_id=custody.pk)
    if action:
        qs = qs.filter(action=action)
    result = paginate(
        qs, params=request.GET, path=request.path, allowed_orderings={"id"}, default_ordering="id"
    )
    return {"items": result.items, "count": result.count, "next": result.next}
