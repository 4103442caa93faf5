"""`GET /api/v1/reports/kpis` as DESIGN §15.2 describes it."""

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.choices import Role
from conftest import make_user

URL = "/api/v1/reports/kpis"


@pytest.fixture
def dxb_viewer(branch):
    return make_user(Role.VIEWER, branch, email="dxb.viewer@example.com")


def test_the_kpis_of_a_period_as_the_contract_says(kpi_data, dxb_viewer, api_as, branch):
    response = api_as(dxb_viewer).get(URL, {"from": "2026-11-01", "to": "2026-11-30", "branch_id": branch.pk})
    assert response.status_code == 200
    body = response.json()
    assert body["from"] == "2026-11-01" and body["to"] == "2026-11-30"
    assert body["branch_id"] == str(branch.pk)
    kpis = body["kpis"]
    assert kpis["custodies_created"] == 6
    assert kpis["charges_total"] == "710.00"
    assert kpis["charges_by_type"]["damage"] == "210.00"
    assert kpis["charges_by_responsibility"]["insurance"] == "210.00"
    assert kpis["outstanding_balance"] == "280.00"
    assert kpis["approval_turnaround_hours"] == {"median": 4.0, "p90": 8.8}
    assert set(kpis) >= {
        "active_custodies",
        "pending_approvals",
        "overdue_custodies",
        "custodies_created",
        "custodies_per_day",
        "sla_on_time_pct",
        "average_duration_hours",
        "approval_turnaround_hours",
        "charges_total",
        "charges_by_type",
        "charges_by_responsibility",
        "outstanding_balance",
    }


def test_by_default_the_last_30_days_of_all_my_branches_with_null_for_no_data(dxb_viewer, api_as):
    body = api_as(dxb_viewer).get(URL).json()
    today = timezone.localdate()
    assert body["to"] == today.isoformat()
    assert body["from"] == (today - timedelta(days=29)).isoformat()
    assert body["branch_id"] is None
    assert body["kpis"]["sla_on_time_pct"] is None
    assert body["kpis"]["average_duration_hours"] is None
    assert body["kpis"]["custodies_created"] == 0


def test_another_branch_is_not_found_for_a_one_branch_viewer(kpi_data, dxb_viewer, api_as, other_branch):
    response = api_as(dxb_viewer).get(URL, {"branch_id": other_branch.pk})
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "params, field",
    [
        ({"from": "2026-11-30", "to": "2026-11-01"}, "to"),
        ({"from": "2020-01-01", "to": "2026-11-01"}, "from"),
        ({"from": "yesterday"}, "from"),
        ({"branch_id": "not-a-uuid"}, "branch_id"),
    ],
)
def test_bad_filters_are_a_422_naming_the_field(dxb_viewer, api_as, params, field):
    response = api_as(dxb_viewer).get(URL, params)
    assert response.status_code == 422
    assert field in response.json()["error"]["details"]


def test_anonymous_callers_are_refused(api_as):
    assert api_as().get(URL).status_code == 401
