"""List conventions of DESIGN §15: shape, limit, cursor and page, ordering, search, filters."""

import pytest

from conftest import ApiClient, make_vehicle
from fleet.models import Customer, RentalAgreement, Vehicle, VehicleClass
from fleet.tests.helpers import make_agreements, make_vehicles

pytestmark = pytest.mark.django_db


@pytest.fixture
def api(users):
    return ApiClient(users["viewer"])


def walk(api, url, params):
    """Follow `next` from the first page to the last; returns the pages' bodies."""
    pages = [api.get(url, params).json()]
    while pages[-1]["next"]:
        response = api.get(pages[-1]["next"])
        assert response.status_code == 200, response.content
        pages.append(response.json())
        assert len(pages) < 100
    return pages


def test_a_list_answers_items_count_and_next(api, vehicle):
    body = api.get("/api/v1/vehicles").json()
    assert set(body) == {"items", "count", "next"}
    assert body["count"] == 1
    assert body["next"] is None
    item = body["items"][0]
    assert item["plate"] == "DXB-A-10001"
    assert item["vehicle_class"] == {"id": str(vehicle.vehicle_class_id), "code": "COMP"}
    assert item["branch"] == {"id": str(vehicle.branch_id), "code": "DXB"}


def test_the_default_limit_is_50(api, branch, vehicle_class):
    make_vehicles(60, branch, vehicle_class)
    body = api.get("/api/v1/vehicles").json()
    assert len(body["items"]) == 50
    assert body["count"] == 60
    assert body["next"].startswith("/api/v1/vehicles?cursor=")


def test_the_limit_may_be_up_to_200(api, branch, vehicle_class):
    make_vehicles(201, branch, vehicle_class)
    body = api.get("/api/v1/vehicles", {"limit": 200}).json()
    assert len(body["items"]) == 200
    assert body["count"] == 201


@pytest.mark.parametrize("limit", [201, 500])
def test_a_limit_above_200_is_refused(api, limit):
    response = api.get("/api/v1/vehicles", {"limit": limit})
    assert response.status_code == 422
    assert response.json()["error"] == {
        "code": "VALIDATION_ERROR",
        "message": "The request is not valid.",
        "details": {"limit": ["Input should be less than or equal to 200"]},
    }


@pytest.mark.parametrize("ordering", ["plate", "-plate", "year", "-year", "-created_at", "status", "make"])
def test_the_cursor_walks_every_row_once_in_order(api, branch, vehicle_class, ordering):
    # given 23 vehicles whose years repeat (ties are broken by id)
    make_vehicles(23, branch, vehicle_class)
    # when walking pages of 5
    pages = walk(api, "/api/v1/vehicles", {"limit": 5, "ordering": ordering})
    # then every vehicle comes exactly once, in the asked order
    plates = [item["plate"] for page in pages for item in page["items"]]
    expected = list(
        Vehicle.objects.order_by(ordering, f"{'-' if ordering[0] == '-' else ''}pk").values_list(
            "plate", flat=True
        )
    )
    assert plates == expected
    assert len(set(plates)) == 23
    assert [len(page["items"]) for page in pages] == [5, 5, 5, 5, 3]
    assert all(page["count"] == 23 for page in pages)


def test_the_cursor_keeps_the_filters(api, branch, vehicle_class):
    make_vehicles(12, branch, vehicle_class, status="available")
    make_vehicles(12, branch, vehicle_class, start=100, status="rented")
    pages = walk(api, "/api/v1/vehicles", {"limit": 5, "status": "rented"})
    assert [len(p["items"]) for p in pages] == [5, 5, 2]
    assert {item["status"] for p in pages for item in p["items"]} == {"rented"}


def test_page_numbers_work_and_next_points_to_the_next_page(api, branch, vehicle_class):
    make_vehicles(25, branch, vehicle_class)
    body = api.get("/api/v1/vehicles", {"limit": 10, "page": 2}).json()
    assert [item["plate"] for item in body["items"]] == [f"T-{n:05d}" for n in range(11, 21)]
    assert body["next"] == "/api/v1/vehicles?limit=10&page=3"
    last = api.get(body["next"]).json()
    assert [item["plate"] for item in last["items"]] == [f"T-{n:05d}" for n in range(21, 26)]
    assert last["next"] is None


