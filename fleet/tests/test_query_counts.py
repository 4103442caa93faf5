"""Lists run a constant number of queries, whatever the number of rows (no N+1)."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from conftest import ApiClient, login_client
from fleet.tests.helpers import make_agreements, make_vehicles

pytestmark = pytest.mark.django_db


def queries_for(get, url) -> int:
    get(url)  # warm up: token last-used stamp, session, caches
    with CaptureQueriesContext(connection) as captured:
        response = get(url)
    assert response.status_code == 200, response.content[:500]
    return len(captured.captured_queries)


def counts_with_5_and_50_rows(get, url, add_rows) -> tuple[int, int]:
    add_rows(5, 1)
    five = queries_for(get, url)
    add_rows(45, 6)
    fifty = queries_for(get, url)
    return five, fifty


@pytest.fixture
def add_vehicles(branch, vehicle_class):
    return lambda count, start: make_vehicles(count, branch, vehicle_class, start=start)


@pytest.fixture
def add_agreements(branch, vehicle_class):
    return lambda count, start: make_agreements(
        make_vehicles(count, branch, vehicle_class, start=start), branch, start=start
    )


@pytest.mark.parametrize("role", ["viewer", "admin"])
def test_the_vehicle_list_page_runs_the_same_queries_for_5_and_50_rows(users, add_vehicles, role):
    client = login_client(users[role])
    five, fifty = counts_with_5_and_50_rows(client.get, "/vehicles/", add_vehicles)
    assert fifty == five
    assert five <= 12


@pytest.mark.parametrize(("url", "rows"), [("/agreements/", "agreements"), ("/customers/", "agreements")])
def test_the_agreement_and_customer_list_pages_run_the_same_queries_for_5_and_50_rows(
    users, add_agreements, url, rows
):
    client = login_client(users["manager"])
    five, fifty = counts_with_5_and_50_rows(client.get, url, add_agreements)
    assert fifty == five


def test_the_vehicle_api_list_runs_the_same_queries_for_5_and_50_rows(users, add_vehicles):
    api = ApiClient(users["operator"])
    five, fifty = counts_with_5_and_50_rows(api.get, "/api/v1/vehicles?limit=50", add_vehicles)
    assert fifty == five
    assert five <= 5


def test_the_agreement_api_list_runs_the_same_queries_for_5_and_50_rows(users, add_agreements):
    api = ApiClient(users["operator"])
    five, fifty = counts_with_5_and_50_rows(api.get, "/api/v1/agreements?limit=50", add_agreements)
    assert fifty == five
    assert five <= 5


def test_available_vehicles_run_the_same_queries_for_5_and_50_rows(users, add_vehicles):
    api = ApiClient(users["operator"])
    five, fifty = counts_with_5_and_50_rows(api.get, "/api/v1/vehicles/available?limit=50", add_vehicles)
    assert fifty == five


def test_the_vehicle_api_list_stays_within_a_fixed_budget(users, add_vehicles, django_assert_max_num_queries):
    api = ApiClient(users["viewer"])
    add_vehicles(50, 1)
    api.get("/api/v1/vehicles")
    # token lookup, the user's branches, count, one page of rows
    with django_assert_max_num_queries(4):
        assert len(api.get("/api/v1/vehicles?limit=50").json()["items"]) == 50
