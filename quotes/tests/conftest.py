"""Quote fixtures: a company customer, an SUV class with its cost element, one user per role."""

from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from accounts.choices import Role
from conftest import make_user, make_vehicle
from fleet.models import Customer, VehicleClass
from quotes.models import CostDefaults, CostElement


@pytest.fixture
def suv(db):
    vehicle_class = VehicleClass.objects.create(
        code="SUV-M", name="Mid-size SUV", daily_rate=D("250.00"), monthly_rate=D("4500.00")
    )
    # The example: acquisition 120,000, running costs 300 + 400 + 50 + 20 + 80 + 0.
    CostElement.objects.create(
        vehicle_class=vehicle_class,
        acquisition_cost=D("120000.00"),
        maintenance_monthly=D("300.00"),
        insurance_monthly=D("400.00"),
        registration_monthly=D("50.00"),
        roadside_monthly=D("20.00"),
        replacement_monthly=D("80.00"),
    )
    return vehicle_class


@pytest.fixture
def defaults(db):
    CostDefaults.objects.all().delete()
    return CostDefaults.objects.create(
        financing_rate_pct=D("6.00"), overhead_pct=D("10.00"), target_margin_pct=D("12.00")
    )


@pytest.fixture
def company(db):
    return Customer.objects.create(
        customer_no="C-900001",
        kind="company",
        full_name="Gulf Logistics LLC",
        email="fleet@gulf-logistics.example",
    )


@pytest.fixture
def person(customer):
    return customer


@pytest.fixture
def sales(users):
    return users[Role.OPERATOR]


@pytest.fixture
def finance(users):
    return users[Role.FINANCE]


@pytest.fixture
def manager(users):
    return users[Role.MANAGER]


@pytest.fixture
def second_finance(branch):
    return make_user(Role.FINANCE, branch, email="finance2@example.com")


@pytest.fixture
def valid_until():
    return timezone.localdate() + timedelta(days=30)


def suv_lines(suv, quantity=10, term=24, rate="4000.00", **flags):
    return [
        {
            "vehicle_class_id": str(suv.pk),
            "quantity": quantity,
            "term_months": term,
            "monthly_rate": rate,
            "maintenance_included": True,
            "roadside_included": True,
            "replacement_included": True,
            **flags,
        }
    ]


@pytest.fixture
def suv_vehicles(branch, suv):
    return [
        make_vehicle(branch, suv, f"DXB-S-{n:05d}", status="available", make="Nissan", model="Pathfinder")
        for n in range(1, 4)
    ]


def signature_png(width=60, height=30) -> str:
    """A drawn signature as the pad sends it: a PNG data URL with a stroke on white."""
    import base64
    import io

    from PIL import Image, ImageDraw

    image = Image.new("RGB", (width, height), "white")
    ImageDraw.Draw(image).line([(5, 20), (25, 5), (55, 25)], fill="black", width=2)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()
