"""REST endpoints for reference data (DESIGN §3, §15): list, retrieve, create, update."""

from datetime import date, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated
from uuid import UUID

from django.shortcuts import get_object_or_404
from ninja import Field, Query, Router, Schema
from ninja.responses import Status
from pydantic import AwareDatetime, ConfigDict, PlainSerializer, create_model
from pydantic.fields import FieldInfo

from core.errors import ValidationFailed
from core.pagination import paginate

from . import selectors, services
from .choices import AgreementStatus, CustomerKind, VehicleStatus
from .models import Branch, Customer, RentalAgreement, SpecialRateCode, TaxProfile, Vehicle, VehicleClass

router = Router()

Money = Decimal
# Responses carry money (and percentages) as a string with exactly 2 places (DESIGN §15.1),
# also for an instance just saved from input such as "135" or "7.5".
MoneyOut = Annotated[
    Decimal,
    PlainSerializer(lambda v: str(v.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)), return_type=str),
]


class Input(Schema):
    """Request bodies: surrounding spaces are dropped, so "  " counts as empty.

    Times in requests are `AwareDatetime`: ISO-8601 with an offset (DESIGN §15.1); a time
    without one is a field error instead of a naive/aware comparison failing later.
    """

    model_config = ConfigDict(str_strip_whitespace=True)


# ---- shared list plumbing ---------------------------------------------------------------


class ListParams(Schema):
    q: str = ""
    limit: int | None = Field(None, ge=1, le=200)
    cursor: str | None = None
    page: int | None = Field(None, ge=1)
    ordering: str | None = None


def _list(request, qs, out_schema, listing: selectors.Listing):
    """One page of `qs`, sorted as `listing` allows (the same orderings as the list page)."""
    page = paginate(
        qs,
        params=request.GET,
        path=request.path,
        allowed_orderings=listing.orderings,
        default_ordering=listing.default_ordering,
    )
    return {"items": [out_schema.from_orm(obj) for obj in page.items], "count": page.count, "next": page.next}


def partial(schema: type[Schema], name: str) -> type[Schema]:
    """`schema` with every field optional (default None) and its constraints kept: the PATCH body
    derived from the create body, so the two cannot drift."""
    fields = {
        field_name: (info.annotation | None, FieldInfo.merge_field_infos(info, default=None))
        for field_name, info in schema.model_fields.items()
    }
    return create_model(name, __base__=Input, __module__=__name__, **fields)


def _resolve_refs(data: dict, user) -> dict:
    """Turn `<name>_id` references into objects the user may see (unknown → field error)."""
    lookups = {
        "branch_id": ("branch", lambda: selectors.branches_for(user)),
        "vehicle_class_id": ("vehicle_class", selectors.vehicle_classes),
        "customer_id": ("customer", lambda: selectors.customers_for(user)),
        "vehicle_id": ("vehicle", lambda: selectors.vehicles_for(user)),
    }
    resolved = {}
    for key, value in data.items():
        if key in lookups:
            name, qs = lookups[key]
            obj = qs().filter(pk=value).first()
            if obj is None:
                raise ValidationFailed(
                    "Unknown reference.", {key: ["No such record (or not in your branches)."]}
                )
            resolved[name] = obj
        else:
            resolved[key] = value
    return resolved


def _save(request, instance, payload, exclude_unset: bool):
    # The role first: a role that may not create or edit gets 403 whatever the body names (resolving
    # the references would otherwise answer a 422 about a branch before the role was asked).
    services.require_role(request.user, instance)
    data = payload.dict(exclude_unset=exclude_unset)
    return services.save_record(request.user, instance, _resolve_refs(data, request.user))


# ---- branches ----------------------------------------------------------------------------


class BranchIn(Input):
    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=120)
    city: str = ""
    timezone: str = "Asia/Dubai"
    active: bool = True


BranchPatch = partial(BranchIn, "BranchPatch")


class BranchOut(Schema):
    id: UUID
    code: str
    name: str
    city: str
    timezone: str
    active: bool
    created_at: datetime
    updated_at: datetime


class BranchList(Schema):
    items: list[BranchOut]
    count: int
    next: str | None


@router.get("branches", response=BranchList, tags=["branches"])
def list_branches(request, params: Query[ListParams]):
    qs = selectors.branches_for(request.user, params.q)
    return _list(request, qs, BranchOut, selectors.LISTINGS["branch"])


@router.get("branches/{branch_id}", response=BranchOut, tags=["branches"])
def get_branch(request, branch_id: UUID):
    return get_object_or_404(selectors.branches_for(request.user), pk=branch_id)


@router.post("branches", response={201: BranchOut}, tags=["branches"])
def create_branch(request, payload: BranchIn):
    return Status(201, _save(request, Branch(), payload, exclude_unset=False))


