"""A vehicle held by a custody keeps the status its custody gives it: the vehicle page, the vehicle
PATCH API, Django admin and the fleet integration are refused; the custody itself still moves it."""

import pytest
from django.contrib import admin
from django.test import RequestFactory

from accounts.choices import Role
from conftest import ApiClient, login_client
from custodies import services
from fleet.admin import VehicleAdmin
from fleet.forms import VehicleForm
from fleet.models import Vehicle
from fleet.tests.helpers import page_form

pytestmark = pytest.mark.django_db


@pytest.fixture
def approved(users, make_draft, spare_vehicle):
    custody = make_draft()
    services.submit_custody(users[Role.OPERATOR], custody.id)
    services.approve_custody(users[Role.SUPERVISOR], custody.id)
    spare_vehicle.refresh_from_db()
    assert spare_vehicle.status == "reserved"
    custody.refresh_from_db()
    return custody


def _admin_form_errors(user, vehicle, **changes):
    request = RequestFactory().post("/")
    request.user = user
    model_admin = VehicleAdmin(Vehicle, admin.site)
    form_class = model_admin.get_form(request, vehicle)
    data = {**page_form(form_class, vehicle), **changes}
    form = form_class(data, instance=vehicle)
    form.is_valid()
    return form.errors


def test_status_change_refused_while_a_custody_holds_the_car(users, approved, spare_vehicle):
    manager = users[Role.MANAGER]

    page = login_client(manager).post(
        f"/vehicles/{spare_vehicle.id}/edit/", page_form(VehicleForm, spare_vehicle, status="available")
    )
    assert page.status_code == 400
    assert approved.custody_no in page.content.decode()

    api = ApiClient(manager).patch(f"/api/v1/vehicles/{spare_vehicle.id}", {"status": "maintenance"})
    assert api.status_code in (400, 409, 422), api.content
    assert approved.custody_no in api.content.decode()

    errors = _admin_form_errors(users[Role.ADMIN], spare_vehicle, status="out_of_service")
    assert approved.custody_no in str(errors["status"])

    spare_vehicle.refresh_from_db()
    assert spare_vehicle.status == "reserved"

    # Other fields stay editable, and the status may be re-saved unchanged.
    ok = ApiClient(manager).patch(
        f"/api/v1/vehicles/{spare_vehicle.id}", {"status": "reserved", "odometer_km": 9}
    )
    assert ok.status_code == 200, ok.content


def test_the_custody_still_moves_its_car_and_releases_it(users, approved, spare_vehicle):
    services.void_custody(users[Role.MANAGER], approved.id, "customer cancelled")
    spare_vehicle.refresh_from_db()
    assert spare_vehicle.status == "available"
    api = ApiClient(users[Role.MANAGER]).patch(
        f"/api/v1/vehicles/{spare_vehicle.id}", {"status": "maintenance"}
    )
    assert api.status_code == 200, api.content
    spare_vehicle.refresh_from_db()
    assert spare_vehicle.status == "maintenance"
