"""Charges, payments and holds in the REST API (DESIGN §8, §15.1)."""

from datetime import date, datetime
from decimal import Decimal
from uuid import UUID

from django.shortcuts import get_object_or_404
from django.urls import reverse
from ninja import Field, Query, Router, Schema
from ninja.responses import Status
from pydantic import AwareDatetime

from core.errors import ValidationFailed
from core.pagination import paginate
from custodies.api import BalanceOut
from custodies.selectors import custodies_for

from . import selectors, services
from .choices import ChargeStatus, ChargeType, PaymentMethod, Responsibility
from .models import DamageHold

router = Router(tags=["charges and payments"])

Money = Decimal


class ChargeIn(Schema):
    charge_type: ChargeType
    description: str = Field(min_length=1, max_length=200)
    quantity: Decimal = Field(Decimal("1"), gt=0, max_digits=10, decimal_places=3)
    unit_price: Money = Field(ge=0, max_digits=12, decimal_places=2)
    tax_rate: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)
    responsibility: Responsibility


class ChargePatch(Schema):
    version: int | None = None
    charge_type: ChargeType | None = None
    description: str | None = Field(None, min_length=1, max_length=200)
    quantity: Decimal | None = Field(None, gt=0, max_digits=10, decimal_places=3)
    unit_price: Money | None = Field(None, ge=0, max_digits=12, decimal_places=2)
    tax_rate: Decimal | None = Field(None, ge=0, le=100, max_digits=5, decimal_places=2)
    responsibility: Responsibility | None = None


class ChargeOut(Schema):
    id: UUID
    custody_id: UUID
    charge_type: str
    description: str
    quantity: Decimal
    unit_price: Money
    tax_rate: Decimal
    subtotal: Money
    tax_amount: Money
    total: Money
    amount_paid: Money
    responsibility: str
    status: str
    system_computed: bool
    invoice_ref: str
    invoice_id: UUID | None
    created_by_id: UUID | None
    created_at: datetime
    posted_by_id: UUID | None
    posted_at: datetime | None
    voided_at: datetime | None
    void_reason: str
    version: int

    @staticmethod
    def resolve_system_computed(obj):
        return bool(obj.system_key)


class ChargeList(Schema):
    items: list[ChargeOut]
    count: int
    next: str | None


class VoidIn(Schema):
    reason: str = Field(min_length=1, max_length=2000)


class PaymentIn(Schema):
    amount: Money = Field(max_digits=12, decimal_places=2)
    method: PaymentMethod
    payer: Responsibility
    reference: str = Field("", max_length=80)
    received_at: AwareDatetime | None = None
    reason: str = ""
    as_credit: bool = Field(
        False,
        description="Take more than the payer owes on purpose (a deposit or credit); "
        "without it such a payment is refused with a field error on `amount`.",
    )


class PaymentOut(Schema):
    id: UUID
    custody_id: UUID
    amount: Money
    method: str
    payer: str
    reference: str
    reason: str
    is_credit: bool
    received_at: datetime
    recorded_by_id: UUID | None
    created_at: datetime


class PaymentList(Schema):
    items: list[PaymentOut]
    count: int
    next: str | None


class HoldIn(Schema):
    amount: Money = Field(gt=0, max_digits=12, decimal_places=2)
    reference: str = Field("", max_length=80)


class CaptureIn(Schema):
    amount: Money | None = Field(None, gt=0, max_digits=12, decimal_places=2)


class HoldOut(Schema):
    id: UUID
    custody_id: UUID
    amount: Money
    reference: str
    status: str
    captured_amount: Money
    capture_payment_id: UUID | None
    created_at: datetime
    settled_at: datetime | None


class ChargeFilters(Schema):
    status: list[ChargeStatus] = Field(default_factory=list)
    charge_type: list[ChargeType] = Field(default_factory=list)
    responsibility: list[Responsibility] = Field(default_factory=list)
    branch_id: UUID | None = None
    custody_id: UUID | None = None
    date_from: date | None = None
    date_to: date | None = None
    limit: int | None = Field(None, ge=1, le=200)
    cursor: str | None = None
    page: int | None = Field(None, ge=1)
    ordering: str | None = None


def _custody(request, custody_id):
    return get_object_or_404(custodies_for(request.user), pk=custody_id)


def _charge(request, charge_id):
    return get_object_or_404(selectors.charges_for(request.user), pk=charge_id)


@router.get("custodies/{custody_id}/charges", response=ChargeList)
def list_charges(request, custody_id: UUID):
    custody = _custody(request, custody_id)
    items = list(custody.charges.order_by("created_at"))
    return {"items": items, "count": len(items), "next": None}


@router.post("custodies/{custody_id}/charges", response={201: ChargeOut})
def add_charge(request, custody_id: UUID, payload: ChargeIn):
    # A custody outside the user's branches is a 404 before anything else: the service's first step
    # is locking it, scoped to the user's branches (Custody.DoesNotExist answers 404).
    return Status(201, services.add_charge(request.user, custody_id, payload.dict()))


