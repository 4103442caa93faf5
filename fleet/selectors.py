"""Read queries for reference data, scoped to the user's branches and free of N+1."""

from collections.abc import Callable
from dataclasses import dataclass
from functools import reduce
from operator import or_

from django.core.exceptions import ValidationError
from django.db.models import Q, QuerySet

from accounts.permissions import in_branch, scope_to_branches, visible_branch_ids
from core import rawsql

from .models import Branch, Customer, RentalAgreement, SpecialRateCode, TaxProfile, Vehicle, VehicleClass


@dataclass(frozen=True)
class Listing:
    """One reference list as both its page and its API endpoint serve it: the rows a user may see,
    the fields `q` searches, the orderings a client may ask for and the default one."""

    rows: Callable[[object], QuerySet]
    search: tuple[str, ...]
    orderings: frozenset[str]
    default_ordering: str

    def for_user(self, user, q: str = "") -> QuerySet:
        qs = self.rows(user)
        if q:
            qs = qs.filter(reduce(or_, (Q(**{f"{name}__icontains": q}) for name in self.search)))
        return qs


def _branch_rows(user) -> QuerySet[Branch]:
    ids = visible_branch_ids(user)
    qs = Branch.objects.all()
    return qs if ids is None else qs.filter(id__in=ids)


LISTINGS: dict[str, Listing] = {
    "branch": Listing(
        _branch_rows,
        search=("code", "name", "city"),
        orderings=frozenset({"code", "name", "city", "timezone", "active", "created_at"}),
        default_ordering="code",
    ),
    # Customers are shared across branches (one person rents anywhere).
    "customer": Listing(
        lambda user: Customer.objects.all(),
        search=("full_name", "customer_no", "phone", "email", "national_id"),
        orderings=frozenset({"customer_no", "full_name", "kind", "phone", "email", "active", "created_at"}),
        default_ordering="full_name",
    ),
    "vehicle_class": Listing(
        lambda user: VehicleClass.objects.all(),
        search=("code", "name"),
        orderings=frozenset({"code", "name", "daily_rate", "monthly_rate", "created_at"}),
        default_ordering="code",
    ),
    "vehicle": Listing(
        lambda user: scope_to_branches(Vehicle.objects.select_related("vehicle_class", "branch"), user),
        search=("plate", "vin", "make", "model"),
        orderings=frozenset(
            {
                "plate",
                "make",
                "year",
                "vehicle_class__code",
                "branch__code",
                "status",
                "odometer_km",
                "created_at",
            }
        ),
        default_ordering="plate",
    ),
    "agreement": Listing(
        lambda user: scope_to_branches(
            RentalAgreement.objects.select_related("customer", "vehicle", "vehicle__vehicle_class", "branch"),
            user,
        ),
        search=("agreement_no", "customer__full_name", "vehicle__plate"),
        orderings=frozenset(
            {
                "agreement_no",
                "customer__full_name",
                "vehicle__plate",
                "branch__code",
                "start_at",
                "end_at",
                "daily_rate",
                "status",
                "created_at",
            }
        ),
        default_ordering="-start_at",
    ),
    "special_rate_code": Listing(
        lambda user: SpecialRateCode.objects.all(),
        search=("code", "description"),
        orderings=frozenset({"code", "daily_rate", "active", "created_at"}),
        default_ordering="code",
    ),
    "tax_profile": Listing(
        lambda user: TaxProfile.objects.all(),
        search=("name",),
        orderings=frozenset({"name", "rate_percent", "is_default", "created_at"}),
        default_ordering="name",
    ),
}


def branches_for(user, q: str = "") -> QuerySet[Branch]:
    return LISTINGS["branch"].for_user(user, q)


def branch_list(user) -> list[Branch]:
    """The user's branches by code, inactive ones included, read once per user object (once per
    request): the list pages' branch filters and the layout's branch switcher share the one query."""
    cached = getattr(user, "_branch_list_cache", None)
    if cached is None:
        cached = list(branches_for(user).order_by("code"))
        user._branch_list_cache = cached
    return cached


def customers_for(user, q: str = "") -> QuerySet[Customer]:
    return LISTINGS["customer"].for_user(user, q)


def vehicle_classes(q: str = "") -> QuerySet[VehicleClass]:
    return LISTINGS["vehicle_class"].for_user(None, q)


def vehicles_for(user, q: str = "") -> QuerySet[Vehicle]:
    return LISTINGS["vehicle"].for_user(user, q)


def agreements_for(user, q: str = "") -> QuerySet[RentalAgreement]:
    return LISTINGS["agreement"].for_user(user, q)


def agreement_for(user, agreement_id) -> RentalAgreement | None:
    """The agreement a new custody names, with its customer, branch and vehicle, if the user may see it
    (agreements_for's scope, checked on the row): read on every create, so the statement is compiled
    once per process (compiling it cost ~1.2 ms, running it ~0.1 ms)."""
    qs = RentalAgreement.objects.select_related("customer", "branch", "vehicle")
    agreement = rawsql.by_key(qs, agreement_id, "fleet.agreement_for")
    return agreement if agreement is not None and in_branch(user, agreement.branch_id) else None


def vehicles_by_id(user, ids) -> dict:
    """{id: vehicle} of the vehicles `ids` name that the user may see (vehicles_for's scope, checked on
    the row), without their references: the original and replacement a custody names, read on every
    create, so the statement is compiled once per process for each number of ids."""
    qs = Vehicle.objects.all()
    try:
        wanted = sorted({Vehicle._meta.pk.to_python(pk) for pk in ids})
        params = [rawsql.db_value(qs, "pk", pk) for pk in wanted]
    except (ValidationError, ValueError, TypeError):
        return {}
    if not wanted:
        return {}
    rows = rawsql.compiled_once(qs.filter(pk__in=wanted), f"fleet.vehicles_by_id.{len(wanted)}", params)
    return {vehicle.pk: vehicle for vehicle in rows if in_branch(user, vehicle.branch_id)}


def special_rate_codes(q: str = "") -> QuerySet[SpecialRateCode]:
    return LISTINGS["special_rate_code"].for_user(None, q)


def tax_profiles(q: str = "") -> QuerySet[TaxProfile]:
    return LISTINGS["tax_profile"].for_user(None, q)


def available_vehicles_for(
    user, *, start=None, end=None, branch_id=None, vehicle_class_id=None
) -> QuerySet[Vehicle]:
    """Vehicles that can be handed over as a replacement in [start, end).

    Status `available`, and not held by an approved/active custody whose period overlaps.
    """
    from .choices import VehicleStatus

    qs = vehicles_for(user).filter(status=VehicleStatus.AVAILABLE)
    if branch_id:
        qs = qs.filter(branch_id=branch_id)
    if vehicle_class_id:
        qs = qs.filter(vehicle_class_id=vehicle_class_id)
    if start is not None:
        for held in _HOLDS:
            qs = qs.exclude(id__in=held(start, end))
    return qs


# Apps above fleet register what holds vehicles over a period (custodies: approved/active custodies),
# as a callable (start, end) -> subquery of vehicle ids.
_HOLDS: list = []


def register_hold(held_vehicle_ids) -> None:
    if held_vehicle_ids not in _HOLDS:
        _HOLDS.append(held_vehicle_ids)
