import pytest

from approvals.models import ApprovalRule
from audit.models import AuditEntry
from conftest import login_client

pytestmark = pytest.mark.django_db


def test_an_admin_edits_an_approval_rule_and_the_change_is_audited(admin_user):
    rule = ApprovalRule.objects.get(priority=1000)
    client = login_client(admin_user)
    page = client.get(f"/django-admin/approvals/approvalrule/{rule.pk}/change/")
    assert page.status_code == 200
    response = client.post(
        f"/django-admin/approvals/approvalrule/{rule.pk}/change/",
        {
            "name": rule.name,
            "priority": 1000,
            "active": "on",
            "reason_codes": "[]",
            "branch_codes": "[]",
            "custodian_types": "[]",
            "rate_policies": "[]",
            "min_damage_hold": "",
            "max_damage_hold": "",
            "min_estimated_cost": "",
            "levels": '[{"role": "manager", "due_hours": 3}]',
        },
    )
    assert response.status_code == 302
    rule.refresh_from_db()
    assert rule.levels == [{"role": "manager", "due_hours": 3}]
    entry = AuditEntry.objects.get(action="approvalrule.updated")
    assert entry.changes["levels"] == [
        [{"role": "supervisor", "due_hours": None}],
        [{"role": "manager", "due_hours": 3}],
    ]
    assert entry.actor == admin_user


def test_non_admins_cannot_open_the_rules(users):
    from accounts.choices import Role

    response = login_client(users[Role.MANAGER]).get("/django-admin/approvals/approvalrule/")
    assert response.status_code == 302  # to the admin login: managers are not staff


def test_the_sla_check_command_stamps_a_breach_once(users, make_draft):
    from datetime import timedelta

    from django.core.management import call_command
    from django.utils import timezone

    from accounts.choices import Role
    from custodies import services
    from custodies.models import Custody
    from integrations.models import OutboxEvent

    custody = make_draft()
    services.submit_custody(users[Role.OPERATOR], custody.id)
    Custody.objects.filter(pk=custody.pk).update(sla_approve_due_at=timezone.now() - timedelta(minutes=5))
    call_command("sla_check")
    call_command("sla_check")
    custody.refresh_from_db()
    assert custody.sla_approve_breached_at is not None
    assert OutboxEvent.objects.filter(type="custody.sla_breached").count() == 1
