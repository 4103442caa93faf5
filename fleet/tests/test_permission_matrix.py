"""Who may change which reference data (DESIGN §2, accounts.permissions.ACTION_ROLES).

Every role is tried on every representative action, once through the API and once through
the pages. Allowed: the request succeeds and the change is in the database. Refused: 403
(the API with the §15 error shape) and the database is exactly as before.
"""

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.choices import Role
from conftest import ApiClient, login_client
from fleet import forms
from fleet.models import Branch, Customer, RentalAgreement, SpecialRateCode, TaxProfile, Vehicle, VehicleClass
from fleet.tests.helpers import page_form

pytestmark = pytest.mark.django_db

OPERATOR_AND_UP = {Role.OPERATOR, Role.SUPERVISOR, Role.MANAGER, Role.ADMIN}
MANAGER_AND_UP = {Role.MANAGER, Role.ADMIN}
ADMIN_ONLY = {Role.ADMIN}


@dataclass
class World:
    branch: Branch
    vehicle_class: VehicleClass
    vehicle: Vehicle
    spare_vehicle: Vehicle
    customer: Customer
    agreement: RentalAgreement
    special_rate: SpecialRateCode
    tax_profile: TaxProfile


@pytest.fixture
def world(branch, vehicle_class, vehicle, spare_vehicle, customer, agreement, special_rate, tax_profile):
    return World(
        branch, vehicle_class, vehicle, spare_vehicle, customer, agreement, special_rate, tax_profile
    )


def agreement_dates():
    start = timezone.now().replace(microsecond=0) + timedelta(days=1)
    return start, start + timedelta(days=30)


@dataclass
class Action:
    name: str
    roles: set
    api: object  # (ApiClient, World) -> response
    page: object  # (Client, World) -> response
    done: object  # (World) -> bool: is the change in the database?
    api_status: int = 200


def _new_vehicle_api(w):
    return {
        "plate": "DXB-N-99999",
        "vin": "NEWVEHJCLE0000001",
        "make": "Nissan",
        "model": "Sunny",
        "year": 2025,
        "vehicle_class_id": str(w.vehicle_class.id),
        "branch_id": str(w.branch.id),
    }


def _new_vehicle_page(w):
    return {
        "plate": "DXB-N-99999",
        "vin": "NEWVEHJCLE0000001",
        "make": "Nissan",
        "model": "Sunny",
        "year": "2025",
        "vehicle_class": str(w.vehicle_class.id),
        "branch": str(w.branch.id),
        "status": "available",
        "odometer_km": "0",
        "fuel_level": "8",
    }


def _new_agreement_api(w):
    start, end = agreement_dates()
    return {
        "agreement_no": "RA-NEW-1",
        "customer_id": str(w.customer.id),
        "vehicle_id": str(w.spare_vehicle.id),
        "branch_id": str(w.branch.id),
        "start_at": start.isoformat(),
        "end_at": end.isoformat(),
        "daily_rate": "150.00",
        "monthly_rate": "3000.00",
    }


def _new_agreement_page(w):
    start, end = agreement_dates()
    fmt = "%Y-%m-%dT%H:%M"
    return {
        "agreement_no": "RA-NEW-1",
        "customer": str(w.customer.id),
        "vehicle": str(w.spare_vehicle.id),
        "branch": str(w.branch.id),
        "start_at": timezone.localtime(start).strftime(fmt),
        "end_at": timezone.localtime(end).strftime(fmt),
        "daily_rate": "150.00",
        "monthly_rate": "3000.00",
        "deposit_amount": "0.00",
        "status": "active",
    }


def _refreshed(obj):
    obj.refresh_from_db()
    return obj


