from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.choices import Role
from approvals.models import Approval
from audit.models import AuditEntry
from core.errors import InvalidTransition, ValidationFailed
from custodies import services
from custodies.tests.conftest import attach
from integrations.models import OutboxEvent

pytestmark = pytest.mark.django_db


def test_a_custody_runs_from_draft_to_closed(users, make_draft, vehicle, spare_vehicle):
    operator, supervisor = users[Role.OPERATOR], users[Role.SUPERVISOR]
    custody = make_draft()
    assert custody.status == "draft"
    assert custody.custody_no.startswith("CST-") and len(custody.custody_no) == 10
    assert custody.custodian_name == "Ahmed Al Mansoori"  # prefilled from the customer

    services.submit_custody(operator, custody.id)
    custody.refresh_from_db()
    assert custody.status == "pending_approval"
    assert custody.sla_approve_due_at == custody.submitted_at + timedelta(hours=1)  # breakdown: 1 h

    services.approve_custody(supervisor, custody.id, notes="ok")
    custody.refresh_from_db()
    spare_vehicle.refresh_from_db()
    assert custody.status == "approved"
    assert spare_vehicle.status == "reserved"

    attach(custody, "handover_checklist")
    services.hand_over_custody(operator, custody.id, {"odometer_km": 15000, "fuel_level": 8})
    custody.refresh_from_db()
    spare_vehicle.refresh_from_db()
    vehicle.refresh_from_db()
    assert custody.status == "active"
    assert (spare_vehicle.status, vehicle.status) == ("rented", "in_custody")

    attach(custody, "return_checklist")
    services.close_custody(
        operator,
        custody.id,
        {"returned_at": timezone.now(), "odometer_km": 15350, "fuel_level": 6, "original_ready": True},
    )
    custody.refresh_from_db()
    spare_vehicle.refresh_from_db()
    vehicle.refresh_from_db()
    assert custody.status == "closed"
    assert (spare_vehicle.status, spare_vehicle.odometer_km, spare_vehicle.fuel_level) == (
        "available",
        15350,
        6,
    )
    assert vehicle.status == "rented"  # back to the customer, agreement still active

    actions = list(
        AuditEntry.objects.filter(custody_id=custody.id).order_by("id").values_list("action", flat=True)
    )
    assert [a for a in actions if a.startswith("custody.")] == [
        "custody.created",
        "custody.submitted",
        "custody.approved",
        "custody.handed_over",
        "custody.closed",
    ]
    assert list(OutboxEvent.objects.order_by("created_at").values_list("type", flat=True)) == [
        "custody.created",
        "custody.submitted",
        "custody.approval_decided",
        "custody.approved",
        "custody.handed_over",
        "custody.closed",
        "charge.posted",
    ]
    rental = custody.charges.get()
    assert (rental.charge_type, rental.status, rental.quantity, rental.unit_price, rental.responsibility) == (
        "replacement_rental",
        "posted",
        1,
        150,
        "customer",
    )


def test_the_submitter_cannot_approve(users, make_draft):
    supervisor = users[Role.SUPERVISOR]
    custody = make_draft(user=supervisor)
    services.submit_custody(supervisor, custody.id)
    with pytest.raises(PermissionDenied):
        services.approve_custody(supervisor, custody.id)
    custody.refresh_from_db()
    assert custody.status == "pending_approval"


def test_an_accident_needs_a_supervisor_then_a_manager_each_deciding_one_level(users, make_draft):
    custody = make_draft(reason_code="accident", reason_subcode="collision_third_party")
    services.submit_custody(users[Role.OPERATOR], custody.id)
    services.approve_custody(users[Role.SUPERVISOR], custody.id)
    custody.refresh_from_db()
    assert custody.status == "pending_approval"
    with pytest.raises(PermissionDenied):
        services.approve_custody(users[Role.SUPERVISOR], custody.id)
    services.approve_custody(users[Role.MANAGER], custody.id)
    custody.refresh_from_db()
    assert custody.status == "approved"
    assert list(Approval.objects.filter(custody=custody).values_list("role", "status")) == [
        ("supervisor", "approved"),
        ("manager", "approved"),
    ]


def test_free_maintenance_without_hold_is_approved_automatically(users, make_draft):
    custody = make_draft(reason_code="maintenance", reason_subcode="regular_service", rate_policy="free")
    services.submit_custody(users[Role.OPERATOR], custody.id)
    custody.refresh_from_db()
    assert custody.status == "approved"
    assert Approval.objects.get(custody=custody).rule_name.startswith("Maintenance")


def test_reject_returns_to_draft_with_the_reason_kept(users, make_draft):
    custody = make_draft()
    services.submit_custody(users[Role.OPERATOR], custody.id)
    with pytest.raises(ValidationFailed):
        services.reject_custody(users[Role.SUPERVISOR], custody.id, reason=" ")
    services.reject_custody(users[Role.SUPERVISOR], custody.id, reason="Photos are blurred")
    custody.refresh_from_db()
    assert (custody.status, custody.last_reject_reason) == ("draft", "Photos are blurred")


def test_terminal_custodies_accept_no_action(users, make_draft):
    custody = make_draft()
    services.void_custody(users[Role.OPERATOR], custody.id, reason="Opened by mistake")
    with pytest.raises(InvalidTransition) as exc:
        services.submit_custody(users[Role.OPERATOR], custody.id)
    assert exc.value.details["allowed_actions"] == []


def test_submission_blocks_on_missing_documents(users, agreement, spare_vehicle):
    from custodies.tests.conftest import draft_data

    custody = services.create_custody(users[Role.OPERATOR], draft_data(agreement, spare_vehicle))
    with pytest.raises(ValidationFailed) as exc:
        services.submit_custody(users[Role.OPERATOR], custody.id)
    assert "documents" in exc.value.details
    custody.refresh_from_db()
    assert custody.status == "draft"