@router.patch("branches/{branch_id}", response=BranchOut, tags=["branches"])
def update_branch(request, branch_id: UUID, payload: BranchPatch):
    obj = get_object_or_404(selectors.branches_for(request.user), pk=branch_id)
    return _save(request, obj, payload, exclude_unset=True)


# ---- customers ---------------------------------------------------------------------------


class CustomerIn(Input):
    customer_no: str = Field(min_length=1, max_length=30)
    kind: CustomerKind = CustomerKind.PERSON
    full_name: str = Field(min_length=1, max_length=200)
    email: str = ""
    phone: str = ""
    national_id: str = ""
    driving_licence_no: str = ""
    driving_licence_expiry: date | None = None
    address: str = ""
    notes: str = ""
    active: bool = True


CustomerPatch = partial(CustomerIn, "CustomerPatch")


class CustomerOut(Schema):
    id: UUID
    customer_no: str
    kind: str
    full_name: str
    email: str
    phone: str
    national_id: str
    driving_licence_no: str
    driving_licence_expiry: date | None
    address: str
    notes: str
    active: bool
    created_at: datetime
    updated_at: datetime


class CustomerList(Schema):
    items: list[CustomerOut]
    count: int
    next: str | None


class CustomerFilters(ListParams):
    kind: CustomerKind | None = None
    active: bool | None = None


@router.get("customers", response=CustomerList, tags=["customers"])
def list_customers(request, params: Query[CustomerFilters]):
    qs = selectors.customers_for(request.user, params.q)
    if params.kind:
        qs = qs.filter(kind=params.kind)
    if params.active is not None:
        qs = qs.filter(active=params.active)
    return _list(request, qs, CustomerOut, selectors.LISTINGS["customer"])


@router.get("customers/{customer_id}", response=CustomerOut, tags=["customers"])
def get_customer(request, customer_id: UUID):
    return get_object_or_404(selectors.customers_for(request.user), pk=customer_id)


@router.post("customers", response={201: CustomerOut}, tags=["customers"])
def create_customer(request, payload: CustomerIn):
    return Status(201, _save(request, Customer(), payload, exclude_unset=False))


@router.patch("customers/{customer_id}", response=CustomerOut, tags=["customers"])
def update_customer(request, customer_id: UUID, payload: CustomerPatch):
    obj = get_object_or_404(selectors.customers_for(request.user), pk=customer_id)
    return _save(request, obj, payload, exclude_unset=True)


# ---- vehicle classes ---------------------------------------------------------------------


class VehicleClassIn(Input):
    code: str = Field(min_length=1, max_length=20)
    name: str = Field(min_length=1, max_length=80)
    daily_rate: Money = Field(ge=0, max_digits=12, decimal_places=2)
    monthly_rate: Money = Field(ge=0, max_digits=12, decimal_places=2)


VehicleClassPatch = partial(VehicleClassIn, "VehicleClassPatch")


class VehicleClassOut(Schema):
    id: UUID
    code: str
    name: str
    daily_rate: MoneyOut
    monthly_rate: MoneyOut


class VehicleClassList(Schema):
    items: list[VehicleClassOut]
    count: int
    next: str | None


@router.get("vehicle-classes", response=VehicleClassList, tags=["vehicle classes"])
def list_vehicle_classes(request, params: Query[ListParams]):
    qs = selectors.vehicle_classes(params.q)
    return _list(request, qs, VehicleClassOut, selectors.LISTINGS["vehicle_class"])


@router.get("vehicle-classes/{vehicle_class_id}", response=VehicleClassOut, tags=["vehicle classes"])
def get_vehicle_class(request, vehicle_class_id: UUID):
    return get_object_or_404(VehicleClass, pk=vehicle_class_id)


@router.post("vehicle-classes", response={201: VehicleClassOut}, tags=["vehicle classes"])
def create_vehicle_class(request, payload: VehicleClassIn):
    return Status(201, _save(request, VehicleClass(), payload, exclude_unset=False))


@router.patch("vehicle-classes/{vehicle_class_id}", response=VehicleClassOut, tags=["vehicle classes"])
def update_vehicle_class(request, vehicle_class_id: UUID, payload: VehicleClassPatch):
    return _save(request, get_object_or_404(VehicleClass, pk=vehicle_class_id), payload, exclude_unset=True)


# ---- vehicles ----------------------------------------------------------------------------


class CodeRef(Schema):
    id: UUID
    code: str


class VehicleIn(Input):
    plate: str = Field(min_length=1, max_length=20)
    vin: str = Field(min_length=17, max_length=17)
    make: str = Field(min_length=1, max_length=50)
    model: str = Field(min_length=1, max_length=50)
    year: int = Field(ge=1980, le=2100)
    vehicle_class_id: UUID
    branch_id: UUID
    status: VehicleStatus = VehicleStatus.AVAILABLE
    odometer_km: int = Field(0, ge=0)
    fuel_level: int = Field(8, ge=0, le=8)
    registration_expiry: date | None = None
    insurance_expiry: date | None = None


