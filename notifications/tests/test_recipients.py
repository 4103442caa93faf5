"""Who is notified of which event (DESIGN §10), and that nobody is notified twice."""

from decimal import Decimal

import pytest
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.choices import Role
from audit.context import acting_as
from conftest import make_user
from custodies import services as custodies
from custodies.tests.conftest import attach
from integrations.events import emit
from notifications.models import Notification, NotificationDelivery
from notifications.services import admins, branch_staff, notify_for_event

from .conftest import last_event

pytestmark = pytest.mark.django_db


def recipients(event_type: str, kind: str | None = None) -> set[str]:
    """Notify for the latest event of this type; the e-mail addresses of who got an inbox item for it."""
    event = last_event(event_type)
    assert event is not None, f"no {event_type} event"
    notify_for_event(event)
    rows = Notification.objects.filter(event=event)
    if kind:
        assert set(rows.values_list("kind", flat=True)) <= {kind}
    return set(rows.values_list("user__email", flat=True))


def submit(users, custody, user=None):
    custodies.submit_custody(user or users[Role.OPERATOR], custody.id)


def hand_over(users, custody, user=None):
    attach(custody, "handover_checklist")
    custodies.hand_over_custody(
        user or users[Role.OPERATOR], custody.id, {"odometer_km": 20000, "fuel_level": 8}
    )


def close(users, custody, user=None):
    attach(custody, "return_checklist")
    custodies.close_custody(
        user or users[Role.OPERATOR],
        custody.id,
        {"returned_at": timezone.now(), "odometer_km": 20100, "fuel_level": 8},
    )


# ---- helpers ------------------------------------------------------------------------------------


def test_branch_staff_are_the_active_users_of_the_roles_in_the_branch_or_all_branches(
    users, outsiders, branch
):
    make_user(Role.MANAGER, email="regional@example.com", all_branches=True)
    gone = make_user(Role.SUPERVISOR, branch, email="gone@example.com")
    gone.is_active = False
    gone.save()
    staff = set(branch_staff(branch.id, {Role.SUPERVISOR, Role.MANAGER}).values_list("email", flat=True))
    assert staff == {"supervisor@example.com", "manager@example.com", "regional@example.com"}
    assert set(admins().values_list("email", flat=True)) == {"admin@example.com"}


# ---- approvals ----------------------------------------------------------------------------------


def test_a_submission_notifies_who_may_decide_the_first_level_in_the_branch(users, outsiders, make_draft):
    custody = make_draft()
    submit(users, custody)
    got = recipients("custody.submitted", "approval_required")
    # supervisor level: supervisors, managers and admins (all branches) of the branch; not the submitter,
    # not viewers or finance, not the other branch.
    assert got == {"supervisor@example.com", "manager@example.com", "admin@example.com"}
    note = Notification.objects.get(user=users[Role.SUPERVISOR])
    assert note.custody == custody and note.url == f"/custodies/{custody.pk}/"
    assert note.title == f"{custody.custody_no} needs your approval"
    assert "Level 1 (Supervisor)" in note.body


def test_the_submitter_is_never_asked_to_approve(users, make_draft):
    custody = make_draft(user=users[Role.SUPERVISOR])
    submit(users, custody, users[Role.SUPERVISOR])
    assert recipients("custody.submitted") == {"manager@example.com", "admin@example.com"}


def test_an_inactive_user_is_not_notified(users, make_draft):
    users[Role.MANAGER].is_active = False
    users[Role.MANAGER].save()
    submit(users, make_draft())
    assert recipients("custody.submitted") == {"supervisor@example.com", "admin@example.com"}


def test_an_approved_level_notifies_the_deciders_of_the_next_level(users, make_draft):
    custody = make_draft(damage_hold_amount=Decimal("5000.00"))  # supervisor then manager
    submit(users, custody)
    custodies.approve_custody(users[Role.SUPERVISOR], custody.id)
    assert recipients("custody.approval_decided", "approval_required") == {
        "manager@example.com",
        "admin@example.com",
    }
    assert (
        "Level 2 (Manager)"
        in Notification.objects.get(user=users[Role.MANAGER], kind="approval_required").body
    )


