"""Every transition allowed and refused, submission rules, approval rules, SLA and vehicles."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.choices import Role
from approvals.models import Approval, ApprovalRule
from billing import rental
from conftest import make_user, make_vehicle
from core.errors import Conflict, InvalidTransition, ValidationFailed
from custodies import services, sla
from custodies.choices import CustodyStatus
from custodies.models import Custody
from custodies.rules import check_submission
from custodies.tests.conftest import attach
from custodies.transitions import TRANSITIONS
from integrations.models import OutboxEvent

pytestmark = pytest.mark.django_db


def to_status(custody, status, users):
    """Drive a fresh draft to `status` through the services."""
    op, sup = users[Role.OPERATOR], users[Role.SUPERVISOR]
    if status == "draft":
        return custody
    if status == "voided":
        services.void_custody(op, custody.id, "mistake")
        return custody
    services.submit_custody(op, custody.id)
    if status == "pending_approval":
        return custody
    services.approve_custody(sup, custody.id)
    if status == "approved":
        return custody
    attach(custody, "handover_checklist")
    services.hand_over_custody(op, custody.id, {"odometer_km": 20000, "fuel_level": 8})
    if status == "active":
        return custody
    attach(custody, "return_checklist")
    services.close_custody(
        op, custody.id, {"returned_at": timezone.now(), "odometer_km": 20100, "fuel_level": 8}
    )
    assert status == "closed"
    return custody


ACTION_ARGS = {
    "submit": lambda u, c: services.submit_custody(u, c.id),
    "approve": lambda u, c: services.approve_custody(u, c.id),
    "reject": lambda u, c: services.reject_custody(u, c.id, "no"),
    "handover": lambda u, c: services.hand_over_custody(u, c.id, {"odometer_km": 1, "fuel_level": 1}),
    "close": lambda u, c: services.close_custody(
        u, c.id, {"returned_at": timezone.now(), "odometer_km": 1, "fuel_level": 1}
    ),
    "void": lambda u, c: services.void_custody(u, c.id, "reason"),
}


REFUSED = [
    (status, action)
    for status in CustodyStatus.values
    for action in ACTION_ARGS
    if (status, action) not in TRANSITIONS
]


@pytest.mark.parametrize("status,action", REFUSED)
def test_actions_outside_the_transition_table_are_refused_and_change_nothing(
    users, make_draft, status, action
):
    custody = to_status(make_draft(), status, users)
    custody.refresh_from_db()
    version = custody.version
    with pytest.raises(InvalidTransition):
        ACTION_ARGS[action](users[Role.ADMIN], custody)
    custody.refresh_from_db()
    assert (custody.status, custody.version) == (status, version)


@pytest.mark.parametrize(
    "role,allowed",
    [
        (Role.VIEWER, False),
        (Role.FINANCE, False),
        (Role.OPERATOR, True),
        (Role.SUPERVISOR, True),
        (Role.MANAGER, True),
        (Role.ADMIN, True),
    ],
)
def test_who_may_submit(users, make_draft, role, allowed):
    custody = make_draft()
    if allowed:
        services.submit_custody(users[role], custody.id)
        custody.refresh_from_db()
        assert custody.status == "pending_approval"
    else:
        with pytest.raises(PermissionDenied):
            services.submit_custody(users[role], custody.id)
        custody.refresh_from_db()
        assert custody.status == "draft"


@pytest.mark.parametrize("status", ["pending_approval", "approved", "active"])
@pytest.mark.parametrize(
    "role,allowed",
    [(Role.OPERATOR, False), (Role.SUPERVISOR, False), (Role.MANAGER, True), (Role.ADMIN, True)],
)
def test_only_managers_void_submitted_custodies(users, make_draft, status, role, allowed):
    custody = to_status(make_draft(), status, users)
    if allowed:
        services.void_custody(users[role], custody.id, "customer cancelled")
        custody.refresh_from_db()
        assert (custody.status, custody.void_reason, custody.voided_by) == (
            "voided",
            "customer cancelled",
            users[role],
        )
    else:
        with pytest.raises(PermissionDenied):
            services.void_custody(users[role], custody.id, "customer cancelled")
        custody.refresh_from_db()
        assert custody.status == status


def test_an_operator_voids_a_draft_with_a_reason(users, make_draft):
    custody = make_draft()
    with pytest.raises(ValidationFailed):
        services.void_custody(users[Role.OPERATOR], custody.id, "  ")
    services.void_custody(users[Role.OPERATOR], custody.id, "duplicate")
    custody.refresh_from_db()
    assert custody.status == "voided"


def test_voiding_an_active_custody_releases_both_vehicles(users, make_draft, vehicle, spare_vehicle):
    custody = to_status(make_draft(), "active", users)
    services.void_custody(users[Role.MANAGER], custody.id, "entered on the wrong agreement")
    vehicle.refresh_from_db()
    spare_vehicle.refresh_from_db()
    assert spare_vehicle.status == "available"
    assert vehicle.status == "maintenance"  # a breakdown whose original is not reported ready


def test_voiding_an_approved_custody_releases_the_reservation(users, make_draft, spare_vehicle):
    custody = to_status(make_draft(), "approved", users)
    spare_vehicle.refresh_from_db()
    assert spare_vehicle.status == "reserved"
    services.void_custody(users[Role.MANAGER], custody.id, "not needed")
    spare_vehicle.refresh_from_db()
    assert spare_vehicle.status == "available"


def test_only_the_level_role_may_decide(users, make_draft):
    custody = to_status(make_draft(), "pending_approval", users)
    for role in (Role.VIEWER, Role.OPERATOR, Role.FINANCE):
        with pytest.raises(PermissionDenied):
            services.approve_custody(users[role], custody.id)
        with pytest.raises(PermissionDenied):
            services.reject_custody(users[role], custody.id, "no")
    custody.refresh_from_db()
    assert custody.status == "pending_approval"
    assert Approval.objects.get(custody=custody).status == "pending"


def test_one_user_decides_at_most_one_level(users, make_draft):
    custody = make_draft(reason_code="accident", reason_subcode="rollover")
    services.submit_custody(users[Role.OPERATOR], custody.id)
    services.approve_custody(
        users[Role.MANAGER], custody.id
    )  # level 1 (supervisor level, manager may decide)
    with pytest.raises(PermissionDenied, match="another level"):
        services.approve_custody(users[Role.MANAGER], custody.id)
    services.approve_custody(users[Role.ADMIN], custody.id)
    custody.refresh_from_db()
    assert custody.status == "approved"


def test_a_damage_hold_of_5000_needs_two_levels(users, make_draft):
    custody = make_draft(damage_hold_amount=Decimal("5000.00"))
    services.submit_custody(users[Role.OPERATOR], custody.id)
    assert list(Approval.objects.filter(custody=custody).values_list("level", "role")) == [
        (1, "supervisor"),
        (2, "manager"),
    ]


def test_free_maintenance_with_a_damage_hold_is_not_auto_approved(users, make_draft):
    custody = make_draft(
        reason_code="maintenance",
        reason_subcode="inspection",
        rate_policy="free",
        damage_hold_amount=Decimal("100"),
    )
    services.submit_custody(users[Role.OPERATOR], custody.id)
    custody.refresh_from_db()
    assert custody.status == "pending_approval"


def test_the_first_matching_rule_wins(users, make_draft):
    ApprovalRule.objects.create(
        name="VIP breakdowns straight to manager",
        priority=5,
        reason_codes=["breakdown"],
        levels=[{"role": "manager", "due_hours": 1}],
    )
    custody = make_draft()
    services.submit_custody(users[Role.OPERATOR], custody.id)
    level = Approval.objects.get(custody=custody)
    assert (level.role, level.rule_name) == ("manager", "VIP breakdowns straight to manager")
    with pytest.raises(PermissionDenied):
        services.approve_custody(users[Role.SUPERVISOR], custody.id)


def test_a_rejected_custody_can_be_resubmitted_in_a_new_round(users, make_draft):
    custody = to_status(make_draft(), "pending_approval", users)
    services.reject_custody(users[Role.SUPERVISOR], custody.id, "Wrong reason code")
    services.submit_custody(users[Role.OPERATOR], custody.id)
    custody.refresh_from_db()
    assert custody.submission_round == 2
    assert list(Approval.objects.filter(custody=custody).values_list("round", "status")) == [
        (1, "rejected"),
        (2, "pending"),
    ]
    services.approve_custody(users[Role.SUPERVISOR], custody.id)
    custody.refresh_from_db()
    assert custody.status == "approved"


def test_an_overdue_level_is_escalated_once_and_a_manager_may_decide_it(users, make_draft):
    custody = to_status(make_draft(), "pending_approval", users)
    level = Approval.objects.get(custody=custody)
    later = level.due_at + timedelta(minutes=1)
    first = services.check_sla(later)
    second = services.check_sla(later)
    level.refresh_from_db()
    assert (first["escalated"], second["escalated"], level.status) == (1, 0, "escalated")
    services.approve_custody(users[Role.MANAGER], custody.id)
    custody.refresh_from_db()
    assert custody.status == "approved"


# ---- submission rules ---------------------------------------------------------------------------


def test_submission_errors_block(users, make_draft, vehicle, special_rate):
    custody = make_draft()
    now = timezone.now()
    custody.expected_return_at = custody.effective_from - timedelta(hours=1)
    custody.incident_at = now + timedelta(days=1)
    custody.rate_policy = "special_code"
    custody.special_rate_code = None
    custody.replacement_vehicle = vehicle  # the original itself (and it is rented)
    report = check_submission(custody, now)
    assert set(report.errors) == {
        "expected_return_at",
        "incident_at",
        "special_rate_code",
        "replacement_vehicle_id",
    }


def test_an_inactive_special_rate_code_blocks(users, make_draft, special_rate):
    special_rate.active = False
    special_rate.save()
    custody = make_draft()
    custody.rate_policy = "special_code"
    custody.special_rate_code = special_rate
    assert "special_rate_code" in check_submission(custody, timezone.now()).errors


def test_a_replacement_held_by_an_overlapping_custody_blocks(users, make_draft, spare_vehicle):
    to_status(make_draft(), "approved", users)
    second = make_draft()
    spare_vehicle.status = "available"  # even if someone reset the status by hand
    spare_vehicle.save()
    second.refresh_from_db()
    report = check_submission(second, timezone.now())
    assert "replacement_vehicle_id" in report.errors


def test_required_documents_per_reason_block(users, agreement, spare_vehicle):
    from custodies.tests.conftest import draft_data

    custody = services.create_custody(
        users[Role.OPERATOR],
        draft_data(agreement, spare_vehicle, reason_code="accident", reason_subcode="fire"),
    )
    attach(custody, "incident_report")
    errors = check_submission(custody, timezone.now()).errors
    assert errors["documents"] == [
        "Required document missing: Customer acknowledgment.",
        "Required document missing: Photos.",
    ]


def test_warnings_do_not_block(users, make_draft, agreement, branch, vehicle_class):
    now = timezone.now()
    expiring = make_vehicle(
        branch,
        vehicle_class,
        "DXB-E-55555",
        status="available",
        registration_expiry=(now + timedelta(days=10)).date(),
        insurance_expiry=(now + timedelta(days=20)).date(),
    )
    custody = make_draft(
        reason_code="accident",
        reason_subcode="hit_and_run",
        replacement_vehicle_id=expiring.id,
        incident_at=now - timedelta(days=40),
        effective_from=now - timedelta(hours=1),
        expected_return_at=now + timedelta(days=120),
        damage_hold_amount=Decimal("300"),
    )
    custody.documents.filter(document_type__in=["police_report", "customer_acknowledgment"]).delete()
    attach(custody, "customer_acknowledgment")
    custody.documents.filter(document_type="customer_acknowledgment").delete()
    report = check_submission(custody, now)
    codes = {w["code"] for w in report.warnings}
    assert codes == {
        "long_duration",
        "old_incident",
        "no_police_report",
        "hold_without_acknowledgment",
        "registration_expiring",
        "insurance_expiring",
    }


def test_a_short_custody_and_a_replacement_without_original_warn(users, make_draft):
    now = timezone.now()
    custody = make_draft(expected_return_at=now + timedelta(hours=2))
    custody.original_vehicle = None
    codes = {w["code"] for w in check_submission(custody, now).warnings}
    assert {"short_duration", "replacement_without_original"} <= codes


def test_creating_needs_the_required_fields(users, agreement):
    with pytest.raises(ValidationFailed) as exc:
        services.create_custody(users[Role.OPERATOR], {"branch_id": agreement.branch_id})
    assert set(exc.value.details) == {
        "customer_id",
        "custodian_type",
        "custodian_name",
        "reason_code",
        "incident_at",
        "effective_from",
    }
    assert Custody.objects.count() == 0


# ---- handover and close --------------------------------------------------------------------------


def test_handover_without_a_replacement_is_only_for_maintenance_or_other(users, make_draft):
    custody = make_draft(
        replacement_vehicle_id=None, no_replacement_needed=True, no_replacement_reason="Has a second car"
    )
    to_status(custody, "approved", users)
    attach(custody, "handover_checklist")
    # A breakdown without a replacement is allowed only as a recorded decision.
    Custody.objects.filter(pk=custody.pk).update(no_replacement_needed=False)
    with pytest.raises(ValidationFailed) as exc:
        services.hand_over_custody(users[Role.OPERATOR], custody.id, {})
    assert "replacement_vehicle_id" in exc.value.details
    Custody.objects.filter(pk=custody.pk).update(no_replacement_needed=True)
    assert services.hand_over_custody(users[Role.OPERATOR], custody.id, {}).custody.status == "active"
    other = make_draft(replacement_vehicle_id=None, reason_code="other", reason_subcode="customer_request")
    to_status(other, "approved", users)
    attach(other, "handover_checklist")
    services.hand_over_custody(users[Role.OPERATOR], other.id, {})
    other.refresh_from_db()
    assert other.status == "active"


def test_handover_needs_the_checklist_and_readings(users, make_draft):
    custody = to_status(make_draft(), "approved", users)
    with pytest.raises(ValidationFailed) as exc:
        services.hand_over_custody(users[Role.OPERATOR], custody.id, {"fuel_level": 9})
    assert set(exc.value.details) == {"documents", "odometer_km", "fuel_level"}
    custody.refresh_from_db()
    assert custody.status == "approved"


def test_handover_may_swap_the_replacement_at_the_counter(
    users, make_draft, spare_vehicle, branch, vehicle_class
):
    custody = to_status(make_draft(), "approved", users)
    other_car = make_vehicle(branch, vehicle_class, "DXB-F-66666", status="available", odometer_km=500)
    attach(custody, "handover_checklist")
    services.hand_over_custody(
        users[Role.OPERATOR],
        custody.id,
        {"replacement_vehicle_id": other_car.id, "odometer_km": 600, "fuel_level": 8},
    )
    spare_vehicle.refresh_from_db()
    other_car.refresh_from_db()
    custody.refresh_from_db()
    assert (spare_vehicle.status, other_car.status, custody.replacement_vehicle_id) == (
        "available",
        "rented",
        other_car.id,
    )


def test_close_refuses_a_return_before_handover_or_an_odometer_below_it(users, make_draft):
    custody = to_status(make_draft(), "active", users)
    attach(custody, "return_checklist")
    custody.refresh_from_db()
    with pytest.raises(ValidationFailed) as exc:
        services.close_custody(
            users[Role.OPERATOR],
            custody.id,
            {
                "returned_at": custody.handed_over_at - timedelta(hours=1),
                "odometer_km": 19999,
                "fuel_level": 4,
            },
        )
    assert set(exc.value.details) == {"returned_at", "odometer_km"}
    custody.refresh_from_db()
    assert custody.status == "active"


def test_an_original_with_a_critical_problem_goes_out_of_service(users, make_draft, vehicle):
    custody = to_status(make_draft(), "active", users)
    attach(custody, "return_checklist")
    services.close_custody(
        users[Role.OPERATOR],
        custody.id,
        {
            "returned_at": timezone.now(),
            "odometer_km": 20500,
            "fuel_level": 3,
            "original_critical_problem": True,
        },
    )
    vehicle.refresh_from_db()
    assert vehicle.status == "out_of_service"


def test_two_custodies_cannot_hold_the_same_replacement(users, make_draft, spare_vehicle):
    first = make_draft()
    second = make_draft()
    services.submit_custody(users[Role.OPERATOR], first.id)
    services.submit_custody(users[Role.OPERATOR], second.id)
    services.approve_custody(users[Role.SUPERVISOR], first.id)
    with pytest.raises(Conflict):
        services.approve_custody(users[Role.SUPERVISOR], second.id)
    second.refresh_from_db()
    assert second.status == "pending_approval"


# ---- SLA ---------------------------------------------------------------------------------------


def test_sla_state_thresholds():
    start = timezone.now()
    due = start + timedelta(hours=4)
    risk = sla.at_risk_from(due, start)
    assert sla.state_of(due, None, None, risk, start + timedelta(hours=1)) == "on_track"
    assert (
        sla.state_of(due, None, None, risk, start + timedelta(hours=3, minutes=1)) == "at_risk"
    )  # 59 min left
    assert sla.state_of(due, None, None, risk, due) == "breached"
    assert sla.state_of(due, due - timedelta(minutes=1), None, risk, due + timedelta(hours=1)) == "met"
    assert sla.state_of(due, due + timedelta(minutes=1), None, risk, due + timedelta(hours=1)) == "breached"
    long_due = start + timedelta(hours=8)  # 25 % of an 8-hour window is 2 hours
    long_risk = sla.at_risk_from(long_due, start)
    assert sla.state_of(long_due, None, None, long_risk, start + timedelta(hours=6, minutes=10)) == "at_risk"
    assert sla.state_of(long_due, None, None, long_risk, start + timedelta(hours=5, minutes=50)) == "on_track"


def test_sla_due_times_follow_the_policy(users, make_draft):
    custody = make_draft(reason_code="accident", reason_subcode="fire")
    services.submit_custody(users[Role.OPERATOR], custody.id)
    custody.refresh_from_db()
    assert custody.sla_approve_due_at == custody.submitted_at + timedelta(hours=2)


def test_breach_detection_is_idempotent_and_emits_one_event(users, make_draft):
    custody = to_status(make_draft(), "pending_approval", users)
    custody.refresh_from_db()
    later = custody.sla_approve_due_at + timedelta(minutes=5)
    assert services.check_sla(later)["approve"] == 1
    assert services.check_sla(later)["approve"] == 0
    custody.refresh_from_db()
    assert custody.sla_approve_breached_at == custody.sla_approve_due_at
    assert OutboxEvent.objects.filter(type="custody.sla_breached").count() == 1


def test_a_branch_override_changes_the_sla(users, make_draft, branch):
    from custodies.models import SlaPolicy

    SlaPolicy.objects.create(
        reason_code="breakdown",
        branch=branch,
        approve_within_hours=Decimal("0.5"),
        handover_within_hours=1,
        close_within_hours=6,
    )
    custody = make_draft()
    services.submit_custody(users[Role.OPERATOR], custody.id)
    custody.refresh_from_db()
    assert custody.sla_approve_due_at == custody.submitted_at + timedelta(minutes=30)


def test_custody_numbers_are_sequential_and_unique(users, make_draft):
    numbers = [make_draft().custody_no for _ in range(3)]
    assert len(set(numbers)) == 3
    assert all(n.startswith("CST-") and len(n) >= 10 for n in numbers)


def test_a_user_outside_the_branch_cannot_find_the_custody(users, make_draft, other_branch):
    custody = make_draft()
    outsider = make_user(Role.ADMIN, other_branch, email="other-admin@example.com")
    with pytest.raises(Custody.DoesNotExist):
        services.void_custody(outsider, custody.id, "x")


def test_an_estimated_cost_rule_uses_the_rental_price(users, make_draft):
    ApprovalRule.objects.create(
        name="Expensive rentals to a manager",
        priority=5,
        min_estimated_cost=Decimal("500"),
        levels=[{"role": "manager", "due_hours": 2}],
    )
    cheap = make_draft(expected_return_at=timezone.now() + timedelta(hours=20))  # 1 day × 150
    dear = make_draft()  # effective −1 h to +3 days: 4 days × 150 = 600
    assert rental.estimated_cost(cheap) == Decimal("150.00")
    assert rental.estimated_cost(dear) == Decimal("600.00")
    services.submit_custody(users[Role.OPERATOR], dear.id)
    services.submit_custody(users[Role.OPERATOR], cheap.id)
    assert Approval.objects.get(custody=dear).role == "manager"
    assert Approval.objects.get(custody=cheap).role == "supervisor"


def test_saving_a_draft_without_changes_writes_nothing(users, make_draft):
    from audit.models import AuditEntry

    custody = make_draft(notes="same")
    entries, events = AuditEntry.objects.count(), OutboxEvent.objects.count()
    services.update_custody(
        users[Role.OPERATOR], custody.id, {"notes": "same"}, expected_version=custody.version
    )
    version = custody.version
    custody.refresh_from_db()
    assert (custody.version, AuditEntry.objects.count(), OutboxEvent.objects.count()) == (
        version,
        entries,
        events,
    )