@router.get("charges", response=ChargeList, summary="Charges across custodies (finance list)")
def finance_list(request, params: Query[ChargeFilters]):
    if params.date_from and params.date_to and params.date_to < params.date_from:
        raise ValidationFailed("Invalid period.", {"date_to": ["Must not be before date_from."]})
    qs = selectors.filter_charges(selectors.charges_for(request.user), params)
    page = paginate(
        qs,
        params=request.GET,
        path=request.path,
        allowed_orderings=selectors.ORDERINGS,
        default_ordering="-created_at",
    )
    return {"items": page.items, "count": page.count, "next": page.next}


@router.get("charges/{charge_id}", response=ChargeOut)
def get_charge(request, charge_id: UUID):
    return _charge(request, charge_id)


@router.patch("charges/{charge_id}", response=ChargeOut, summary="Edit a draft charge")
def update_charge(request, charge_id: UUID, payload: ChargePatch):
    _charge(request, charge_id)
    data = payload.dict(exclude_unset=True)
    version = data.pop("version", None)
    header = request.headers.get("If-Match", "").strip('" ')
    if header.isdigit():
        version = int(header)
    return services.update_charge(request.user, charge_id, data, expected_version=version)


@router.post("charges/{charge_id}/post", response=ChargeOut)
def post_charge(request, charge_id: UUID):
    _charge(request, charge_id)
    return services.post_charge(request.user, charge_id)


@router.post("charges/{charge_id}/void", response=ChargeOut)
def void_charge(request, charge_id: UUID, payload: VoidIn):
    _charge(request, charge_id)
    return services.void_charge(request.user, charge_id, payload.reason)


@router.get("custodies/{custody_id}/payments", response=PaymentList)
def list_payments(request, custody_id: UUID):
    custody = _custody(request, custody_id)
    items = list(custody.payments.order_by("received_at", "created_at"))
    return {"items": items, "count": len(items), "next": None}


@router.post(
    "custodies/{custody_id}/payments",
    response={201: PaymentOut},
    summary="Record a payment (negative amount = refund, reason required); honours Idempotency-Key",
)
def record_payment(request, custody_id: UUID, payload: PaymentIn):
    # 404 outside the user's branches: the service locks the custody first, scoped (see add_charge).
    return Status(201, services.record_payment(request.user, custody_id, payload.dict()))


class InvoiceIn(Schema):
    payers: list[Responsibility] = Field(
        default_factory=list, description="Payers to invoice; empty: every payer with posted charges."
    )
    names: dict[str, str] = Field(
        default_factory=dict,
        description="Bill-to names by payer (insurance, third_party) when the custody does not name them.",
    )


class InvoiceOut(Schema):
    id: UUID
    invoice_no: str
    custody_id: UUID
    payer: str
    bill_to_name: str
    subtotal: Money
    tax_amount: Money
    total: Money
    currency: str
    issued_at: datetime
    issued_by_id: UUID | None
    charge_ids: list[UUID]
    pdf_url: str

    @staticmethod
    def resolve_charge_ids(obj):
        return [c.pk for c in obj.charges.all()]

    @staticmethod
    def resolve_pdf_url(obj):
        return reverse("billing:invoice_pdf", args=[obj.pk])


@router.get("custodies/{custody_id}/invoices", response=list[InvoiceOut])
def list_invoices(request, custody_id: UUID):
    return list(_custody(request, custody_id).invoices.prefetch_related("charges").order_by("issued_at"))


@router.post(
    "custodies/{custody_id}/invoices",
    response={201: list[InvoiceOut]},
    summary="Invoice posted charges: one tax invoice per payer (posted → invoiced)",
    description="Finance and admins. 409 INVALID_TRANSITION when nothing posted is left to invoice.",
)
def issue_invoices(request, custody_id: UUID, payload: InvoiceIn | None = None):
    _custody(request, custody_id)
    payers = [str(p) for p in payload.payers] if payload else []
    names = payload.names if payload else {}
    return Status(201, services.issue_invoices(request.user, custody_id, payers or None, names))


@router.get("custodies/{custody_id}/balance", response=BalanceOut)
def get_balance(request, custody_id: UUID):
    return services.balance(_custody(request, custody_id)).as_dict()


@router.get("custodies/{custody_id}/holds", response=list[HoldOut])
def list_holds(request, custody_id: UUID):
    return list(_custody(request, custody_id).damage_holds.all())


@router.post("custodies/{custody_id}/holds", response={201: HoldOut}, summary="Record a damage hold")
def record_hold(request, custody_id: UUID, payload: HoldIn):
    _custody(request, custody_id)
    return Status(201, services.record_hold(request.user, custody_id, payload.amount, payload.reference))


def _hold(request, hold_id):
    custody_ids = custodies_for(request.user).values("id")
    return get_object_or_404(DamageHold.objects.filter(custody_id__in=custody_ids), pk=hold_id)


@router.post("holds/{hold_id}/capture", response=PaymentOut, summary="Capture a hold (becomes a payment)")
def capture_hold(request, hold_id: UUID, payload: CaptureIn | None = None):
    _hold(request, hold_id)
    return services.capture_hold(request.user, hold_id, payload.amount if payload else None)


@router.post("holds/{hold_id}/release", response=HoldOut)
def release_hold(request, hold_id: UUID):
    _hold(request, hold_id)
    return services.release_hold(request.user, hold_id)