def test_a_page_past_the_end_is_empty(api, branch, vehicle_class):
    make_vehicles(3, branch, vehicle_class)
    assert api.get("/api/v1/vehicles", {"page": 9}).json() == {"items": [], "count": 3, "next": None}


def test_ordering_is_applied_and_whitelisted(api, branch, vehicle_class):
    make_vehicles(6, branch, vehicle_class)
    body = api.get("/api/v1/vehicles", {"ordering": "-plate"}).json()
    assert [item["plate"] for item in body["items"]] == [
        "T-00006",
        "T-00005",
        "T-00004",
        "T-00003",
        "T-00002",
        "T-00001",
    ]
    response = api.get("/api/v1/vehicles", {"ordering": "vin"})
    assert response.status_code == 422
    assert list(response.json()["error"]["details"]) == ["ordering"]
    assert api.get("/api/v1/vehicles", {"ordering": "branch__users__password"}).status_code == 422


def test_q_searches_plate_vin_make_and_model(api, branch, vehicle_class):
    make_vehicles(3, branch, vehicle_class)
    make_vehicle(branch, vehicle_class, "DXB-N-77777", make="Nissan", model="Patrol")
    assert [v["plate"] for v in api.get("/api/v1/vehicles", {"q": "nissan"}).json()["items"]] == [
        "DXB-N-77777"
    ]
    assert [v["plate"] for v in api.get("/api/v1/vehicles", {"q": "PATROL"}).json()["items"]] == [
        "DXB-N-77777"
    ]
    assert [v["plate"] for v in api.get("/api/v1/vehicles", {"q": "t-00002"}).json()["items"]] == ["T-00002"]
    assert api.get("/api/v1/vehicles", {"q": "no such thing"}).json()["count"] == 0


def test_status_may_repeat(api, branch, vehicle_class):
    for n, status in enumerate(["available", "rented", "maintenance", "in_custody"]):
        make_vehicle(branch, vehicle_class, f"S-{n}", status=status)
    body = api.client.get("/api/v1/vehicles?status=available&status=rented", **api.headers).json()
    assert sorted((v["plate"], v["status"]) for v in body["items"]) == [
        ("S-0", "available"),
        ("S-1", "rented"),
    ]
    assert body["count"] == 2


def test_vehicles_filter_by_branch_and_class(api, users, branch, other_branch, vehicle_class):
    suv = VehicleClass.objects.create(
        code="SUV-M", name="Mid SUV", daily_rate="250.00", monthly_rate="5000.00"
    )
    make_vehicle(branch, vehicle_class, "F-1")
    make_vehicle(branch, suv, "F-2")
    make_vehicle(other_branch, suv, "F-3")
    admin = ApiClient(users["admin"])
    by_class = admin.get("/api/v1/vehicles", {"vehicle_class_id": str(suv.id)}).json()
    assert sorted(v["plate"] for v in by_class["items"]) == ["F-2", "F-3"]
    both = admin.get(
        "/api/v1/vehicles", {"vehicle_class_id": str(suv.id), "branch_id": str(branch.id)}
    ).json()
    assert [v["plate"] for v in both["items"]] == ["F-2"]


def test_available_vehicles_are_only_available_ones_of_that_branch_and_class(
    users, branch, other_branch, vehicle_class
):
    suv = VehicleClass.objects.create(
        code="SUV-M", name="Mid SUV", daily_rate="250.00", monthly_rate="5000.00"
    )
    make_vehicle(branch, vehicle_class, "A-1", status="available")
    make_vehicle(branch, vehicle_class, "A-2", status="available")
    for n, status in enumerate(["reserved", "rented", "in_custody", "maintenance", "out_of_service"]):
        make_vehicle(branch, vehicle_class, f"N-{n}", status=status)
    make_vehicle(branch, suv, "A-3", status="available")
    make_vehicle(other_branch, vehicle_class, "A-4", status="available")
    api = ApiClient(users["admin"])
    body = api.get(
        "/api/v1/vehicles/available", {"branch_id": str(branch.id), "vehicle_class_id": str(vehicle_class.id)}
    ).json()
    assert [v["plate"] for v in body["items"]] == ["A-1", "A-2"]
    assert body["count"] == 2
    everywhere = api.get("/api/v1/vehicles/available").json()
    assert [v["plate"] for v in everywhere["items"]] == ["A-1", "A-2", "A-3", "A-4"]


