"""Issue 12 item 6: a vehicle's history page."""

from datetime import timedelta

from django.utils import timezone

from accounts.choices import Role
from audit.context import acting_as
from conftest import login_client, make_user
from custodies import services
from custodies.tests.conftest import attach, draft_data


def _through_handover(users, agreement, spare_vehicle):
    operator, supervisor = users[Role.OPERATOR], users[Role.SUPERVISOR]
    with acting_as(operator, "web"):
        custody = services.create_custody(operator, draft_data(agreement, spare_vehicle))
    attach(
        custody, "incident_report", "photos", "customer_acknowledgment", "police_report", "handover_checklist"
    )
    with acting_as(operator, "web"):
        services.submit_custody(operator, custody.pk)
    with acting_as(supervisor, "web"):
        services.approve_custody(supervisor, custody.pk)
    with acting_as(operator, "web"):
        services.hand_over_custody(
            operator,
            custody.pk,
            {
                "odometer_km": spare_vehicle.odometer_km or 0,
                "fuel_level": 8,
                "handed_over_at": timezone.now() - timedelta(days=2, hours=1),
            },
        )
    custody.refresh_from_db()
    return custody


def test_history_lists_custodies_days_and_status_changes(users, agreement, spare_vehicle):
    custody = _through_handover(users, agreement, spare_vehicle)
    client = login_client(users[Role.VIEWER])

    body = client.get(f"/vehicles/{spare_vehicle.pk}/history/").content.decode()
    assert custody.custody_no in body and "Replacement vehicle" in body
    assert "3 days" in body  # out since 2 days and 1 hour: three started days
    assert "Status:" in body and "Reserved" in body and "Rented" in body  # labels, not codes
    assert "in_custody" not in body

    original = client.get(f"/vehicles/{agreement.vehicle_id}/history/").content.decode()
    assert 'id="held-by"' in original and f"/custodies/{custody.pk}/" in original  # links to its custody
    assert "Original vehicle" in original


def test_another_branchs_vehicle_is_a_404(users, foreign_vehicle, branch):
    viewer = make_user(Role.VIEWER, branch, email="v2@example.com")
    assert login_client(viewer).get(f"/vehicles/{foreign_vehicle.pk}/history/").status_code == 404


def test_the_vehicle_page_links_to_its_history(users, spare_vehicle):
    body = login_client(users[Role.VIEWER]).get(f"/vehicles/{spare_vehicle.pk}/").content.decode()
    assert f"/vehicles/{spare_vehicle.pk}/history/" in body