def test_who_decided_a_level_is_not_asked_for_the_next_one(users, make_draft):
    custody = make_draft(damage_hold_amount=Decimal("5000.00"))
    submit(users, custody)
    custodies.approve_custody(users[Role.MANAGER], custody.id)  # a manager decides the supervisor level
    assert recipients("custody.approval_decided") == {"admin@example.com"}


def test_a_level_is_announced_once_even_if_several_events_point_at_it(users, make_draft):
    custody = make_draft()
    submit(users, custody)
    event = last_event("custody.submitted")
    first = notify_for_event(event)
    # A stray event for the same waiting level (e.g. processed late) creates nothing new.
    again = emit(
        "custody.approval_decided", {**custodies.event_payload(custody), "level": 0, "decision": "approved"}
    )
    assert (first, notify_for_event(again)) == (3, 0)


def test_the_last_approval_asks_nobody_and_tells_the_submitter(users, make_draft):
    custody = make_draft()
    submit(users, custody)
    custodies.approve_custody(users[Role.SUPERVISOR], custody.id)
    assert recipients("custody.approval_decided") == set()
    assert recipients("custody.approved", "custody_approved") == {"operator@example.com"}


def test_a_rejection_tells_the_submitter_only(users, make_draft):
    custody = make_draft()
    submit(users, custody)
    custodies.reject_custody(users[Role.SUPERVISOR], custody.id, "Wrong reason code")
    assert recipients("custody.approval_decided") == set()
    assert recipients("custody.rejected", "custody_rejected") == {"operator@example.com"}
    assert "Wrong reason code" in Notification.objects.get(kind="custody_rejected").body


def test_an_auto_approved_submission_asks_nobody(users, make_draft):
    custody = make_draft(reason_code="maintenance", reason_subcode="inspection", rate_policy="free")
    submit(users, custody)
    custody.refresh_from_db()
    assert custody.status == "approved"
    assert recipients("custody.submitted") == set()
    assert recipients("custody.approved") == {"operator@example.com"}


# ---- lifecycle ----------------------------------------------------------------------------------


@pytest.fixture
def second_operator(branch):
    return make_user(Role.OPERATOR, branch, email="operator2@example.com")


def test_handover_close_tell_the_creator_and_the_submitter_once_each(users, make_draft, second_operator):
    custody = make_draft()  # created by operator@
    submit(users, custody, second_operator)
    custodies.approve_custody(users[Role.SUPERVISOR], custody.id)
    hand_over(users, custody, users[Role.SUPERVISOR])
    assert recipients("custody.handed_over", "custody_handed_over") == {
        "operator@example.com",
        "operator2@example.com",
    }
    close(users, custody, users[Role.MANAGER])
    assert recipients("custody.closed", "custody_closed") == {"operator@example.com", "operator2@example.com"}


def test_creator_and_submitter_being_the_same_user_get_one_notification(users, make_draft):
    custody = make_draft()
    submit(users, custody)
    custodies.void_custody(users[Role.MANAGER], custody.id, "Customer cancelled")
    assert recipients("custody.voided", "custody_voided") == {"operator@example.com"}
    assert Notification.objects.filter(kind="custody_voided").count() == 1
    assert NotificationDelivery.objects.filter(kind="custody_voided").count() == 1


def test_the_user_who_acted_is_not_told_what_they_did(users, make_draft, second_operator):
    custody = make_draft()
    submit(users, custody, second_operator)
    custodies.approve_custody(users[Role.SUPERVISOR], custody.id)
    hand_over(users, custody)  # by the creator, operator@
    assert recipients("custody.handed_over") == {"operator2@example.com"}


def test_the_actor_named_in_the_event_data_is_skipped(users, make_draft):
    custody = make_draft()
    with acting_as(users[Role.OPERATOR], "web"):
        custodies.void_custody(users[Role.OPERATOR], custody.id, "Duplicate")
    event = last_event("custody.voided")
    assert event.data.get("actor_id") == str(users[Role.OPERATOR].pk)
    assert notify_for_event(event) == 0


def test_a_draft_voided_before_submission_tells_its_creator(users, make_draft):
    custody = make_draft()
    custodies.void_custody(users[Role.MANAGER], custody.id, "Duplicate")
    assert recipients("custody.voided") == {"operator@example.com"}


# ---- SLA and documents --------------------------------------------------------------------------


