"""One SLA rule: the same custody seen by its badge, the list filter, the dashboard and the approvals
inbox at several instants of a fixed clock. The 8-hour approval window is at risk for its last 2 hours
(25 %), earlier than the 60-minute rule alone would say."""

import re
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.utils import timezone

from accounts.choices import Role
from audit.context import acting_as
from conftest import login_client
from custodies import services, sla
from custodies.models import Custody, SlaPolicy

STATE_CLASS = {"on_track": "success", "at_risk": "warning", "breached": "danger"}


@pytest.fixture
def pending(users, make_draft):
    SlaPolicy.objects.filter(reason_code="breakdown", branch=None).update(approve_within_hours=Decimal("8"))
    custody = make_draft()
    with acting_as(users[Role.OPERATOR], "web"):
        services.submit_custody(users[Role.OPERATOR], custody.id)
    custody.refresh_from_db()
    return custody


def _badge_state(html: str) -> str:
    match = re.search(r'<span class="badge text-bg-(\w+) sla-badge"', html)
    assert match, html
    return {v: k for k, v in STATE_CLASS.items()}[match.group(1)]


def _seen_at(custody, users, at) -> dict:
    supervisor = users[Role.SUPERVISOR]
    with mock.patch("django.utils.timezone.now", return_value=at):
        client = login_client(supervisor)
        listing = client.get("/custodies/").content.decode()
        row = listing.split(custody.custody_no, 1)[1]
        filtered = {
            state: custody.custody_no in client.get(f"/custodies/?sla_state={state}").content.decode()
            for state in STATE_CLASS
        }
        dashboard = client.get("/").content.decode()
        inbox = client.get("/approvals/").content.decode()
        inbox_row = inbox.split('id="approval-', 1)[1]
        in_query = {
            state: Custody.objects.filter(sla.state_q(state, at), pk=custody.pk).exists()
            for state in STATE_CLASS
        }
    return {
        "badge": _badge_state(row),
        "filter": [s for s, shown in filtered.items() if shown],
        "query": [s for s, hit in in_query.items() if hit],
        "dashboard_at_risk": re.search(r'id="kpi-at-risk">(\d+)<', dashboard).group(1),
        "dashboard_breached": re.search(r'id="kpi-breached">(\d+)<', dashboard).group(1),
        "inbox": _badge_state(inbox_row),
        "view": sla.current_view(custody, at).state,
    }


@pytest.mark.parametrize(
    ("after", "state"),
    [
        (timedelta(hours=1), "on_track"),
        (timedelta(hours=6, minutes=30), "at_risk"),  # 90 min left: at risk by the 25 % share
        (timedelta(hours=7, minutes=30), "at_risk"),  # 30 min left
        (timedelta(hours=8, minutes=1), "breached"),
    ],
)
def test_badge_filter_dashboard_and_inbox_agree(users, pending, after, state):
    assert pending.sla_approve_due_at == pending.submitted_at + timedelta(hours=8)
    seen = _seen_at(pending, users, pending.submitted_at + after)
    assert seen == {
        "badge": state,
        "filter": [state],
        "query": [state],
        "dashboard_at_risk": "1" if state == "at_risk" else "0",
        "dashboard_breached": "1" if state == "breached" else "0",
        "inbox": state,
        "view": state,
    }


def test_breach_stamped_by_the_job_stays_breached_everywhere(users, pending):
    later = pending.sla_approve_due_at + timedelta(minutes=1)
    services.check_sla(later)
    pending.refresh_from_db()
    assert pending.sla_approve_breached_at == pending.sla_approve_due_at
    assert _seen_at(pending, users, later)["filter"] == ["breached"]


def test_close_window_of_a_day_is_at_risk_with_three_hours_left():
    due = timezone.now()
    start = due - timedelta(hours=24)
    risk = sla.at_risk_from(due, start)
    assert risk == due - timedelta(hours=6)
    assert sla.state_of(due, None, None, risk, due - timedelta(hours=3)) == "at_risk"
    assert sla.state_of(due, None, None, risk, due - timedelta(hours=7)) == "on_track"
    # A short window still warns an hour ahead.
    assert sla.at_risk_from(due, due - timedelta(hours=2)) == due - timedelta(hours=1)


def test_the_reports_outcome_query_agrees_with_the_badge(users, pending):
    """Reports count SLA targets with `sla.outcome_q`: undecided before the due time, breached after."""
    due = pending.sla_approve_due_at
    since, until = due - timedelta(days=1), due + timedelta(days=1)

    def outcome(at):
        decided, on_time = sla.outcome_q("approve", since, until, at)
        qs = Custody.objects.filter(pk=pending.pk)
        return qs.filter(decided).exists(), qs.filter(on_time).exists(), sla.current_view(pending, at).state

    assert outcome(due - timedelta(hours=1)) == (False, False, "at_risk")
    assert outcome(due + timedelta(minutes=1)) == (True, False, "breached")
