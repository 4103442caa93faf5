"""Each KPI on the fixed data set of conftest.py, computed by hand (docs/metrics.md has the sums)."""

from datetime import date
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.choices import Role
from conftest import make_user
from custodies import sla
from reports import kpis

from .conftest import NOW

NOVEMBER = kpis.Period(date(2026, 11, 1), date(2026, 11, 30))


@pytest.fixture(autouse=True)
def _dubai():
    with timezone.override("Asia/Dubai"):
        yield


@pytest.fixture
def dxb_viewer(branch):
    return make_user(Role.VIEWER, branch, email="dxb.viewer@example.com")


@pytest.fixture
def everyone(db):
    return make_user(Role.ADMIN, email="hq@example.com", all_branches=True)


def figures(user, branch_id=None, period=NOVEMBER):
    return kpis.compute(kpis.Scope(user, branch_id), period, NOW)


def test_a_one_branch_viewer_gets_the_hand_computed_figures_of_their_branch_only(kpi_data, dxb_viewer):
    result = figures(dxb_viewer)
    assert result == {
        "active_custodies": 2,  # C3 (open-ended) and C4
        "pending_approvals": 1,  # C5
        "overdue_custodies": 1,  # C4: expected back 29 Nov 12:00; C3 has no expected return
        "custodies_created": 6,  # C1 C2 C3 C5 C7 C10; C6 voided, C4 and C9 October, C8 AUH
        "custodies_per_day": 0.2,  # 6 / 30 days
        # approve: C1 ✓ C2 ✗ C3 ✗ C7 ✓ (C5 not yet due, C6 voided before due); handover: C1 ✗ C2 ✗ C3 ✓
        # C7 ✗ (past due, not handed over); close: C1 ✓ C4 ✗  → 4 of 10
        "sla_on_time_pct": 40.0,
        "sla_on_time_pct_by_target": {"approve": 50.0, "handover": 25.0, "close": 50.0},
        "average_duration_hours": 30.0,  # C1 48 h, C2 12 h; C3/C4 still open, C9 closed in October
        # C1 2 h, C2 4 h, C3 10 h from its resubmission; C7 automatic, C4 approved in October
        "approval_turnaround_hours": {"median": 4.0, "p90": 8.8},
        "charges_total": Decimal("710.00"),  # C1 500 + 210; draft, void and October lines excluded
        "charges_by_type": {
            "replacement_rental": Decimal("500.00"),
            "damage": Decimal("210.00"),
            "upgrade": Decimal("0.00"),
            "downgrade": Decimal("0.00"),
            "admin_fee": Decimal("0.00"),
            "fuel": Decimal("0.00"),
            "excess_km": Decimal("0.00"),
            "late_return": Decimal("0.00"),
            "other": Decimal("0.00"),
        },
        "charges_by_responsibility": {
            "customer": Decimal("500.00"),
            "company": Decimal("0.00"),
            "insurance": Decimal("210.00"),
            "third_party": Decimal("0.00"),
        },
        # billed by 30 Nov: 500 + 210 + 100 (October) = 810; paid 500 − 20 refund + 50 = 530
        "outstanding_balance": Decimal("280.00"),
    }


def test_all_branches_add_the_other_branch(kpi_data, everyone):
    result = figures(everyone)
    assert result["custodies_created"] == 7
    assert result["approval_turnaround_hours"] == {"median": 7.0, "p90": 10.0}  # 2, 4, 10, 10
    assert result["sla_on_time_pct_by_target"]["approve"] == 40.0  # + C8 late: 2 of 5
    assert result["average_duration_hours"] == 36.0  # 48, 12, 48
    assert result["charges_total"] == Decimal("1710.00")
    assert result["outstanding_balance"] == Decimal("1280.00")


def test_one_branch_filter_narrows_an_all_branch_user(kpi_data, everyone, other_branch):
    result = figures(everyone, other_branch.pk)
    assert result["custodies_created"] == 1
    assert result["active_custodies"] == 0
    assert result["sla_on_time_pct"] == 0.0  # one target due, missed: 0 %, not "no data"
    assert result["approval_turnaround_hours"] == {"median": 10.0, "p90": 10.0}
    assert result["charges_by_responsibility"]["insurance"] == Decimal("1000.00")


def test_a_period_without_data_gives_null_for_rates_and_durations_and_zero_for_counts(kpi_data, dxb_viewer):
    result = figures(dxb_viewer, period=kpis.Period(date(2025, 1, 1), date(2025, 1, 31)))
    assert result["custodies_created"] == 0
    assert result["custodies_per_day"] == 0.0
    assert result["sla_on_time_pct"] is None
    assert result["sla_on_time_pct_by_target"] == {"approve": None, "handover": None, "close": None}
    assert result["average_duration_hours"] is None
    assert result["approval_turnaround_hours"] == {"median": None, "p90": None}
    assert result["charges_total"] == Decimal("0.00")
    assert result["outstanding_balance"] == Decimal("0.00")
    assert result["active_custodies"] == 2  # "now" figures ignore the period


def test_an_empty_database_is_not_an_error(dxb_viewer):
    result = figures(dxb_viewer)
    assert result["sla_on_time_pct"] is None and result["active_custodies"] == 0


def test_the_previous_period_has_the_same_length_just_before():
    assert NOVEMBER.previous() == kpis.Period(date(2026, 10, 2), date(2026, 10, 31))


def test_the_sla_query_twin_agrees_with_the_sla_module(kpi_data, everyone):
    """sla_target_q must classify every target exactly as custodies.sla.state_of does."""
    for target in ("approve", "handover", "close"):
        decided, on_time = kpis.sla_target_q(target, NOVEMBER, NOW)
        scope = kpis.Scope(everyone).custodies()
        decided_ids = set(scope.filter(decided).values_list("pk", flat=True))
        on_time_ids = set(scope.filter(on_time).values_list("pk", flat=True))
        for custody in scope.filter(pk__in=decided_ids):
            state = sla.target_view(custody, target, NOW).state
            assert state == ("met" if custody.pk in on_time_ids else "breached"), (custody.custody_no, target)
