"""Quote and cost-sheet REST endpoints (DESIGN §15.2): thin adapters over quotes.services and selectors."""

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja.responses import Status

from accounts import permissions
from accounts.api import ErrorOut
from core.errors import PreconditionRequired, ValidationFailed
from core.pagination import paginate
from fleet.api import CustomerRef

from . import selectors, services
from .choices import QuoteStatus
from .models import CostSheet, Quote

router = Router(tags=["quotes"])


# ---- schemas -------------------------------------------------------------------------------------


class LineIn(Schema):
    id: UUID | None = Field(None, description="On PATCH: the line to keep (omit for a new line)")
    vehicle_class_id: UUID | None = None
    vehicle_id: UUID | None = None
    description: str = Field("", max_length=200)
    quantity: int = Field(ge=1, le=1000)
    term_months: int = Field(ge=1, le=72)
    monthly_rate: Decimal = Field(ge=0, max_digits=12, decimal_places=2)
    maintenance_included: bool = False
    roadside_included: bool = False
    replacement_included: bool = False


class QuoteCreate(Schema):
    customer_id: UUID
    valid_until: date
    vat_rate: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)
    branch_id: UUID | None = Field(None, description="Default: a vehicle's branch, else your first branch")
    notes: str = ""
    lines: list[LineIn] = Field(default_factory=list, max_length=100)


class QuotePatch(Schema):
    version: int | None = Field(None, description="The version you read; or send If-Match")
    customer_id: UUID | None = None
    valid_until: date | None = None
    vat_rate: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)
    branch_id: UUID | None = None
    notes: str | None = None
    lines: list[LineIn] | None = Field(None, max_length=100, description="Replaces all lines (keep ids)")


class LineOut(Schema):
    id: UUID
    vehicle_class_id: UUID | None
    vehicle_id: UUID | None
    description: str
    quantity: int
    term_months: int
    monthly_rate: Decimal
    maintenance_included: bool
    roadside_included: bool
    replacement_included: bool
    line_total: Decimal


class DecisionOut(Schema):
    decided_at: datetime | None
    name: str
    reason: str
    ip: str | None
    signature_sha256: str


class QuoteOut(Schema):
    id: UUID
    quote_no: str
    status: str
    branch_id: UUID
    customer_id: UUID
    customer: CustomerRef
    valid_until: date
    vat_rate: Decimal
    notes: str
    lines: list[LineOut]
    subtotal: Decimal
    vat_amount: Decimal
    total: Decimal
    submitted_at: datetime | None
    submitted_by_id: UUID | None
    approved_at: datetime | None
    approved_by_id: UUID | None
    last_reject_reason: str
    sent_at: datetime | None
    sent_to: str
    decision: DecisionOut | None
    created_at: datetime
    updated_at: datetime
    version: int
    allowed_actions: list[str]
    cost_sheet_id: UUID | None = Field(description="The current (not obsolete) cost sheet")
    review_url: str | None = Field(None, description="Only in the answer to send")


class QuoteListItem(Schema):
    id: UUID
    quote_no: str
    status: str
    branch_id: UUID
    customer_id: UUID
    customer: CustomerRef
    valid_until: date
    subtotal: Decimal
    vat_amount: Decimal
    total: Decimal
    created_at: datetime
    version: int


class QuoteList(Schema):
    items: list[QuoteListItem]
    count: int
    next: str | None


class QuoteListParams(Schema):
    status: list[QuoteStatus] = Field(default_factory=list)
    customer_id: UUID | None = None
    branch_id: UUID | None = None
    valid_from: date | None = None
    valid_to: date | None = None
    q: str | None = None
    limit: int | None = Field(None, ge=1, le=200)
    cursor: str | None = None
    page: int | None = Field(None, ge=1)
    ordering: str | None = None


class EmptyIn(Schema):
    pass


class QuoteApproveIn(Schema):
    notes: str = Field("", max_length=2000)


class ReasonIn(Schema):
    reason: str = Field(min_length=1, max_length=2000)


