"""Bulk builders for list, pagination and query-count tests."""

from datetime import timedelta
from decimal import Decimal

from django.forms.models import model_to_dict
from django.utils import timezone

from fleet.models import Customer, RentalAgreement, Vehicle


def make_vehicles(count, branch, vehicle_class, start=1, **extra):
    """`count` vehicles with plates T-00001… and valid, distinct VINs; years cycle through 2020–2024."""
    vehicles = [
        Vehicle(
            plate=f"T-{n:05d}",
            vin=f"JTDBR32E{n:09d}",
            make="Toyota",
            model="Yaris",
            year=2020 + n % 5,
            vehicle_class=vehicle_class,
            branch=branch,
            **extra,
        )
        for n in range(start, start + count)
    ]
    return Vehicle.objects.bulk_create(vehicles)


def make_agreements(vehicles, branch, start=1):
    """One agreement (and one customer) per vehicle."""
    now = timezone.now()
    customers = Customer.objects.bulk_create(
        [
            Customer(customer_no=f"C-B{n:05d}", full_name=f"Customer {n:05d}")
            for n in range(start, start + len(vehicles))
        ]
    )
    return RentalAgreement.objects.bulk_create(
        [
            RentalAgreement(
                agreement_no=f"RA-B{n:05d}",
                customer=customer,
                vehicle=vehicle,
                branch=branch,
                start_at=now - timedelta(days=n % 9 + 1),
                end_at=now + timedelta(days=20),
                daily_rate=Decimal("150.00"),
                monthly_rate=Decimal("3000.00"),
            )
            for n, (customer, vehicle) in enumerate(zip(customers, vehicles, strict=True), start=start)
        ]
    )


def page_form(form_class, instance, **changes) -> dict:
    """POST data for an edit page: the instance's current values with `changes` applied."""
    data = {}
    for name, value in {**model_to_dict(instance, fields=form_class._meta.fields), **changes}.items():
        if value is None:
            data[name] = ""
        elif value is True:
            data[name] = "on"
        elif value is not False:
            data[name] = str(value)
    return data
