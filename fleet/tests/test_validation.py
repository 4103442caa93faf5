"""Bad input is a 4xx with the DESIGN §15 error shape (API) or field errors (pages), never a 500."""

import base64
import json
from datetime import timedelta
from decimal import Decimal
from uuid import uuid4

import pytest
from django.utils import timezone

from conftest import ApiClient, login_client
from fleet.models import Branch, Customer, RentalAgreement, TaxProfile, Vehicle, VehicleClass

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(admin_user):
    return ApiClient(admin_user)


@pytest.fixture
def new_vehicle(vehicle_class, branch):
    return {
        "plate": "DXB-N-55555",
        "vin": "JTDBR32E000000055",
        "make": "Kia",
        "model": "Rio",
        "year": 2024,
        "vehicle_class_id": str(vehicle_class.id),
        "branch_id": str(branch.id),
    }


@pytest.fixture
def new_agreement(customer, spare_vehicle, branch):
    start = timezone.now().replace(microsecond=0)
    return {
        "agreement_no": "RA-200001",
        "customer_id": str(customer.id),
        "vehicle_id": str(spare_vehicle.id),
        "branch_id": str(branch.id),
        "start_at": start.isoformat(),
        "end_at": (start + timedelta(days=7)).isoformat(),
        "daily_rate": "150.00",
        "monthly_rate": "3000.00",
    }