class SendIn(Schema):
    email: str = Field("", max_length=254, description="Default: the customer's e-mail")


class CostLineIn(Schema):
    quote_line_id: UUID
    acquisition_cost: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    maintenance_monthly: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    insurance_monthly: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    registration_monthly: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    roadside_monthly: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    replacement_monthly: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    other_monthly: Decimal | None = Field(None, ge=0, max_digits=12, decimal_places=2)


class CostSheetPatch(Schema):
    revision: int | None = Field(None, description="The revision you read; or send If-Match")
    financing_rate_pct: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)
    overhead_pct: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)
    target_margin_pct: Decimal | None = Field(None, ge=0, lt=100, max_digits=4, decimal_places=2)
    lines: list[CostLineIn] | None = Field(None, max_length=100, description="Changed lines only")


class CostSheetCreate(Schema):
    quote_id: UUID
    financing_rate_pct: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)
    overhead_pct: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)
    target_margin_pct: Decimal | None = Field(None, ge=0, lt=100, max_digits=4, decimal_places=2)
    lines: list[CostLineIn] = Field(default_factory=list, max_length=100)


class CostLineOut(Schema):
    quote_line_id: UUID | None
    description: str
    quantity: int
    term_months: int
    acquisition_cost: Decimal
    maintenance_monthly: Decimal
    insurance_monthly: Decimal
    registration_monthly: Decimal
    roadside_monthly: Decimal
    replacement_monthly: Decimal
    other_monthly: Decimal
    residual_pct: Decimal
    depreciation: Decimal
    financing: Decimal
    operating: Decimal
    overhead: Decimal
    total_monthly_cost: Decimal
    suggested_rate: Decimal
    quoted_rate: Decimal
    actual_margin_pct: Decimal | None
    margin_colour: str = Field(description="success (≥ target), warning (≥ 10 %), danger (below 10 %)")


class LowestLine(Schema):
    quote_line_id: UUID | None
    actual_margin_pct: Decimal | None


class SummaryOut(Schema):
    total_monthly_cost: Decimal
    total_revenue: Decimal
    average_margin_pct: Decimal | None
    lowest_margin_line: LowestLine | None


class CostSheetOut(Schema):
    id: UUID
    quote_id: UUID
    version: int
    status: str
    financing_rate_pct: Decimal
    overhead_pct: Decimal
    target_margin_pct: Decimal
    lines: list[CostLineOut]
    summary: SummaryOut
    submitted_at: datetime | None
    submitted_by_id: UUID | None
    decided_at: datetime | None
    decided_by_id: UUID | None
    reject_reason: str
    applied_at: datetime | None
    created_at: datetime
    revision: int = Field(
        description="Changes with every edit and action: send it as If-Match to act on what you read"
    )
    allowed_actions: list[str]


class CostSheetList(Schema):
    items: list[CostSheetOut]
    count: int
    next: str | None


# ---- serialization -----------------------------------------------------------------------------------


def quote_out(quote: Quote, user, review_url: str | None = None) -> dict:
    lines = list(quote.lines.all())
    decision = None
    if quote.decided_at:
        decision = {
            "decided_at": quote.decided_at,
            "name": quote.decision_name,
            "reason": quote.decision_reason,
            "ip": quote.decision_ip,
            "signature_sha256": quote.signature_sha256,
        }
    sheet = services.current_sheet(quote)
    out = {name: getattr(quote, name) for name in QuoteOut.model_fields if hasattr(quote, name)}
    out.update(
        {
            "lines": lines,
            "decision": decision,
            "allowed_actions": services.allowed_quote_actions(user, quote),
            "cost_sheet_id": sheet.pk if sheet else None,
            "review_url": review_url,
        }
    )
    return out


