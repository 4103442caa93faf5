"""Read queries for reference data, scoped to the user's branches and free of N+1."""

from django.db.models import Q, QuerySet

from accounts.permissions import scope_to_branches, visible_branch_ids

from .models import Branch, Customer, RentalAgreement, SpecialRateCode, TaxProfile, Vehicle, VehicleClass


def branches_for(user) -> QuerySet[Branch]:
    ids = visible_branch_ids(user)
    qs = Branch.objects.all()
    return qs if ids is None else qs.filter(id__in=ids)


def customers_for(user, q: str = "") -> QuerySet[Customer]:
    # Customers are shared across branches (one person rents anywhere).
    qs = Customer.objects.all()
    if q:
        qs = qs.filter(
            Q(full_name__icontains=q)
            | Q(customer_no__icontains=q)
            | Q(phone__icontains=q)
            | Q(email__icontains=q)
            | Q(national_id__icontains=q)
        )
    return qs


def vehicle_classes() -> QuerySet[VehicleClass]:
    return VehicleClass.objects.all()


def vehicles_for(user, q: str = "") -> QuerySet[Vehicle]:
    qs = scope_to_branches(Vehicle.objects.select_related("vehicle_class", "branch"), user)
    if q:
        qs = qs.filter(
            Q(plate__icontains=q) | Q(vin__icontains=q) | Q(make__icontains=q) | Q(model__icontains=q)
        )
    return qs


def agreements_for(user, q: str = "") -> QuerySet[RentalAgreement]:
    qs = scope_to_branches(
        RentalAgreement.objects.select_related("customer", "vehicle", "vehicle__vehicle_class", "branch"),
        user,
    )
    if q:
        qs = qs.filter(
            Q(agreement_no__icontains=q)
            | Q(customer__full_name__icontains=q)
            | Q(vehicle__plate__icontains=q)
        )
    return qs


def special_rate_codes() -> QuerySet[SpecialRateCode]:
    return SpecialRateCode.objects.all()


def tax_profiles() -> QuerySet[TaxProfile]:
    return TaxProfile.objects.all()


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
