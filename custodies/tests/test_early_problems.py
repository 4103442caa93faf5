"""Problems surface where they arise: the wizard checks each step, approvals re-check the car, readings."""

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from accounts.choices import Role
from conftest import login_client, make_vehicle
from core.errors import Conflict, ValidationFailed
from custodies import rules, services
from custodies.models import Custody
from custodies.tests.conftest import attach

pytestmark = pytest.mark.django_db

LOCAL = "%Y-%m-%dT%H:%M"


def local(dt):
    return timezone.localtime(dt).strftime(LOCAL)


# ---- odometer plausibility ------------------------------------------------------------------------


def test_a_reading_below_the_last_one_is_an_error():
    error, warning = rules.odometer_problems(22000, 22710, None, None)
    assert "22,710" in error and warning is None


def test_more_than_5000_km_a_day_is_a_warning():
    now = timezone.now()
    assert rules.odometer_problems(999_999, 22_710, now - timedelta(hours=5), now)[1]
    assert rules.odometer_problems(27_000, 22_710, now - timedelta(hours=5), now) == (None, None)
    # Three days allow 15,000 km.
    assert rules.odometer_problems(36_000, 22_710, now - timedelta(days=3), now) == (None, None)


def test_the_incident_odometer_is_checked_against_the_original(users, make_draft, vehicle):
    custody = make_draft(incident_odometer_km=500)
    assert "incident_odometer_km" in rules.check_submission(custody, timezone.now()).errors
    custody = make_draft(incident_odometer_km=999_999)
    report = rules.check_submission(custody, timezone.now())
    assert [w["code"] for w in report.warnings].count("odometer_jump") == 1


def test_handover_warns_about_an_implausible_odometer(users, make_draft):
    op, sup = users[Role.OPERATOR], users[Role.SUPERVISOR]
    custody = make_draft()
    services.submit_custody(op, custody.id)
    services.approve_custody(sup, custody.id)
    attach(custody, "handover_checklist")
    result = services.hand_over_custody(op, custody.id, {"odometer_km": 999_999, "fuel_level": 8})
    assert [w["code"] for w in result.warnings] == ["odometer_jump"]


# ---- no replacement ----------------------------------------------------------------------------


def test_an_accident_without_replacement_needs_an_explicit_reason(users, make_draft):
    custody = make_draft(reason_code="accident", reason_subcode="rollover", replacement_vehicle_id=None)
    errors = rules.check_submission(custody, timezone.now()).errors
    assert "replacement_vehicle_id" in errors
    services.update_custody(users[Role.OPERATOR], custody.id, {"no_replacement_needed": True})
    custody.refresh_from_db()
    assert "no_replacement_reason" in rules.check_submission(custody, timezone.now()).errors
    services.update_custody(
        users[Role.OPERATOR], custody.id, {"no_replacement_reason": "Customer has a second car"}
    )
    custody.refresh_from_db()
    errors = rules.check_submission(custody, timezone.now()).errors
    assert "replacement_vehicle_id" not in errors and "no_replacement_reason" not in errors


# ---- the wizard, step by step ------------------------------------------------------------------


def test_a_step_shows_all_its_errors_at_once(users, make_draft):
    custody = make_draft()
    client = login_client(users[Role.OPERATOR])
    response = client.post(
        f"/custodies/{custody.pk}/wizard/reason/",
        {
            "version": custody.version,
            "reason_code": "breakdown",
            "reason_subcode": "fire",  # a form error
            "incident_at": local(timezone.now() + timedelta(days=2)),  # a rule error
            "incident_odometer_km": "100",  # below the car's reading
            "nav": "next",
        },
    )
    body = response.content.decode()
    assert response.status_code == 422
    assert "does not belong to the chosen reason" in body
    assert "The incident cannot be in the future." in body
    assert "Below the car&#x27;s last reading" in body or "Below the car's last reading" in body


def test_a_refused_save_still_shows_the_steps_other_errors(users, make_draft):
    """The form parses, the service refuses the incident time: the odometer error shows with it."""
    custody = make_draft()
    response = login_client(users[Role.OPERATOR]).post(
        f"/custodies/{custody.pk}/wizard/reason/",
        {
            "version": custody.version,
            "reason_code": "breakdown",
            "reason_subcode": "engine_failure",
            "incident_at": local(timezone.now() + timedelta(days=2)),
            "incident_odometer_km": "100",
            "nav": "next",
        },
    )
    body = response.content.decode()
    assert response.status_code == 422
    assert "The incident cannot be in the future." in body
    assert "Below the car&#x27;s last reading" in body or "Below the car's last reading" in body
    custody.refresh_from_db()
    assert custody.incident_odometer_km is None, "nothing of a refused step is saved"