def sheet_out(sheet: CostSheet, user) -> dict:
    rows = services.sheet_rows(sheet)
    summary = services.sheet_summary(rows)
    lines = []
    for row in rows:
        line = row.line
        lines.append(
            {
                "quote_line_id": line.quote_line_id,
                "description": line.description,
                "quantity": line.quantity,
                "term_months": line.term_months,
                **{name: getattr(line, name) for name in services.COST_FIELDS},
                "residual_pct": row.cost.residual_pct,
                "depreciation": row.cost.depreciation,
                "financing": row.cost.financing,
                "operating": row.cost.operating,
                "overhead": row.cost.overhead,
                "total_monthly_cost": row.cost.total_monthly_cost,
                "suggested_rate": row.cost.suggested_rate,
                "quoted_rate": row.quoted_rate,
                "actual_margin_pct": row.actual_margin_pct,
                "margin_colour": row.colour,
            }
        )
    out = {name: getattr(sheet, name) for name in CostSheetOut.model_fields if hasattr(sheet, name)}
    out.update(
        {
            "lines": lines,
            "summary": {
                "total_monthly_cost": summary.total_monthly_cost,
                "total_revenue": summary.total_revenue,
                "average_margin_pct": summary.average_margin_pct,
                "lowest_margin_line": {
                    "quote_line_id": summary.lowest_margin_line,
                    "actual_margin_pct": summary.lowest_margin_pct,
                }
                if rows
                else None,
            },
            "allowed_actions": services.allowed_sheet_actions(user, sheet),
        }
    )
    return out


def _quote(request, quote_id) -> Quote:
    return get_object_or_404(selectors.quotes_for(request.user), pk=quote_id)


def _sheet(request, sheet_id) -> CostSheet:
    return get_object_or_404(selectors.cost_sheets_for(request.user), pk=sheet_id)


def _version_from(request, payload_version: int | None, *, required: bool = False) -> int | None:
    """The version (a quote's `version`, a cost sheet's `revision`) the client read: the If-Match header,
    else the body's field. An edit must send it (428 PRECONDITION_REQUIRED without); an action may."""
    header = request.headers.get("If-Match", "").strip().removeprefix("W/").strip('"')
    if header:
        if not header.isdigit():
            raise ValidationFailed(
                "If-Match must be the version number.",
                {"If-Match": ["Send the version number, e.g. If-Match: 3."]},
            )
        return int(header)
    if payload_version is None and required:
        raise PreconditionRequired(
            "Send the version you read as If-Match: <version>, so a change made meanwhile is not lost.",
            {"If-Match": ["Required: the version you read, e.g. If-Match: 3."]},
        )
    return payload_version


IF_MATCH = {
    "name": "If-Match",
    "in": "header",
    "required": False,
    "schema": {"type": "string"},
    "description": "The version (quote) or revision (cost sheet) you read; a stale one is 409 CONFLICT",
}


def _lines(payload_lines) -> list[dict] | None:
    if payload_lines is None:
        return None
    return [{k: v for k, v in line.dict().items() if v is not None or k == "id"} for line in payload_lines]


# ---- quotes -------------------------------------------------------------------------------------------------


@router.get("quotes", response=QuoteList, summary="List quotes (?status=&customer_id=&q=)")
def list_quotes(request, params: Query[QuoteListParams]):
    filters = selectors.QuoteFilters(
        status=[str(s) for s in params.status],
        customer_id=params.customer_id,
        branch_id=params.branch_id,
        valid_from=params.valid_from,
        valid_to=params.valid_to,
        q=params.q,
    )
    errors = filters.errors()
    if errors:
        raise ValidationFailed("Invalid filters.", errors)
    qs = selectors.filter_quotes(selectors.quotes_for(request.user), filters)
    page = paginate(
        qs,
        params=request.GET,
        path=request.path,
        allowed_orderings=selectors.LIST_ORDERINGS,
        default_ordering="-created_at",
    )
    return {"items": page.items, "count": page.count, "next": page.next}