VehiclePatch = partial(VehicleIn, "VehiclePatch")


class VehicleOut(Schema):
    id: UUID
    plate: str
    vin: str
    make: str
    model: str
    year: int
    vehicle_class_id: UUID
    vehicle_class: CodeRef
    branch_id: UUID
    branch: CodeRef
    status: str
    odometer_km: int
    fuel_level: int
    registration_expiry: date | None
    insurance_expiry: date | None
    created_at: datetime
    updated_at: datetime


class VehicleList(Schema):
    items: list[VehicleOut]
    count: int
    next: str | None


class VehicleFilters(ListParams):
    status: list[VehicleStatus] = Field(default_factory=list)
    branch_id: UUID | None = None
    vehicle_class_id: UUID | None = None


@router.get("vehicles", response=VehicleList, tags=["vehicles"])
def list_vehicles(request, params: Query[VehicleFilters]):
    qs = selectors.vehicles_for(request.user, params.q)
    if params.status:
        qs = qs.filter(status__in=params.status)
    if params.branch_id:
        qs = qs.filter(branch_id=params.branch_id)
    if params.vehicle_class_id:
        qs = qs.filter(vehicle_class_id=params.vehicle_class_id)
    return _list(request, qs, VehicleOut, selectors.LISTINGS["vehicle"])


class AvailabilityParams(Schema):
    from_: AwareDatetime | None = Field(None, alias="from")
    to: AwareDatetime | None = None
    branch_id: UUID | None = None
    vehicle_class_id: UUID | None = None
    limit: int | None = Field(None, ge=1, le=200)
    cursor: str | None = None
    page: int | None = Field(None, ge=1)
    ordering: str | None = None


@router.get(
    "vehicles/available",
    response=VehicleList,
    tags=["vehicles"],
    summary="Vehicles free to hand over in a period",
)
def available_vehicles(request, params: Query[AvailabilityParams]):
    if params.from_ and params.to and params.to <= params.from_:
        raise ValidationFailed("`to` must be after `from`.", {"to": ["Must be after from."]})
    qs = selectors.available_vehicles_for(
        request.user,
        start=params.from_,
        end=params.to,
        branch_id=params.branch_id,
        vehicle_class_id=params.vehicle_class_id,
    )
    return _list(request, qs, VehicleOut, selectors.LISTINGS["vehicle"])


@router.get("vehicles/{vehicle_id}", response=VehicleOut, tags=["vehicles"])
def get_vehicle(request, vehicle_id: UUID):
    return get_object_or_404(selectors.vehicles_for(request.user), pk=vehicle_id)


@router.post("vehicles", response={201: VehicleOut}, tags=["vehicles"])
def create_vehicle(request, payload: VehicleIn):
    return Status(201, _save(request, Vehicle(), payload, exclude_unset=False))


@router.patch("vehicles/{vehicle_id}", response=VehicleOut, tags=["vehicles"])
def update_vehicle(request, vehicle_id: UUID, payload: VehiclePatch):
    obj = get_object_or_404(selectors.vehicles_for(request.user), pk=vehicle_id)
    return _save(request, obj, payload, exclude_unset=True)


# ---- rental agreements -------------------------------------------------------------------


class AgreementIn(Input):
    agreement_no: str = Field(min_length=1, max_length=30)
    customer_id: UUID
    vehicle_id: UUID
    branch_id: UUID
    start_at: AwareDatetime
    end_at: AwareDatetime
    daily_rate: Money = Field(ge=0, max_digits=12, decimal_places=2)
    monthly_rate: Money = Field(ge=0, max_digits=12, decimal_places=2)
    deposit_amount: Money = Field(Decimal("0"), ge=0, max_digits=12, decimal_places=2)
    status: AgreementStatus = AgreementStatus.ACTIVE


AgreementPatch = partial(AgreementIn, "AgreementPatch")


class CustomerRef(Schema):
    id: UUID
    customer_no: str
    full_name: str


class VehicleRef(Schema):
    id: UUID
    plate: str
    make: str
    model: str
    status: str


class AgreementOut(Schema):
    id: UUID
    agreement_no: str
    customer_id: UUID
    customer: CustomerRef
    vehicle_id: UUID
    vehicle: VehicleRef
    branch_id: UUID
    branch: CodeRef
    start_at: datetime
    end_at: datetime
    daily_rate: MoneyOut
    monthly_rate: MoneyOut
    deposit_amount: MoneyOut
    status: str
    created_at: datetime
    updated_at: datetime


class AgreementList(Schema):
    items: list[AgreementOut]
    count: int
    next: str | None