ACTIONS = [
    Action(
        "create customer",
        OPERATOR_AND_UP,
        api=lambda c, w: c.post(
            "/api/v1/customers", {"customer_no": "C-NEW-1", "full_name": "Fatima Al Zaabi"}
        ),
        page=lambda c, w: c.post(
            "/customers/new/",
            {"customer_no": "C-NEW-1", "kind": "person", "full_name": "Fatima Al Zaabi", "active": "on"},
        ),
        done=lambda w: Customer.objects.filter(customer_no="C-NEW-1", full_name="Fatima Al Zaabi").exists(),
        api_status=201,
    ),
    Action(
        "edit customer",
        OPERATOR_AND_UP,
        api=lambda c, w: c.patch(f"/api/v1/customers/{w.customer.id}", {"phone": "+971 55 000 0000"}),
        page=lambda c, w: c.post(
            f"/customers/{w.customer.id}/edit/",
            page_form(forms.CustomerForm, w.customer, phone="+971 55 000 0000"),
        ),
        done=lambda w: _refreshed(w.customer).phone == "+971 55 000 0000",
    ),
    Action(
        "create vehicle",
        MANAGER_AND_UP,
        api=lambda c, w: c.post("/api/v1/vehicles", _new_vehicle_api(w)),
        page=lambda c, w: c.post("/vehicles/new/", _new_vehicle_page(w)),
        done=lambda w: Vehicle.objects.filter(plate="DXB-N-99999", branch=w.branch).exists(),
        api_status=201,
    ),
    Action(
        "edit vehicle",
        MANAGER_AND_UP,
        api=lambda c, w: c.patch(f"/api/v1/vehicles/{w.vehicle.id}", {"odometer_km": 15500}),
        page=lambda c, w: c.post(
            f"/vehicles/{w.vehicle.id}/edit/", page_form(forms.VehicleForm, w.vehicle, odometer_km=15500)
        ),
        done=lambda w: _refreshed(w.vehicle).odometer_km == 15500,
    ),
    Action(
        "create agreement",
        MANAGER_AND_UP,
        api=lambda c, w: c.post("/api/v1/agreements", _new_agreement_api(w)),
        page=lambda c, w: c.post("/agreements/new/", _new_agreement_page(w)),
        done=lambda w: RentalAgreement.objects.filter(agreement_no="RA-NEW-1").exists(),
        api_status=201,
    ),
    Action(
        "edit agreement",
        MANAGER_AND_UP,
        api=lambda c, w: c.patch(f"/api/v1/agreements/{w.agreement.id}", {"deposit_amount": "1500.00"}),
        page=lambda c, w: c.post(
            f"/agreements/{w.agreement.id}/edit/",
            page_form(forms.RentalAgreementForm, w.agreement, deposit_amount="1500.00"),
        ),
        done=lambda w: _refreshed(w.agreement).deposit_amount == Decimal("1500.00"),
    ),
    Action(
        "create branch",
        ADMIN_ONLY,
        api=lambda c, w: c.post("/api/v1/branches", {"code": "SHJ", "name": "Sharjah City Centre"}),
        page=lambda c, w: c.post(
            "/manage/branches/new/",
            {"code": "SHJ", "name": "Sharjah City Centre", "timezone": "Asia/Dubai", "active": "on"},
        ),
        done=lambda w: Branch.objects.filter(code="SHJ").exists(),
        api_status=201,
    ),
    Action(
        "edit branch",
        ADMIN_ONLY,
        api=lambda c, w: c.patch(f"/api/v1/branches/{w.branch.id}", {"name": "Dubai Airport T3"}),
        page=lambda c, w: c.post(
            f"/manage/branches/{w.branch.id}/edit/",
            page_form(forms.BranchForm, w.branch, name="Dubai Airport T3"),
        ),
        done=lambda w: _refreshed(w.branch).name == "Dubai Airport T3",
    ),
    Action(
        "edit vehicle class",
        ADMIN_ONLY,
        api=lambda c, w: c.patch(f"/api/v1/vehicle-classes/{w.vehicle_class.id}", {"daily_rate": "135.00"}),
        page=lambda c, w: c.post(
            f"/manage/vehicle-classes/{w.vehicle_class.id}/edit/",
            page_form(forms.VehicleClassForm, w.vehicle_class, daily_rate="135.00"),
        ),
        done=lambda w: _refreshed(w.vehicle_class).daily_rate == Decimal("135.00"),
    ),
    Action(
        "edit special rate code",
        ADMIN_ONLY,
        api=lambda c, w: c.patch(f"/api/v1/special-rate-codes/{w.special_rate.id}", {"daily_rate": "95.00"}),
        page=lambda c, w: c.post(
            f"/manage/special-rate-codes/{w.special_rate.id}/edit/",
            page_form(forms.SpecialRateCodeForm, w.special_rate, daily_rate="95.00"),
        ),
        done=lambda w: _refreshed(w.special_rate).daily_rate == Decimal("95.00"),
    ),
    Action(
        "edit tax profile",
        ADMIN_ONLY,
        api=lambda c, w: c.patch(f"/api/v1/tax-profiles/{w.tax_profile.id}", {"rate_percent": "7.50"}),
        page=lambda c, w: c.post(
            f"/manage/tax-profiles/{w.tax_profile.id}/edit/",
            page_form(forms.TaxProfileForm, w.tax_profile, rate_percent="7.50"),
        ),
        done=lambda w: _refreshed(w.tax_profile).rate_percent == Decimal("7.50"),
    ),
]

