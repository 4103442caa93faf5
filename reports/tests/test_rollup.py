"""The daily KPI rollup gives the same figures as the live queries, and follows later changes."""

from datetime import date, timedelta

import pytest
from django.utils import timezone

from accounts.choices import Role
from billing.models import Charge
from conftest import make_user
from core.schedule import jobs as scheduled_jobs
from reports import kpis, services
from reports.models import KpiDay, KpiRollupState

from .conftest import NOW

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


def test_the_analytics_charts_read_the_rollup_and_draw_the_same_figures(kpi_data, users, branch):
    from reports import analytics

    scope = kpis.Scope(users[Role.ADMIN])
    charts = ("charges", "turnaround", "sla")

    def drawn():
        built = {c.key: c for c in analytics.build(scope, NOVEMBER, NOW)}
        return {key: (built[key].labels, built[key].datasets, built[key].note) for key in charts}

    live = drawn()
    assert any(any(d["data"]) for d in live["charges"][1]) and any(live["turnaround"][1][0]["data"])
    assert live["sla"][0] and live["sla"][2]  # branches drawn, and the overall figure
    services.kpi_rollup(NOW)
    assert kpis.rollup_split(NOVEMBER)[0] is not None  # most of November now comes from KpiDay
    assert drawn() == live
