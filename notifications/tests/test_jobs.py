"""The scheduled alerts (notifications/jobs.py): each tells the right people once, in their language."""

from datetime import timedelta

import pytest

from accounts.choices import Role
from approvals.models import Approval
from custodies import jobs as custody_jobs
from custodies import services as custody_services
from custodies.tests.conftest import attach, make_draft  # noqa: F401
from notifications import jobs
from notifications.models import Notification

pytestmark = pytest.mark.django_db


@pytest.fixture
def submitted(users, make_draft):  # noqa: F811
    custody = make_draft()
    custody_services.submit_custody(users[Role.OPERATOR], custody.id)
    custody.refresh_from_db()
    return custody


def titles(user, kind):
    return list(Notification.objects.filter(user=user, kind=kind).values_list("title", flat=True))


def test_sla_at_risk_tells_supervisors_once_in_their_language(users, submitted):
    supervisor, manager = users[Role.SUPERVISOR], users[Role.MANAGER]
    manager.language = "ar"
    manager.save(update_fields=["language"])
    now = submitted.sla_approve_at_risk_at + timedelta(minutes=1)
    assert now < submitted.sla_approve_due_at
    assert jobs.sla_at_risk(now)["notified"] == 2
    assert jobs.sla_at_risk(now + timedelta(minutes=5))["notified"] == 0
    assert titles(supervisor, "sla_at_risk") == [f"SLA at risk: {submitted.custody_no}"]
    assert titles(manager, "sla_at_risk") == [f"مستوى الخدمة معرّض للتجاوز: {submitted.custody_no}"]
    assert titles(users[Role.OPERATOR], "sla_at_risk") == []


def test_a_waiting_level_is_reminded_once_after_half_its_time(users, submitted):
    level = Approval.objects.get(custody=submitted, status="pending")
    halfway = level.created_at + (level.due_at - level.created_at) / 2
    assert jobs.approval_reminders(halfway - timedelta(minutes=1)) == {"reminded": 0}
    assert jobs.approval_reminders(halfway + timedelta(minutes=1))["reminded"] >= 1
    assert jobs.approval_reminders(halfway + timedelta(minutes=2)) == {"reminded": 0}
    assert titles(users[Role.SUPERVISOR], "approval_reminder") == [
        f"Approval waiting: {submitted.custody_no}"
    ]


def test_an_escalated_level_is_announced_once(users, submitted):
    level = Approval.objects.get(custody=submitted, status="pending")
    later = level.due_at + timedelta(minutes=1)
    assert custody_jobs.sla(later)["escalated"] == 1
    assert jobs.approval_escalations(later)["notified"] >= 1
    assert jobs.approval_escalations(later + timedelta(minutes=5)) == {"notified": 0}
    assert titles(users[Role.MANAGER], "approval_escalated") == [
        f"Approval escalated: {submitted.custody_no} level {level.level}"
    ]