class AgreementFilters(ListParams):
    status: list[AgreementStatus] = Field(default_factory=list)
    branch_id: UUID | None = None
    customer_id: UUID | None = None
    vehicle_id: UUID | None = None


@router.get("agreements", response=AgreementList, tags=["agreements"])
def list_agreements(request, params: Query[AgreementFilters]):
    qs = selectors.agreements_for(request.user, params.q)
    if params.status:
        qs = qs.filter(status__in=params.status)
    for name in ("branch_id", "customer_id", "vehicle_id"):
        if getattr(params, name):
            qs = qs.filter(**{name: getattr(params, name)})
    return _list(request, qs, AgreementOut, selectors.LISTINGS["agreement"])


@router.get("agreements/{agreement_id}", response=AgreementOut, tags=["agreements"])
def get_agreement(request, agreement_id: UUID):
    return get_object_or_404(selectors.agreements_for(request.user), pk=agreement_id)


@router.post("agreements", response={201: AgreementOut}, tags=["agreements"])
def create_agreement(request, payload: AgreementIn):
    return Status(201, _save(request, RentalAgreement(), payload, exclude_unset=False))


@router.patch("agreements/{agreement_id}", response=AgreementOut, tags=["agreements"])
def update_agreement(request, agreement_id: UUID, payload: AgreementPatch):
    obj = get_object_or_404(selectors.agreements_for(request.user), pk=agreement_id)
    return _save(request, obj, payload, exclude_unset=True)


# ---- special rate codes and tax profiles ---------------------------------------------------


class SpecialRateCodeIn(Input):
    code: str = Field(min_length=1, max_length=20)
    description: str = ""
    daily_rate: Money = Field(ge=0, max_digits=12, decimal_places=2)
    active: bool = True


SpecialRateCodePatch = partial(SpecialRateCodeIn, "SpecialRateCodePatch")


class SpecialRateCodeOut(Schema):
    id: UUID
    code: str
    description: str
    daily_rate: MoneyOut
    active: bool


class SpecialRateCodeList(Schema):
    items: list[SpecialRateCodeOut]
    count: int
    next: str | None


@router.get("special-rate-codes", response=SpecialRateCodeList, tags=["rates and tax"])
def list_special_rate_codes(request, params: Query[ListParams]):
    qs = selectors.special_rate_codes(params.q)
    return _list(request, qs, SpecialRateCodeOut, selectors.LISTINGS["special_rate_code"])


@router.get("special-rate-codes/{code_id}", response=SpecialRateCodeOut, tags=["rates and tax"])
def get_special_rate_code(request, code_id: UUID):
    return get_object_or_404(SpecialRateCode, pk=code_id)


@router.post("special-rate-codes", response={201: SpecialRateCodeOut}, tags=["rates and tax"])
def create_special_rate_code(request, payload: SpecialRateCodeIn):
    return Status(201, _save(request, SpecialRateCode(), payload, exclude_unset=False))


@router.patch("special-rate-codes/{code_id}", response=SpecialRateCodeOut, tags=["rates and tax"])
def update_special_rate_code(request, code_id: UUID, payload: SpecialRateCodePatch):
    return _save(request, get_object_or_404(SpecialRateCode, pk=code_id), payload, exclude_unset=True)


class TaxProfileIn(Input):
    name: str = Field(min_length=1, max_length=80)
    rate_percent: Decimal = Field(ge=0, le=100, max_digits=5, decimal_places=2)
    is_default: bool = False


TaxProfilePatch = partial(TaxProfileIn, "TaxProfilePatch")


class TaxProfileOut(Schema):
    id: UUID
    name: str
    rate_percent: MoneyOut
    is_default: bool


class TaxProfileList(Schema):
    items: list[TaxProfileOut]
    count: int
    next: str | None


@router.get("tax-profiles", response=TaxProfileList, tags=["rates and tax"])
def list_tax_profiles(request, params: Query[ListParams]):
    qs = selectors.tax_profiles(params.q)
    return _list(request, qs, TaxProfileOut, selectors.LISTINGS["tax_profile"])


@router.get("tax-profiles/{profile_id}", response=TaxProfileOut, tags=["rates and tax"])
def get_tax_profile(request, profile_id: UUID):
    return get_object_or_404(TaxProfile, pk=profile_id)


@router.post("tax-profiles", response={201: TaxProfileOut}, tags=["rates and tax"])
def create_tax_profile(request, payload: TaxProfileIn):
    return Status(201, _save(request, TaxProfile(), payload, exclude_unset=False))


@router.patch("tax-profiles/{profile_id}", response=TaxProfileOut, tags=["rates and tax"])
def update_tax_profile(request, profile_id: UUID, payload: TaxProfilePatch):
    return _save(request, get_object_or_404(TaxProfile, pk=profile_id), payload, exclude_unset=True)
