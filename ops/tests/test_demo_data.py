import re
from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.management import call_command
from django.db.models import F
from django.test import Client
from django.utils import timezone

from accounts.choices import Role
from accounts.models import User
from audit.models import AuditEntry
from custodies.models import Custody
from fleet.choices import AgreementStatus, CustomerKind, VehicleStatus
from fleet.models import Branch, Customer, RentalAgreement, SpecialRateCode, TaxProfile, Vehicle, VehicleClass
from ops import demo

pytestmark = pytest.mark.django_db

PLATE = re.compile(r"^(DXB|AUH|SHJ)-[A-Z]-\d{5}$")
VIN = re.compile(r"^[A-HJ-NPR-Z0-9]{17}$")
EMIRATES_ID = re.compile(r"^784-(\d{4})-\d{7}-\d$")
PHONE = re.compile(r"^\+971 (5[0-9] \d{3} \d{4}|[2-9] \d{3} \d{4})$")
MODELS = [
    Branch,
    VehicleClass,
    Vehicle,
    Customer,
    RentalAgreement,
    SpecialRateCode,
    TaxProfile,
    User,
    AuditEntry,
    Custody,
]


def run(*args) -> str:
    out = StringIO()
    call_command("demo_data", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.fixture
def loaded():
    return run()


def counts():
    return {model.__name__: model.objects.count() for model in MODELS}


def test_first_load_reports_what_it_created_and_prints_the_logins(loaded):
    assert "Loaded demo data:" in loaded
    for role in Role.values:
        assert f"{role}@{demo.DEMO_DOMAIN}" in loaded
    assert demo.DEMO_PASSWORD in loaded


def test_counts_meet_the_minimums(loaded):
    assert Branch.objects.count() >= 3
    assert set(VehicleClass.objects.values_list("code", flat=True)) >= {
        "ECON",
        "COMP",
        "MID",
        "SUV-M",
        "SUV-L",
        "LUX",
    }
    assert Vehicle.objects.count() >= 60
    assert set(Vehicle.objects.values_list("status", flat=True)) == set(VehicleStatus.values)
    assert Customer.objects.filter(kind=CustomerKind.PERSON).count() >= 40
    assert Customer.objects.filter(kind=CustomerKind.COMPANY).exists()
    assert RentalAgreement.objects.filter(status=AgreementStatus.ACTIVE).count() >= 30
    assert SpecialRateCode.objects.filter(active=True).count() == 2
    vat = TaxProfile.objects.get(is_default=True)
    assert (vat.name, vat.rate_percent) == ("UAE VAT", Decimal("5.00"))
    assert sorted(User.objects.values_list("role", flat=True)) == sorted(Role.values)


def test_rates_are_realistic_and_grow_with_the_class(loaded):
    rates = dict(VehicleClass.objects.values_list("code", "daily_rate"))
    ladder = [rates[code] for code in ("ECON", "COMP", "MID", "SUV-M", "SUV-L", "LUX")]
    assert ladder == sorted(ladder)
    assert Decimal("50") <= ladder[0] and ladder[-1] <= Decimal("2000")
    for cls in VehicleClass.objects.all():
        assert 15 * cls.daily_rate <= cls.monthly_rate <= 30 * cls.daily_rate


def test_active_agreements_run_now_on_rented_cars_of_their_branch(loaded):
    now = timezone.now()
    active = RentalAgreement.objects.filter(status=AgreementStatus.ACTIVE).select_related("vehicle")
    in_custody = set(Custody.objects.filter(status="active").values_list("original_vehicle_id", flat=True))
    on_rented = 0
    for agreement in active:
        assert agreement.branch_id == agreement.vehicle.branch_id
        assert agreement.start_at <= now < agreement.end_at
        if agreement.vehicle.status == VehicleStatus.RENTED:
            on_rented += 1
        else:  # the customer's car is in custody and they drive a replacement
            assert agreement.vehicle.status == VehicleStatus.IN_CUSTODY
            assert agreement.vehicle_id in in_custody
    assert on_rented >= 30
    # one active agreement per car, and every rented car is out on an agreement or as a replacement
    assert active.values("vehicle").distinct().count() == active.count()
    replacements = set(
        Custody.objects.filter(status="active").values_list("replacement_vehicle_id", flat=True)
    )
    for vehicle in Vehicle.objects.filter(status=VehicleStatus.RENTED).exclude(agreements__status="active"):
        assert vehicle.id in replacements, vehicle.plate
    assert not RentalAgreement.objects.exclude(branch_id=F("vehicle__branch_id")).exists()


def test_custodies_in_every_status_hold_the_right_vehicles(loaded):
    assert set(Custody.objects.values_list("status", flat=True)) >= {
        "draft",
        "pending_approval",
        "approved",
        "active",
        "closed",
        "voided",
    }
    for custody in Custody.objects.filter(status="approved", replacement_vehicle__isnull=False):
        assert custody.replacement_vehicle.status == VehicleStatus.RESERVED
    for custody in Custody.objects.filter(status="active").select_related("original_vehicle"):
        assert custody.original_vehicle.status == VehicleStatus.IN_CUSTODY


def test_vehicles_have_uae_plates_valid_vins_and_some_papers_expiring(loaded):
    soon = timezone.localdate() + timedelta(days=30)
    for vehicle in Vehicle.objects.all():
        assert PLATE.match(vehicle.plate), vehicle.plate
        assert VIN.match(vehicle.vin), vehicle.vin
        assert vehicle.vin[8] == demo.vin_check_digit(vehicle.vin), vehicle.vin
        assert vehicle.registration_expiry and vehicle.insurance_expiry
        assert vehicle.branch.code in ("DXB", "DXM", "AUH", "SHJ")
    assert Vehicle.objects.filter(registration_expiry__lte=soon).exists()
    assert Vehicle.objects.filter(insurance_expiry__lte=soon).exists()
    spare = Vehicle.objects.filter(status__in=[VehicleStatus.AVAILABLE, VehicleStatus.RESERVED])
    assert (
        spare.filter(registration_expiry__lte=soon).exists()
        or spare.filter(insurance_expiry__lte=soon).exists()
    )
    makes = set(Vehicle.objects.values_list("make", flat=True))
    assert {"Toyota", "Nissan", "Lexus"} <= makes


def test_customers_look_like_uae_customers(loaded):
    for person in Customer.objects.filter(kind=CustomerKind.PERSON):
        match = EMIRATES_ID.match(person.national_id)
        assert match, person.national_id
        digits = person.national_id.replace("-", "")
        assert demo.luhn_digit(digits[:-1]) == digits[-1]
        assert PHONE.match(person.phone), person.phone
        assert person.driving_licence_no and person.driving_licence_expiry
    assert Customer.objects.filter(kind=CustomerKind.PERSON, full_name__contains=" Al ").count() >= 30
    for company in Customer.objects.filter(kind=CustomerKind.COMPANY):
        assert company.full_name.endswith(("LLC", "FZE"))
        assert PHONE.match(company.phone), company.phone


def test_demo_users_log_in_with_the_published_password(loaded):
    for user in User.objects.all():
        validate_password(demo.DEMO_PASSWORD, user)
        client = Client()
        response = client.post("/accounts/login/", {"username": user.email, "password": demo.DEMO_PASSWORD})
        assert response.status_code == 302, user.email
    viewer = User.objects.get(role=Role.VIEWER)
    assert list(viewer.branches.values_list("code", flat=True)) == ["DXB"] and not viewer.all_branches
    assert User.objects.get(role=Role.ADMIN).all_branches
    client = Client()
    client.force_login(viewer)
    listing = client.get("/vehicles/?limit=200").content.decode()
    assert "DXB-" in listing and "AUH-" not in listing and "SHJ-" not in listing


def test_users_are_created_through_the_audited_service(loaded):
    entries = AuditEntry.objects.filter(action="user.created")
    assert entries.count() == len(Role.values)
    assert set(entries.values_list("source", flat=True)) == {"system"}


def test_second_run_changes_nothing(loaded):
    before = counts()
    plates = sorted(Vehicle.objects.values_list("plate", "updated_at"))
    output = run()
    assert "already loaded" in output
    assert counts() == before
    assert sorted(Vehicle.objects.values_list("plate", "updated_at")) == plates


def test_logins_only_prints_and_never_loads():
    output = run("--logins")
    assert "not loaded" in output
    assert Vehicle.objects.count() == 0 and User.objects.count() == 0


def test_logins_table_shows_changed_and_deactivated_passwords(loaded):
    viewer = User.objects.get(role=Role.VIEWER)
    viewer.set_password("Another-Secret-77")
    viewer.save()
    User.objects.filter(role=Role.FINANCE).update(is_active=False)
    lines = {line.split()[0]: line for line in run("--logins").splitlines() if "@" in line}
    assert "(changed)" in lines[viewer.email]
    assert "(deactivated)" in lines[f"finance@{demo.DEMO_DOMAIN}"]
    assert demo.DEMO_PASSWORD in lines[f"admin@{demo.DEMO_DOMAIN}"]


def test_quiet_load_leaves_out_the_logins():
    out = StringIO()
    call_command("demo_data", verbosity=0, stdout=out, stderr=StringIO())
    assert "Loaded demo data" in out.getvalue()
    assert demo.DEMO_PASSWORD not in out.getvalue()


def test_plan_is_deterministic_for_a_given_moment():
    now = timezone.now()
    first, second = demo.build_plan(now), demo.build_plan(now)
    assert first == second
    assert demo.build_plan(now, seed=1).vehicles != first.vehicles
    assert len({v["plate"] for v in first.vehicles}) == len(first.vehicles)
    assert len({v["vin"] for v in first.vehicles}) == len(first.vehicles)


def test_load_keeps_existing_reference_rows():
    Branch.objects.create(code="DXB", name="Our airport desk", city="Dubai")
    TaxProfile.objects.create(name="Zero rated", rate_percent=Decimal("0"), is_default=True)
    run()
    assert Branch.objects.get(code="DXB").name == "Our airport desk"
    assert TaxProfile.objects.get(is_default=True).name == "Zero rated"
    assert TaxProfile.objects.filter(name="UAE VAT", rate_percent=Decimal("5.00")).exists()
    assert Vehicle.objects.filter(branch__code="DXB").count() > 0


def test_vin_check_digit_matches_a_known_vin():
    # The textbook example of the North American check digit.
    assert demo.vin_check_digit("1M8GDM9AXKP042788") == "X"
    assert demo.luhn_digit("7992739871") == "3"


def test_cli_alias_loads_demo_data(capsys, monkeypatch):
    from django.db import connections

    from config.cli import main

    # A command run from the command line closes the connections when it ends; inside a test's
    # transaction (PostgreSQL) that would end the test's database session too.
    monkeypatch.setattr(connections, "close_all", lambda: None)

    assert main(["demo-data", "-v", "0"]) == 0
    assert "Loaded demo data" in capsys.readouterr().out
    assert User.objects.filter(email=f"admin@{demo.DEMO_DOMAIN}").exists()


def test_loading_with_debug_off_warns_about_the_published_password(settings):
    settings.DEBUG = False
    err = StringIO()
    call_command("demo_data", verbosity=0, stdout=StringIO(), stderr=err)
    assert "published password" in err.getvalue()


def test_history_is_backdated(loaded):
    now = timezone.now()
    workshop = Vehicle.objects.filter(status__in=[VehicleStatus.MAINTENANCE, VehicleStatus.OUT_OF_SERVICE])
    assert workshop.exists()
    for vehicle in workshop:
        assert vehicle.updated_at <= now - timedelta(hours=12)  # the dashboard shows a real age
    for agreement in RentalAgreement.objects.select_related("customer", "vehicle"):
        assert agreement.customer.created_at < agreement.created_at <= agreement.start_at
        assert agreement.vehicle.created_at < agreement.start_at