def test_available_vehicles_stay_inside_the_users_branches(api, branch, other_branch, vehicle_class):
    make_vehicle(other_branch, vehicle_class, "A-4", status="available")
    body = api.get("/api/v1/vehicles/available", {"branch_id": str(other_branch.id)}).json()
    assert body == {"items": [], "count": 0, "next": None}


def test_customers_search_by_name_phone_and_number_and_filter_by_kind_and_active(api):
    Customer.objects.create(customer_no="C-1", full_name="Aisha Al Hammadi", phone="+971 50 111 2222")
    Customer.objects.create(customer_no="C-2", full_name="Gulf Logistics LLC", kind="company", active=False)
    Customer.objects.create(customer_no="C-3", full_name="Omar Haddad", email="omar@example.ae")

    def numbers(**params):
        return [
            c["customer_no"]
            for c in api.get("/api/v1/customers", {"ordering": "customer_no", **params}).json()["items"]
        ]

    assert numbers(q="hammadi") == ["C-1"]
    assert numbers(q="111 2222") == ["C-1"]
    assert numbers(q="omar@") == ["C-3"]
    assert numbers(kind="company") == ["C-2"]
    assert numbers(active="false") == ["C-2"]
    assert numbers(active="true") == ["C-1", "C-3"]
    assert api.get("/api/v1/customers", {"ordering": "national_id"}).status_code == 422


def test_agreements_filter_by_repeated_status_and_customer(api, branch, vehicle_class):
    agreements = make_agreements(make_vehicles(4, branch, vehicle_class), branch)
    RentalAgreement.objects.filter(pk=agreements[1].pk).update(status="completed")
    RentalAgreement.objects.filter(pk=agreements[2].pk).update(status="terminated")
    body = api.client.get(
        "/api/v1/agreements?status=completed&status=terminated&ordering=agreement_no", **api.headers
    ).json()
    assert [a["agreement_no"] for a in body["items"]] == ["RA-B00002", "RA-B00003"]
    by_customer = api.get("/api/v1/agreements", {"customer_id": str(agreements[3].customer_id)}).json()
    assert [a["agreement_no"] for a in by_customer["items"]] == ["RA-B00004"]
    assert by_customer["items"][0]["customer"] == {
        "id": str(agreements[3].customer_id),
        "customer_no": "C-B00004",
        "full_name": "Customer 00004",
    }
    assert by_customer["items"][0]["daily_rate"] == "150.00"


def test_agreements_walk_by_cursor_in_the_default_newest_start_first_order(api, branch, vehicle_class):
    make_agreements(make_vehicles(17, branch, vehicle_class), branch)
    pages = walk(api, "/api/v1/agreements", {"limit": 4})
    numbers = [a["agreement_no"] for p in pages for a in p["items"]]
    assert numbers == list(
        RentalAgreement.objects.order_by("-start_at", "-pk").values_list("agreement_no", flat=True)
    )
    assert len(set(numbers)) == 17


def test_reference_lists_page_through_every_row(users, db):
    api = ApiClient(users["admin"])
    VehicleClass.objects.bulk_create(
        [
            VehicleClass(code=f"K{n:02d}", name=f"Class {n}", daily_rate="100.00", monthly_rate="2000.00")
            for n in range(7)
        ]
    )
    pages = walk(api, "/api/v1/vehicle-classes", {"limit": 3})
    assert [c["code"] for p in pages for c in p["items"]] == [f"K{n:02d}" for n in range(7)]
