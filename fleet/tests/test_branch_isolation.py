"""A user sees and changes only records of their branches (DESIGN §2): outside ones are 404."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.choices import Role
from conftest import ApiClient, login_client, make_user
from fleet.models import RentalAgreement, Vehicle

pytestmark = pytest.mark.django_db


@pytest.fixture
def dxb_manager(branch):
    return make_user(Role.MANAGER, branch, email="manager.dxb@example.com")


@pytest.fixture
def all_branches_admin(db):
    return make_user(Role.ADMIN, email="admin.all@example.com", all_branches=True)


@pytest.fixture
def foreign_agreement(customer, foreign_vehicle, other_branch):
    now = timezone.now()
    return RentalAgreement.objects.create(
        agreement_no="RA-AUH-0001",
        customer=customer,
        vehicle=foreign_vehicle,
        branch=other_branch,
        start_at=now - timedelta(days=2),
        end_at=now + timedelta(days=28),
        daily_rate=Decimal("140.00"),
        monthly_rate=Decimal("2800.00"),
    )


def assert_not_found(response):
    assert response.status_code == 404
    assert response.json() == {"error": {"code": "NOT_FOUND", "message": "Not found.", "details": {}}}


def test_api_answers_404_for_a_vehicle_of_another_branch(dxb_manager, foreign_vehicle):
    assert_not_found(ApiClient(dxb_manager).get(f"/api/v1/vehicles/{foreign_vehicle.id}"))


def test_api_answers_404_for_an_agreement_of_another_branch(dxb_manager, foreign_agreement):
    assert_not_found(ApiClient(dxb_manager).get(f"/api/v1/agreements/{foreign_agreement.id}"))


def test_api_answers_404_for_a_branch_the_user_does_not_work_in(dxb_manager, other_branch):
    assert_not_found(ApiClient(dxb_manager).get(f"/api/v1/branches/{other_branch.id}"))


def test_api_refuses_to_edit_a_vehicle_of_another_branch_and_changes_nothing(dxb_manager, foreign_vehicle):
    response = ApiClient(dxb_manager).patch(f"/api/v1/vehicles/{foreign_vehicle.id}", {"odometer_km": 99999})
    assert_not_found(response)
    foreign_vehicle.refresh_from_db()
    assert foreign_vehicle.odometer_km == 12000


def test_api_refuses_to_edit_an_agreement_of_another_branch_and_changes_nothing(
    dxb_manager, foreign_agreement
):
    response = ApiClient(dxb_manager).patch(
        f"/api/v1/agreements/{foreign_agreement.id}", {"status": "terminated"}
    )
    assert_not_found(response)
    foreign_agreement.refresh_from_db()
    assert foreign_agreement.status == "active"


def test_pages_answer_404_for_records_of_another_branch(dxb_manager, foreign_vehicle, foreign_agreement):
    client = login_client(dxb_manager)
    for url in (
        f"/vehicles/{foreign_vehicle.id}/",
        f"/vehicles/{foreign_vehicle.id}/edit/",
        f"/agreements/{foreign_agreement.id}/",
        f"/agreements/{foreign_agreement.id}/edit/",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        assert "belongs to a branch you do not work in" in response.content.decode()


def test_posting_the_edit_page_of_a_foreign_vehicle_is_404_and_changes_nothing(dxb_manager, foreign_vehicle):
    response = login_client(dxb_manager).post(f"/vehicles/{foreign_vehicle.id}/edit/", {"odometer_km": "1"})
    assert response.status_code == 404
    foreign_vehicle.refresh_from_db()
    assert foreign_vehicle.odometer_km == 12000


def test_lists_leave_out_records_of_other_branches(
    dxb_manager, vehicle, foreign_vehicle, agreement, foreign_agreement
):
    api = ApiClient(dxb_manager)
    vehicles = api.get("/api/v1/vehicles").json()
    assert [v["plate"] for v in vehicles["items"]] == ["DXB-A-10001"]
    assert vehicles["count"] == 1
    agreements = api.get("/api/v1/agreements").json()
    assert [a["agreement_no"] for a in agreements["items"]] == ["RA-100001"]
    assert [b["code"] for b in api.get("/api/v1/branches").json()["items"]] == ["DXB"]
    page = login_client(dxb_manager)
    vehicle_page = page.get("/vehicles/").content.decode()
    assert "DXB-A-10001" in vehicle_page
    assert "AUH-C-30003" not in vehicle_page
    agreement_page = page.get("/agreements/").content.decode()
    assert "RA-100001" in agreement_page
    assert "RA-AUH-0001" not in agreement_page


def test_filtering_a_list_by_a_foreign_branch_shows_nothing(dxb_manager, other_branch, foreign_vehicle):
    body = ApiClient(dxb_manager).get("/api/v1/vehicles", {"branch_id": str(other_branch.id)}).json()
    assert body == {"items": [], "count": 0, "next": None}


def test_searching_does_not_reveal_foreign_vehicles(dxb_manager, foreign_vehicle):
    body = ApiClient(dxb_manager).get("/api/v1/vehicles", {"q": "AUH"}).json()
    assert body["count"] == 0


def test_api_refuses_to_create_a_vehicle_in_a_branch_not_theirs(dxb_manager, other_branch, vehicle_class):
    payload = {
        "plate": "AUH-X-1",
        "vin": "JTDBR32E000000001",
        "make": "Kia",
        "model": "Rio",
        "year": 2024,
        "vehicle_class_id": str(vehicle_class.id),
        "branch_id": str(other_branch.id),
    }
    response = ApiClient(dxb_manager).post("/api/v1/vehicles", payload)
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "VALIDATION_ERROR"
    assert list(error["details"]) == ["branch_id"]
    assert not Vehicle.objects.filter(plate="AUH-X-1").exists()


def test_api_refuses_to_move_a_vehicle_into_a_branch_not_theirs(dxb_manager, vehicle, other_branch, branch):
    response = ApiClient(dxb_manager).patch(
        f"/api/v1/vehicles/{vehicle.id}", {"branch_id": str(other_branch.id)}
    )
    assert response.status_code == 422
    assert list(response.json()["error"]["details"]) == ["branch_id"]
    vehicle.refresh_from_db()
    assert vehicle.branch_id == branch.id


def test_api_refuses_an_agreement_on_a_vehicle_of_another_branch(
    dxb_manager, customer, branch, foreign_vehicle
):
    now = timezone.now()
    payload = {
        "agreement_no": "RA-X-1",
        "customer_id": str(customer.id),
        "vehicle_id": str(foreign_vehicle.id),
        "branch_id": str(branch.id),
        "start_at": now.isoformat(),
        "end_at": (now + timedelta(days=3)).isoformat(),
        "daily_rate": "100.00",
        "monthly_rate": "2000.00",
    }
    response = ApiClient(dxb_manager).post("/api/v1/agreements", payload)
    assert response.status_code == 422
    assert list(response.json()["error"]["details"]) == ["vehicle_id"]
    assert not RentalAgreement.objects.filter(agreement_no="RA-X-1").exists()


def test_the_vehicle_form_does_not_accept_a_branch_not_theirs(dxb_manager, other_branch, vehicle_class):
    response = login_client(dxb_manager).post(
        "/vehicles/new/",
        {
            "plate": "AUH-X-1",
            "vin": "JTDBR32E000000001",
            "make": "Kia",
            "model": "Rio",
            "year": "2024",
            "vehicle_class": str(vehicle_class.id),
            "branch": str(other_branch.id),
            "status": "available",
            "odometer_km": "0",
            "fuel_level": "8",
        },
    )
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert not Vehicle.objects.filter(plate="AUH-X-1").exists()


def test_the_vehicle_form_offers_only_the_users_branches(dxb_manager, branch, other_branch):
    page = login_client(dxb_manager).get("/vehicles/new/").content.decode()
    assert f'value="{branch.id}"' in page
    assert f'value="{other_branch.id}"' not in page


def test_an_all_branches_admin_sees_both_branches(
    all_branches_admin, vehicle, foreign_vehicle, agreement, foreign_agreement
):
    api = ApiClient(all_branches_admin)
    assert sorted(v["plate"] for v in api.get("/api/v1/vehicles").json()["items"]) == [
        "AUH-C-30003",
        "DXB-A-10001",
    ]
    assert sorted(a["agreement_no"] for a in api.get("/api/v1/agreements").json()["items"]) == [
        "RA-100001",
        "RA-AUH-0001",
    ]
    assert api.get(f"/api/v1/vehicles/{foreign_vehicle.id}").status_code == 200
    assert api.get(f"/api/v1/agreements/{foreign_agreement.id}").status_code == 200
    page = login_client(all_branches_admin).get("/vehicles/").content.decode()
    assert "DXB-A-10001" in page
    assert "AUH-C-30003" in page
    assert login_client(all_branches_admin).get(f"/vehicles/{foreign_vehicle.id}/").status_code == 200


def test_a_user_of_two_branches_sees_both(branch, other_branch, vehicle, foreign_vehicle):
    viewer = make_user(Role.VIEWER, branch, email="two@example.com")
    viewer.branches.add(other_branch)
    body = ApiClient(viewer).get("/api/v1/vehicles").json()
    assert body["count"] == 2