ALLOWED = [
    pytest.param(role, a, id=f"{role}-{a.name}") for a in ACTIONS for role in Role.values if role in a.roles
]
REFUSED = [
    pytest.param(role, a, id=f"{role}-{a.name}")
    for a in ACTIONS
    for role in Role.values
    if role not in a.roles
]


def test_the_matrix_covers_every_role_for_every_action():
    assert len(ALLOWED) + len(REFUSED) == len(Role.values) * len(ACTIONS) == 66


@pytest.mark.parametrize(("role", "action"), ALLOWED)
def test_api_lets_a_role_take_an_action_it_may_take(users, world, role, action):
    # given a user of the role, in the branch of the records
    client = ApiClient(users[role])
    # when they take the action through the API
    response = action.api(client, world)
    # then it succeeds and the change is stored
    assert response.status_code == action.api_status, response.content
    assert action.done(world) is True


@pytest.mark.parametrize(("role", "action"), REFUSED)
def test_api_refuses_an_action_the_role_may_not_take_with_403_and_changes_nothing(users, world, role, action):
    client = ApiClient(users[role])
    response = action.api(client, world)
    assert response.status_code == 403, response.content
    error = response.json()["error"]
    assert error["code"] == "PERMISSION_DENIED"
    assert error["message"]
    assert error["details"] == {}
    assert action.done(world) is False


@pytest.mark.parametrize(("role", "action"), ALLOWED)
def test_page_lets_a_role_take_an_action_it_may_take(users, world, role, action):
    response = action.page(login_client(users[role]), world)
    assert response.status_code == 302, response.content.decode()[:2000]
    assert action.done(world) is True


@pytest.mark.parametrize(("role", "action"), REFUSED)
def test_page_refuses_an_action_the_role_may_not_take_with_403_and_changes_nothing(
    users, world, role, action
):
    response = action.page(login_client(users[role]), world)
    assert response.status_code == 403
    assert "You may not do this" in response.content.decode()
    assert action.done(world) is False


NEW_PAGES = {
    "/customers/new/": OPERATOR_AND_UP,
    "/vehicles/new/": MANAGER_AND_UP,
    "/agreements/new/": MANAGER_AND_UP,
    "/manage/branches/new/": ADMIN_ONLY,
    "/manage/vehicle-classes/new/": ADMIN_ONLY,
    "/manage/special-rate-codes/new/": ADMIN_ONLY,
    "/manage/tax-profiles/new/": ADMIN_ONLY,
}


@pytest.mark.parametrize("url", NEW_PAGES)
@pytest.mark.parametrize("role", Role.values)
def test_an_empty_form_opens_only_for_roles_that_may_create(users, role, url):
    response = login_client(users[role]).get(url)
    assert response.status_code == (200 if role in NEW_PAGES[url] else 403)


@pytest.mark.parametrize("role", Role.values)
def test_the_vehicle_list_offers_new_vehicle_only_to_managers_and_admins(users, world, role):
    page = login_client(users[role]).get("/vehicles/").content.decode()
    assert ('href="/vehicles/new/"' in page) is (role in MANAGER_AND_UP)


@pytest.mark.parametrize("role", Role.values)
def test_the_customer_page_offers_edit_only_to_operators_and_up(users, world, role):
    page = login_client(users[role]).get(f"/customers/{world.customer.id}/").content.decode()
    assert (f'href="/customers/{world.customer.id}/edit/"' in page) is (role in OPERATOR_AND_UP)


@pytest.mark.parametrize("role", Role.values)
def test_every_role_may_read_reference_data_through_the_api(users, world, role):
    client = ApiClient(users[role])
    for path in (
        "/api/v1/vehicles",
        "/api/v1/customers",
        "/api/v1/agreements",
        "/api/v1/branches",
        "/api/v1/vehicle-classes",
        "/api/v1/special-rate-codes",
        "/api/v1/tax-profiles",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert response.json()["count"] >= 1, path


def test_anonymous_pages_redirect_to_the_login(world):
    from django.test import Client

    response = Client().post("/vehicles/new/", _new_vehicle_page(world))
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")
    assert not Vehicle.objects.filter(plate="DXB-N-99999").exists()