def test_the_replacement_step_stops_an_accident_without_a_car(users, make_draft):
    custody = make_draft(reason_code="accident", reason_subcode="rollover", replacement_vehicle_id=None)
    client = login_client(users[Role.OPERATOR])
    start = timezone.now() - timedelta(hours=1)
    response = client.post(
        f"/custodies/{custody.pk}/wizard/replacement/",
        {
            "version": custody.version,
            "effective_from": local(start),
            "expected_return_at": local(start + timedelta(days=3)),
            "nav": "next",
        },
    )
    assert response.status_code == 422
    assert "confirm that no replacement is needed" in response.content.decode()
    custody.refresh_from_db()
    response = client.post(
        f"/custodies/{custody.pk}/wizard/replacement/",
        {
            "version": custody.version,
            "effective_from": local(start),
            "expected_return_at": local(start + timedelta(days=3)),
            "no_replacement_needed": "on",
            "no_replacement_reason": "Customer declined",
            "nav": "next",
        },
    )
    assert response.status_code == 302 and response["Location"].endswith("/rate/")


def test_the_replacement_step_refuses_a_car_held_by_another_custody(
    users, make_draft, spare_vehicle, second_supervisor
):
    op, sup = users[Role.OPERATOR], users[Role.SUPERVISOR]
    holder = make_draft()
    services.submit_custody(op, holder.id)
    services.approve_custody(sup, holder.id)
    Custody.objects.filter(pk=holder.pk).update()
    spare_vehicle.refresh_from_db()
    assert spare_vehicle.status == "reserved"
    custody = make_draft(replacement_vehicle_id=None)
    start = timezone.now() - timedelta(hours=1)
    response = login_client(op).post(
        f"/custodies/{custody.pk}/wizard/replacement/",
        {
            "version": custody.version,
            "replacement_vehicle_id": spare_vehicle.pk,
            "effective_from": local(start),
            "expected_return_at": local(start + timedelta(days=3)),
            "nav": "next",
        },
    )
    assert response.status_code == 422
    assert "not available" in response.content.decode()


def test_the_review_lists_what_handover_and_close_will_need(users, make_draft):
    custody = make_draft()
    body = login_client(users[Role.OPERATOR]).get(f"/custodies/{custody.pk}/wizard/review/").content.decode()
    assert 'id="review-next"' in body
    assert "Handover checklist" in body and "Return checklist" in body


def test_signing_from_the_wizard_returns_to_the_wizard(users, make_draft):
    custody = make_draft()
    client = login_client(users[Role.OPERATOR])
    page = client.get(f"/custodies/{custody.pk}/wizard/documents/").content.decode()
    assert f"?next=/custodies/{custody.pk}/wizard/documents/" in page.replace("%2F", "/")
    sign = client.get(
        f"/documents/custodies/{custody.pk}/sign/customer_acknowledgment/?next=https://evil.example/"
    ).content.decode()
    assert 'href="https://evil.example' not in sign


# ---- approvals re-check the replacement -----------------------------------------------------------


def _accident_with_two_levels(make_draft, users):
    custody = make_draft(reason_code="accident", reason_subcode="rollover")
    services.submit_custody(users[Role.OPERATOR], custody.id)
    custody.refresh_from_db()
    return custody


def test_every_approval_level_checks_the_replacement(users, make_draft, spare_vehicle):
    custody = _accident_with_two_levels(make_draft, users)
    spare_vehicle.status = "rented"
    spare_vehicle.save()
    with pytest.raises(Conflict):
        services.approve_custody(users[Role.SUPERVISOR], custody.id)
    custody.refresh_from_db()
    assert custody.status == "pending_approval"


def test_the_approver_gives_another_car_from_the_inbox(
    users, make_draft, spare_vehicle, branch, vehicle_class
):
    custody = _accident_with_two_levels(make_draft, users)
    spare_vehicle.status = "rented"
    spare_vehicle.save()
    other = make_vehicle(branch, vehicle_class, "DXB-C-30004", status="available")
    client = login_client(users[Role.SUPERVISOR])
    inbox = client.get("/approvals/").content.decode()
    assert "data-replacement-problem" in inbox and other.plate in inbox
    from approvals.services import current_level

    level = current_level(custody)
    response = client.post(
        f"/approvals/{level.pk}/replacement/", {"replacement_vehicle_id": other.pk}, HTTP_HX_REQUEST="true"
    )
    assert "Replacement changed" in response.content.decode()
    custody.refresh_from_db()
    assert custody.replacement_vehicle_id == other.pk
    services.approve_custody(users[Role.SUPERVISOR], custody.id)


def test_an_operator_cannot_swap_a_pending_replacement(
    users, make_draft, spare_vehicle, branch, vehicle_class
):
    custody = _accident_with_two_levels(make_draft, users)
    other = make_vehicle(branch, vehicle_class, "DXB-C-30005", status="available")
    with pytest.raises(PermissionDenied):
        services.change_replacement(users[Role.OPERATOR], custody.id, other.pk)
    with pytest.raises(ValidationFailed):
        services.change_replacement(users[Role.SUPERVISOR], custody.id, None)