@router.post("quotes", response={201: QuoteOut}, summary="Create a draft quote")
def create_quote(request, payload: QuoteCreate):
    data = payload.dict()
    data["lines"] = _lines(payload.lines)
    if data.get("vat_rate") is None:
        data.pop("vat_rate")
    quote = services.create_quote(request.user, data)
    return Status(201, quote_out(_quote(request, quote.pk), request.user))


@router.get(
    "quotes/{quote_id}", response=QuoteOut, summary="A quote with its lines, totals and allowed actions"
)
def get_quote(request, quote_id: UUID):
    return quote_out(_quote(request, quote_id), request.user)


@router.patch(
    "quotes/{quote_id}",
    response={200: QuoteOut, 428: ErrorOut},
    summary="Edit a draft; send If-Match: <version>",
    description="Send the `version` you read as `If-Match: <version>` (or as `version` in the body). "
    "Without it the answer is 428 PRECONDITION_REQUIRED; when someone changed the quote meanwhile it is "
    "409 CONFLICT and nothing changes.",
    openapi_extra={"parameters": [IF_MATCH]},
)
def update_quote(request, quote_id: UUID, payload: QuotePatch):
    quote = _quote(request, quote_id)  # 404, then the role (403), before the precondition (428)
    permissions.require(request.user, "quote.edit", quote)
    data = payload.dict(exclude_unset=True)
    version = _version_from(request, data.pop("version", None), required=True)
    if "lines" in data:
        data["lines"] = _lines(payload.lines) or []
    services.update_quote(request.user, quote_id, data, expected_version=version)
    return quote_out(_quote(request, quote_id), request.user)


@router.post(
    "quotes/{quote_id}/submit",
    response=QuoteOut,
    summary="draft → pending approval",
    openapi_extra={"parameters": [IF_MATCH]},
)
def submit_quote(request, quote_id: UUID, payload: EmptyIn | None = None):
    _quote(request, quote_id)
    services.submit_quote(request.user, quote_id, _version_from(request, None))
    return quote_out(_quote(request, quote_id), request.user)


@router.post(
    "quotes/{quote_id}/approve",
    response=QuoteOut,
    summary="Approve (manager or finance, not the submitter)",
    openapi_extra={"parameters": [IF_MATCH]},
)
def approve_quote(request, quote_id: UUID, payload: QuoteApproveIn | None = None):
    _quote(request, quote_id)
    services.approve_quote(
        request.user, quote_id, payload.notes if payload else "", _version_from(request, None)
    )
    return quote_out(_quote(request, quote_id), request.user)


@router.post(
    "quotes/{quote_id}/reject",
    response=QuoteOut,
    summary="Back to draft (reason required)",
    openapi_extra={"parameters": [IF_MATCH]},
)
def reject_quote(request, quote_id: UUID, payload: ReasonIn):
    _quote(request, quote_id)
    services.reject_quote(request.user, quote_id, payload.reason, _version_from(request, None))
    return quote_out(_quote(request, quote_id), request.user)


@router.post(
    "quotes/{quote_id}/send",
    response=QuoteOut,
    summary="E-mail the PDF and a review link; answers with review_url",
    openapi_extra={"parameters": [IF_MATCH]},
)
def send_quote(request, quote_id: UUID, payload: SendIn | None = None):
    _quote(request, quote_id)
    _sent, url = services.send_quote(
        request.user, quote_id, payload.email if payload else "", _version_from(request, None)
    )
    return quote_out(_quote(request, quote_id), request.user, review_url=url)


# ---- cost sheets ----------------------------------------------------------------------------------------------


@router.get("cost-sheets", response=CostSheetList, summary="Cost sheets (?quote_id=), newest version first")
def list_cost_sheets(
    request, quote_id: UUID | None = None, limit: int | None = None, cursor: str | None = None
):
    qs = selectors.cost_sheets_for(request.user)
    if quote_id:
        qs = qs.filter(quote_id=quote_id)
    page = paginate(
        qs,
        params=request.GET,
        path=request.path,
        allowed_orderings={"created_at", "version"},
        default_ordering="-created_at",
    )
    return {"items": [sheet_out(s, request.user) for s in page.items], "count": page.count, "next": page.next}