def validation_details(response, status=422) -> dict:
    """The error's details, after checking the status and the §15 shape."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == "VALIDATION_ERROR"
    assert body["error"]["message"]
    return body["error"]["details"]


# ---- duplicates: the model's unique checks arrive as field details, not a 409/500 ------------


def test_a_duplicate_plate_is_a_field_error(api, vehicle, new_vehicle):
    response = api.post("/api/v1/vehicles", {**new_vehicle, "plate": "DXB-A-10001"})
    assert validation_details(response) == {"plate": ["Vehicle with this Plate already exists."]}
    assert Vehicle.objects.count() == 1


def test_a_duplicate_plate_in_other_letter_case_and_spacing_is_a_field_error(api, vehicle, new_vehicle):
    response = api.post("/api/v1/vehicles", {**new_vehicle, "plate": " dxb-a-10001 "})
    assert validation_details(response) == {"plate": ["Vehicle with this Plate already exists."]}
    assert Vehicle.objects.count() == 1


def test_a_duplicate_vin_in_lower_case_is_a_field_error(api, vehicle, new_vehicle):
    response = api.post("/api/v1/vehicles", {**new_vehicle, "vin": vehicle.vin.lower()})
    assert validation_details(response) == {"vin": ["Vehicle with this VIN already exists."]}
    assert Vehicle.objects.count() == 1


def test_renaming_a_vehicle_to_an_existing_plate_is_a_field_error(api, vehicle, spare_vehicle):
    response = api.patch(f"/api/v1/vehicles/{spare_vehicle.id}", {"plate": "DXB-A-10001"})
    assert validation_details(response) == {"plate": ["Vehicle with this Plate already exists."]}
    spare_vehicle.refresh_from_db()
    assert spare_vehicle.plate == "DXB-B-20002"


def test_a_duplicate_customer_number_is_a_field_error(api, customer):
    response = api.post("/api/v1/customers", {"customer_no": "C-000001", "full_name": "Someone Else"})
    assert validation_details(response) == {
        "customer_no": ["Customer with this Customer no. already exists."]
    }
    assert Customer.objects.count() == 1


def test_a_duplicate_agreement_number_is_a_field_error(api, agreement, new_agreement):
    response = api.post("/api/v1/agreements", {**new_agreement, "agreement_no": "RA-100001"})
    assert validation_details(response) == {
        "agreement_no": ["Rental agreement with this Agreement no. already exists."]
    }
    assert RentalAgreement.objects.count() == 1


def test_a_duplicate_branch_code_is_a_field_error(api, branch):
    response = api.post("/api/v1/branches", {"code": "DXB", "name": "Dubai Marina"})
    assert validation_details(response) == {"code": ["Branch with this Code already exists."]}
    assert Branch.objects.count() == 1


# ---- values out of range ------------------------------------------------------------------


@pytest.mark.parametrize("year", [1979, 2101])
def test_a_year_out_of_range_is_refused(api, new_vehicle, year):
    details = validation_details(api.post("/api/v1/vehicles", {**new_vehicle, "year": year}))
    assert list(details) == ["year"]
    assert not Vehicle.objects.filter(plate="DXB-N-55555").exists()


def test_a_fuel_level_above_eight_eighths_is_refused(api, new_vehicle):
    details = validation_details(api.post("/api/v1/vehicles", {**new_vehicle, "fuel_level": 9}))
    assert details == {"fuel_level": ["Input should be less than or equal to 8"]}


def test_raising_the_fuel_level_to_nine_is_refused_and_changes_nothing(api, vehicle):
    details = validation_details(api.patch(f"/api/v1/vehicles/{vehicle.id}", {"fuel_level": 9}))
    assert list(details) == ["fuel_level"]
    vehicle.refresh_from_db()
    assert vehicle.fuel_level == 8


def test_a_vin_with_letters_never_used_in_vins_is_refused(api, new_vehicle):
    details = validation_details(api.post("/api/v1/vehicles", {**new_vehicle, "vin": "JTDBR32E0000000IO"}))
    assert details == {"vin": ["A VIN has 17 characters and never contains I, O or Q."]}


def test_a_blank_plate_made_of_spaces_is_refused(api, new_vehicle):
    details = validation_details(api.post("/api/v1/vehicles", {**new_vehicle, "plate": "   "}))
    assert list(details) == ["plate"]
    assert Vehicle.objects.count() == 0


def test_a_customer_name_made_of_spaces_is_refused(api):
    details = validation_details(api.post("/api/v1/customers", {"customer_no": "C-9", "full_name": "   "}))
    assert list(details) == ["full_name"]
    assert Customer.objects.count() == 0


@pytest.mark.parametrize("field", ["daily_rate", "monthly_rate"])
def test_a_negative_class_rate_is_refused(api, field):
    payload = {
        "code": "LUX",
        "name": "Luxury",
        "daily_rate": "400.00",
        "monthly_rate": "9000.00",
        field: "-1.00",
    }
    details = validation_details(api.post("/api/v1/vehicle-classes", payload))
    assert details == {field: ["Input should be greater than or equal to 0"]}
    assert not VehicleClass.objects.filter(code="LUX").exists()


@pytest.mark.parametrize("field", ["daily_rate", "monthly_rate", "deposit_amount"])
def test_a_negative_agreement_amount_is_refused(api, new_agreement, field):
    details = validation_details(api.post("/api/v1/agreements", {**new_agreement, field: "-0.01"}))
    assert list(details) == [field]
    assert not RentalAgreement.objects.exists()


def test_a_negative_special_rate_is_refused_and_changes_nothing(api, special_rate):
    details = validation_details(
        api.patch(f"/api/v1/special-rate-codes/{special_rate.id}", {"daily_rate": "-5"})
    )
    assert list(details) == ["daily_rate"]
    special_rate.refresh_from_db()
    assert special_rate.daily_rate == Decimal("90.00")


def test_a_tax_rate_above_100_percent_is_refused(api):
    details = validation_details(api.post("/api/v1/tax-profiles", {"name": "Odd", "rate_percent": "100.01"}))
    assert list(details) == ["rate_percent"]


def test_money_with_three_decimal_places_is_refused(api):
    payload = {"code": "LUX", "name": "Luxury", "daily_rate": "400.005", "monthly_rate": "9000.00"}
    assert list(validation_details(api.post("/api/v1/vehicle-classes", payload))) == ["daily_rate"]


def test_money_is_answered_with_two_decimal_places(api):
    response = api.post(
        "/api/v1/vehicle-classes",
        {"code": "LUX", "name": "Luxury", "daily_rate": "400", "monthly_rate": 9000.5},
    )
    assert response.status_code == 201
    assert (response.json()["daily_rate"], response.json()["monthly_rate"]) == ("400.00", "9000.50")


def test_an_agreement_ending_before_it_starts_is_refused(api, new_agreement):
    payload = {**new_agreement, "end_at": new_agreement["start_at"]}
    assert validation_details(api.post("/api/v1/agreements", payload)) == {
        "end_at": ["The end must be after the start."]
    }
    assert not RentalAgreement.objects.exists()


def test_moving_an_agreements_end_before_its_start_is_refused_and_changes_nothing(api, agreement):
    end_at = agreement.end_at
    response = api.patch(
        f"/api/v1/agreements/{agreement.id}", {"end_at": (agreement.start_at - timedelta(days=1)).isoformat()}
    )
    assert validation_details(response) == {"end_at": ["The end must be after the start."]}
    agreement.refresh_from_db()
    assert agreement.end_at == end_at


def test_an_unknown_timezone_is_refused(api):
    details = validation_details(
        api.post("/api/v1/branches", {"code": "SHJ", "name": "Sharjah", "timezone": "Mars/Olympus_Mons"})
    )
    assert details == {"timezone": ["Unknown timezone."]}


def test_nulling_a_required_field_is_refused(api, vehicle):
    details = validation_details(api.patch(f"/api/v1/vehicles/{vehicle.id}", {"year": None}))
    assert details == {"year": ["This field cannot be null."]}


# ---- wrong types, unknown values and ids, broken bodies -------------------------------------


def test_a_string_for_the_year_is_refused(api, new_vehicle):
    details = validation_details(api.post("/api/v1/vehicles", {**new_vehicle, "year": "two thousand"}))
    assert details == {"year": ["Input should be a valid integer, unable to parse string as an integer"]}


def test_an_unknown_status_value_is_refused(api, new_vehicle):
    details = validation_details(api.post("/api/v1/vehicles", {**new_vehicle, "status": "stolen"}))
    assert list(details) == ["status"]
    assert "'available'" in details["status"][0]


def test_an_unknown_customer_kind_is_refused(api):
    details = validation_details(
        api.post("/api/v1/customers", {"customer_no": "C-9", "full_name": "X", "kind": "robot"})
    )
    assert list(details) == ["kind"]


@pytest.mark.parametrize("field", ["vehicle_class_id", "branch_id"])
def test_an_unknown_reference_id_is_a_field_error(api, new_vehicle, field):
    details = validation_details(api.post("/api/v1/vehicles", {**new_vehicle, field: str(uuid4())}))
    assert details == {field: ["No such record (or not in your branches)."]}


def test_a_malformed_reference_id_is_a_field_error(api, new_vehicle):
    details = validation_details(api.post("/api/v1/vehicles", {**new_vehicle, "branch_id": "DXB"}))
    assert list(details) == ["branch_id"]


@pytest.mark.parametrize("field", ["customer_id", "vehicle_id"])
def test_an_agreement_with_an_unknown_customer_or_vehicle_is_refused(api, new_agreement, field):
    details = validation_details(api.post("/api/v1/agreements", {**new_agreement, field: str(uuid4())}))
    assert list(details) == [field]


def test_missing_required_fields_are_each_reported(api):
    details = validation_details(api.post("/api/v1/vehicles", {"plate": "X-1"}))
    assert sorted(details) == ["branch_id", "make", "model", "vehicle_class_id", "vin", "year"]


def test_an_unknown_id_in_the_path_is_not_found(api):
    response = api.get(f"/api/v1/vehicles/{uuid4()}")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


def test_a_malformed_id_in_the_path_is_a_validation_error(api):
    assert list(validation_details(api.get("/api/v1/vehicles/not-a-uuid"))) == ["vehicle_id"]


@pytest.mark.parametrize("body", ["{not json", "[1, 2]", "", "null", '"text"'])
def test_a_body_that_is_not_a_json_object_is_a_validation_error(api, body):
    response = api.client.post("/api/v1/customers", body, content_type="application/json", **api.headers)
    assert response.status_code in (400, 422)
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert Customer.objects.count() == 0


def test_a_form_encoded_body_is_a_validation_error(api):
    response = api.client.post(
        "/api/v1/customers",
        "customer_no=C-9&full_name=X",
        content_type="application/x-www-form-urlencoded",
        **api.headers,
    )
    assert response.status_code in (400, 422)
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_making_a_new_tax_profile_the_default_moves_the_default_flag(api, tax_profile):
    response = api.post(
        "/api/v1/tax-profiles", {"name": "Zero rated", "rate_percent": "0", "is_default": True}
    )
    assert response.status_code == 201, response.content
    assert response.json()["rate_percent"] == "0.00"
    tax_profile.refresh_from_db()
    assert tax_profile.is_default is False
    assert list(TaxProfile.objects.filter(is_default=True).values_list("name", flat=True)) == ["Zero rated"]


# ---- list parameters -------------------------------------------------------------------------


def _cursor(values) -> str:
    return base64.urlsafe_b64encode(json.dumps(values).encode()).decode()


@pytest.mark.parametrize(
    "params",
    [
        {"cursor": "!!!"},
        {"cursor": _cursor(["x"])},
        {"cursor": _cursor(["DXB", "not-a-uuid"])},
        {"cursor": _cursor([{"a": 1}, str(uuid4())]), "ordering": "-created_at"},
        {"cursor": _cursor(["DXB-A-10001", str(uuid4())]), "ordering": "year"},
    ],
)
def test_a_forged_cursor_is_a_validation_error(api, vehicle, params):
    assert list(validation_details(api.get("/api/v1/vehicles", params))) == ["cursor"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"limit": "0"}, "limit"),
        ({"limit": "abc"}, "limit"),
        ({"page": "0"}, "page"),
        ({"page": "x"}, "page"),
        ({"ordering": "vin"}, "ordering"),
        ({"status": "stolen"}, "status.0"),
        ({"branch_id": "DXB"}, "branch_id"),
    ],
)
def test_bad_list_parameters_are_validation_errors_named_after_the_parameter(api, params, field):
    assert list(validation_details(api.get("/api/v1/vehicles", params))) == [field]


def test_available_vehicles_need_to_after_from(api):
    now = timezone.now()
    response = api.get("/api/v1/vehicles/available", {"from": now.isoformat(), "to": now.isoformat()})
    assert validation_details(response) == {"to": ["Must be after from."]}


# ---- pages: field errors, status 400 ---------------------------------------------------------


def vehicle_form(vehicle_class, branch, **changes):
    data = {
        "plate": "DXB-N-55555",
        "vin": "JTDBR32E000000055",
        "make": "Kia",
        "model": "Rio",
        "year": "2024",
        "vehicle_class": str(vehicle_class.id),
        "branch": str(branch.id),
        "status": "available",
        "odometer_km": "0",
        "fuel_level": "8",
    }
    return {**data, **changes}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"year": "1900"}, "Ensure this value is greater than or equal to 1980."),
        ({"year": "twenty"}, "Enter a whole number."),
        ({"fuel_level": "9"}, "Ensure this value is less than or equal to 8."),
        ({"plate": "DXB-A-10001"}, "Vehicle with this Plate already exists."),
        ({"plate": "dxb-a-10001"}, "Vehicle with this Plate already exists."),
        ({"vin": "dxba10001aaaaaaaa"}, "Vehicle with this VIN already exists."),
        ({"vin": "SHORT"}, "A VIN has 17 characters and never contains I, O or Q."),
        ({"status": "stolen"}, "Select a valid choice. stolen is not one of the available choices."),
        ({"make": ""}, "This field is required."),
    ],
)
def test_the_vehicle_form_shows_field_errors(admin_user, vehicle, vehicle_class, branch, changes, message):
    response = login_client(admin_user).post("/vehicles/new/", vehicle_form(vehicle_class, branch, **changes))
    assert response.status_code == 400
    page = response.content.decode()
    assert 'class="invalid-feedback' in page
    assert message in page
    assert Vehicle.objects.count() == 1


def test_the_agreement_form_shows_an_end_before_start(admin_user, customer, spare_vehicle, branch):
    response = login_client(admin_user).post(
        "/agreements/new/",
        {
            "agreement_no": "RA-200001",
            "customer": str(customer.id),
            "vehicle": str(spare_vehicle.id),
            "branch": str(branch.id),
            "start_at": "2025-03-10T10:00",
            "end_at": "2025-03-09T10:00",
            "daily_rate": "150.00",
            "monthly_rate": "3000.00",
            "deposit_amount": "0",
            "status": "active",
        },
    )
    assert response.status_code == 400
    assert "The end must be after the start." in response.content.decode()
    assert not RentalAgreement.objects.exists()


def test_the_vehicle_class_form_refuses_a_negative_rate(admin_user):
    response = login_client(admin_user).post(
        "/manage/vehicle-classes/new/",
        {"code": "LUX", "name": "Luxury", "daily_rate": "-1", "monthly_rate": "9000"},
    )
    assert response.status_code == 400
    assert "Ensure this value is greater than or equal to 0." in response.content.decode()
    assert not VehicleClass.objects.exists()


def test_the_customer_form_refuses_a_duplicate_number(admin_user, customer):
    response = login_client(admin_user).post(
        "/customers/new/", {"customer_no": "C-000001", "kind": "person", "full_name": "Someone Else"}
    )
    assert response.status_code == 400
    assert "Customer with this Customer no. already exists." in response.content.decode()
    assert Customer.objects.count() == 1


def test_the_branch_form_refuses_a_duplicate_code_and_an_unknown_timezone(admin_user, branch):
    response = login_client(admin_user).post(
        "/manage/branches/new/", {"code": "DXB", "name": "Dubai Marina", "timezone": "Nowhere/Land"}
    )
    assert response.status_code == 400
    page = response.content.decode()
    assert "Branch with this Code already exists." in page
    assert "Unknown timezone." in page
    assert Branch.objects.count() == 1


def test_the_tax_profile_form_can_make_a_new_default(admin_user, tax_profile):
    response = login_client(admin_user).post(
        "/manage/tax-profiles/new/", {"name": "Zero rated", "rate_percent": "0.00", "is_default": "on"}
    )
    assert response.status_code == 302
    assert list(TaxProfile.objects.filter(is_default=True).values_list("name", flat=True)) == ["Zero rated"]


@pytest.mark.parametrize(
    "query",
    [
        "limit=500",
        "ordering=vin",
        "status=stolen",
        "cursor=!!!",
        "page=abc",
        f"cursor={_cursor(['x', 'not-a-uuid'])}",
    ],
)
def test_bad_list_parameters_on_a_page_are_a_400_with_a_message(admin_user, vehicle, query):
    response = login_client(admin_user).get(f"/vehicles/?{query}")
    assert response.status_code == 400
    assert 'class="alert alert-warning"' in response.content.decode()


def test_agreement_times_need_an_offset(api, new_agreement, agreement):
    details = validation_details(
        api.post("/api/v1/agreements", {**new_agreement, "end_at": "2030-01-01T00:00:00"})
    )
    assert details == {"end_at": ["Input should have timezone info"]}
    end_at = agreement.end_at
    details = validation_details(
        api.patch(f"/api/v1/agreements/{agreement.id}", {"end_at": "2030-01-01T00:00"})
    )
    assert list(details) == ["end_at"]
    agreement.refresh_from_db()
    assert agreement.end_at == end_at


def test_availability_times_need_an_offset(api):
    response = api.get(
        "/api/v1/vehicles/available", {"from": "2030-01-01T00:00:00", "to": "2030-01-02T00:00:00+04:00"}
    )
    assert list(validation_details(response)) == ["from"]
