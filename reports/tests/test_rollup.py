"""The daily KPI rollup gives the same figures as the live queries, and follows later changes."""

from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts.choices import Role
from billing.models import Charge
from conftest import make_user
from core.schedule import jobs as scheduled_jobs
from custodies.models import Custody
from reports import kpis, services
from reports.models import KpiDay, KpiRollupState

from .conftest import NOW, nov

NOVEMBER = kpis.Period(date(2026, 11, 1), date(2026, 11, 30))
PERIODS = [
    NOVEMBER,
    kpis.Period(date(2026, 10, 1), date(2026, 11, 30)),
    kpis.Period(date(2026, 11, 10), date(2026, 11, 20)),
]


@pytest.fixture(autouse=True)
def _dubai(settings):
    settings.TIME_ZONE = "Asia/Dubai"
    timezone.activate("Asia/Dubai")
    yield
    timezone.deactivate()


def test_the_rollup_job_is_registered_by_the_reports_app():
    assert {"kpi_rollup", "export_cleanup"} <= {job.name for job in scheduled_jobs()}


def test_rolled_up_figures_equal_the_live_ones(kpi_data, users, branch):
    viewer = make_user(Role.VIEWER, branch, email="dxb.viewer@example.com")
    scopes = [kpis.Scope(users[Role.ADMIN]), kpis.Scope(viewer), kpis.Scope(users[Role.ADMIN], branch.pk)]
    live = {(i, p): kpis.compute(s, p, NOW) for i, s in enumerate(scopes) for p in PERIODS}

    result = services.kpi_rollup(NOW)
    state = KpiRollupState.objects.get()
    assert state.covered_until == date(2026, 11, 29)  # today (30 Nov) is still counted live
    assert result["days"] >= 60 and KpiDay.objects.exists()
    assert kpis.rollup_split(NOVEMBER)[1] == kpis.Period(date(2026, 11, 30), date(2026, 11, 30))
    for (i, p), expected in live.items():
        assert kpis.compute(scopes[i], p, NOW) == expected, (i, p)
    # The hand-computed figures of docs/metrics.md's worked example, now mostly from the rollup.
    dxb = kpis.compute(scopes[1], NOVEMBER, NOW)
    assert (dxb["custodies_created"], dxb["sla_on_time_pct"], dxb["average_duration_hours"]) == (
        6,
        40.0,
        30.0,
    )
    assert dxb["approval_turnaround_hours"] == {"median": 4.0, "p90": 8.8}
    assert (str(dxb["charges_total"]), str(dxb["outstanding_balance"])) == ("710.00", "280.00")


def test_a_later_void_of_a_rolled_up_charge_is_picked_up_by_the_next_run(kpi_data, users):
    admin = kpis.Scope(users[Role.ADMIN])
    services.kpi_rollup(NOW)
    before = kpis.compute(admin, NOVEMBER, NOW)
    posted = (
        Charge.objects.filter(status="posted", posted_at__gte=NOVEMBER.since).order_by("posted_at").first()
    )
    Charge.objects.filter(pk=posted.pk).update(
        status="void", voided_at=NOW, updated_at=NOW + timedelta(minutes=5)
    )
    services.kpi_rollup(NOW + timedelta(minutes=10))
    after = kpis.compute(admin, NOVEMBER, NOW)
    assert after["charges_total"] == before["charges_total"] - posted.total
    KpiRollupState.objects.all().delete()  # back to live queries only: the same figures
    assert kpis.compute(admin, NOVEMBER, NOW) == after


@pytest.mark.parametrize("period", PERIODS)
def test_every_analytics_chart_draws_the_same_figures_from_the_rollup(kpi_data, users, branch, period):
    from reports import analytics

    viewer = make_user(Role.VIEWER, branch, email="dxb.viewer@example.com")
    scopes = [kpis.Scope(users[Role.ADMIN]), kpis.Scope(viewer), kpis.Scope(users[Role.ADMIN], branch.pk)]

    def drawn(scope):
        return {c.key: (c.labels, c.datasets, c.rows, c.note) for c in analytics.build(scope, period, NOW)}

    live = [drawn(scope) for scope in scopes]
    charts = live[0]
    # not an empty comparison: in November the fixed data set draws every chart but the vehicles one
    drawn_keys = {key for key in analytics.CHARTS if charts[key][2]}
    if period.start <= date(2026, 11, 8) <= period.end:
        assert drawn_keys == set(analytics.CHARTS) - {"vehicles"}
    else:
        assert {"per-day", "status", "branch", "customers"} <= drawn_keys
    services.kpi_rollup(NOW)
    assert kpis.rollup_split(period)[0] is not None  # most of the period now comes from KpiDay
    for scope, expected in zip(scopes, live, strict=True):
        assert drawn(scope) == expected
    KpiDay.objects.all().update(by_status={}, by_reason={}, by_customer={}, insurers={})
    assert drawn(scopes[0]) != live[0]  # they did read the rollup


def test_a_custody_whose_insurer_changes_moves_its_rolled_up_charges(kpi_data, users):
    from reports import analytics

    admin = kpis.Scope(users[Role.ADMIN])
    custody = kpi_data[1]
    # posted on a day none of the custody's own dates falls on
    Charge.objects.filter(custody=custody, responsibility="insurance").update(posted_at=nov(20, 9))
    services.kpi_rollup(NOW)
    Custody.objects.filter(pk=custody.pk).update(
        insurer_name="Gulf Mutual", updated_at=NOW + timedelta(minutes=5)
    )
    services.kpi_rollup(NOW + timedelta(minutes=10))
    (recovery,) = analytics.build(admin, NOVEMBER, NOW, only="recovery")
    assert ["Gulf Mutual", Decimal("210.00"), Decimal("0.00"), Decimal("210.00")] in recovery.rows