@router.post(
    "cost-sheets", response={201: CostSheetOut}, summary="A new cost-sheet version for a draft quote"
)
def create_cost_sheet(request, payload: CostSheetCreate):
    data = payload.dict()
    data["lines"] = [{k: v for k, v in line.dict().items() if v is not None} for line in payload.lines]
    sheet = services.create_cost_sheet(request.user, data)
    return Status(201, sheet_out(_sheet(request, sheet.pk), request.user))


@router.get("cost-sheets/{sheet_id}", response=CostSheetOut, summary="A cost sheet, priced line by line")
def get_cost_sheet(request, sheet_id: UUID):
    return sheet_out(_sheet(request, sheet_id), request.user)


def _sheet_action(request, sheet_id, fn):
    _sheet(request, sheet_id)
    fn(_version_from(request, None))
    return sheet_out(_sheet(request, sheet_id), request.user)


@router.patch(
    "cost-sheets/{sheet_id}",
    response={200: CostSheetOut, 428: ErrorOut},
    summary="Edit a draft (or rejected) sheet; send If-Match: <revision>",
    description="Percentages and the lines' costs you send replace the sheet's; omitted ones stay. Send the "
    "`revision` you read as `If-Match: <revision>` (or as `revision` in the body): without it 428 "
    "PRECONDITION_REQUIRED, a stale one 409 CONFLICT. A rejected sheet edited goes back to draft.",
    openapi_extra={"parameters": [IF_MATCH]},
)
def update_cost_sheet(request, sheet_id: UUID, payload: CostSheetPatch):
    sheet = _sheet(request, sheet_id)  # 404, then the role (403), before the precondition (428)
    permissions.require(request.user, "cost_sheet.edit", sheet.quote)
    data = payload.dict(exclude_unset=True)
    revision = _version_from(request, data.pop("revision", None), required=True)
    if payload.lines is not None:
        data["lines"] = [{k: v for k, v in line.dict().items() if v is not None} for line in payload.lines]
    services.update_cost_sheet(request.user, sheet_id, data, revision)
    return sheet_out(_sheet(request, sheet_id), request.user)


@router.post(
    "cost-sheets/{sheet_id}/submit",
    response=CostSheetOut,
    summary="draft → pending approval",
    openapi_extra={"parameters": [IF_MATCH]},
)
def submit_cost_sheet(request, sheet_id: UUID, payload: EmptyIn | None = None):
    return _sheet_action(request, sheet_id, lambda v: services.submit_cost_sheet(request.user, sheet_id, v))


@router.post(
    "cost-sheets/{sheet_id}/approve",
    response=CostSheetOut,
    summary="Approve (manager or finance, not the submitter)",
    openapi_extra={"parameters": [IF_MATCH]},
)
def approve_cost_sheet(request, sheet_id: UUID, payload: QuoteApproveIn | None = None):
    notes = payload.notes if payload else ""
    return _sheet_action(
        request, sheet_id, lambda v: services.approve_cost_sheet(request.user, sheet_id, notes, v)
    )


@router.post(
    "cost-sheets/{sheet_id}/reject",
    response=CostSheetOut,
    summary="Reject (reason required)",
    openapi_extra={"parameters": [IF_MATCH]},
)
def reject_cost_sheet(request, sheet_id: UUID, payload: ReasonIn):
    return _sheet_action(
        request, sheet_id, lambda v: services.reject_cost_sheet(request.user, sheet_id, payload.reason, v)
    )


@router.post(
    "cost-sheets/{sheet_id}/apply",
    response=CostSheetOut,
    summary="Copy the suggested rates onto the quote",
    openapi_extra={"parameters": [IF_MATCH]},
)
def apply_cost_sheet(request, sheet_id: UUID, payload: EmptyIn | None = None):
    return _sheet_action(request, sheet_id, lambda v: services.apply_cost_sheet(request.user, sheet_id, v))