def test_an_sla_breach_tells_the_branch_supervisors_and_managers(users, outsiders, make_draft):
    custody = make_draft()
    submit(users, custody)
    custody.refresh_from_db()
    custodies.check_sla(custody.sla_approve_due_at + timezone.timedelta(minutes=1))
    got = recipients("custody.sla_breached", "sla_breached")
    assert got == {"supervisor@example.com", "manager@example.com"}
    note = Notification.objects.get(user=users[Role.MANAGER], kind="sla_breached")
    assert note.title == f"SLA breached: {custody.custody_no}"
    assert note.dedupe_key == f"sla_breached:{custody.pk}:approve"


def test_a_signed_document_tells_the_custody_creator(users, make_draft):
    custody = make_draft()
    emit(
        "document.signed",
        {
            "signature": {"document_type": "customer_acknowledgment", "signer_name": "Ahmed"},
            "document": {"document_type": "customer_acknowledgment", "uploaded_by_id": None},
            "custody": {"id": str(custody.pk), "custody_no": custody.custody_no},
        },
    )
    assert recipients("document.signed", "document_signed") == {"operator@example.com"}
    note = Notification.objects.get(kind="document_signed")
    assert note.title == f"{custody.custody_no}: Customer acknowledgment signed"


def test_a_document_signed_at_the_counter_by_the_creator_tells_nobody(users, make_draft):
    custody = make_draft()
    event = emit(
        "document.signed",
        {
            "signature": {"document_type": "handover_checklist", "signer_name": "Ahmed"},
            "document": {
                "document_type": "handover_checklist",
                "uploaded_by_id": str(users[Role.OPERATOR].pk),
            },
            "custody": {"id": str(custody.pk)},
        },
    )
    assert notify_for_event(event) == 0


@pytest.mark.parametrize(
    "event_type",
    [
        "custody.created",
        "custody.updated",
        "document.uploaded",
        "charge.posted",
        "charge.voided",
        "payment.recorded",
    ],
)
def test_events_nobody_is_told_about_by_default(users, make_draft, event_type):
    custody = make_draft()
    event = emit(event_type, {"custody": {"id": str(custody.pk)}, "custody_id": str(custody.pk)})
    assert notify_for_event(event) == 0
    assert not Notification.objects.exists()


def test_an_event_about_an_unknown_custody_is_ignored(db):
    assert notify_for_event(emit("custody.approved", {"custody": {"id": "not-a-uuid"}})) == 0
    assert notify_for_event(emit("custody.approved", {})) == 0


# ---- idempotency --------------------------------------------------------------------------------


def test_notifying_an_event_twice_creates_nothing_new(users, make_draft):
    custody = make_draft()
    submit(users, custody)
    event = last_event("custody.submitted")
    tasks_before = DBTaskResult.objects.count()
    assert notify_for_event(event) == 3
    counts = (
        Notification.objects.count(),
        NotificationDelivery.objects.count(),
        DBTaskResult.objects.count(),
    )
    assert counts == (3, 3, tasks_before + 3)
    assert notify_for_event(event) == 0
    assert (
        Notification.objects.count(),
        NotificationDelivery.objects.count(),
        DBTaskResult.objects.count(),
    ) == counts


def test_the_database_refuses_a_second_notification_for_the_same_event_and_user(users, make_draft):
    from django.db import IntegrityError, transaction

    custody = make_draft()
    submit(users, custody)
    event = last_event("custody.submitted")
    notify_for_event(event)
    with pytest.raises(IntegrityError), transaction.atomic():
        Notification.objects.create(
            user=users[Role.SUPERVISOR], kind="approval_required", title="x", event=event
        )
    with pytest.raises(IntegrityError), transaction.atomic():
        NotificationDelivery.objects.create(
            user=users[Role.SUPERVISOR], channel="email", kind="approval_required", title="x", event=event
        )


def test_the_outbox_dispatcher_notifies_once(users, make_draft):
    from integrations.services import dispatch_event

    custody = make_draft()
    submit(users, custody)
    event = last_event("custody.submitted")
    dispatch_event(event.id)
    dispatch_event(event.id)  # claimed already: nothing more
    assert set(Notification.objects.filter(event=event).values_list("user__email", flat=True)) == {
        "supervisor@example.com",
        "manager@example.com",
        "admin@example.com",
    }
