"""Issue 12 item 5: the availability calendar (vehicles × days, holds, conflicts, scope)."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from accounts.choices import Role
from audit.context import acting_as
from conftest import login_client, make_user, make_vehicle
from custodies import services
from custodies.tests.conftest import attach, draft_data
from fleet.models import RentalAgreement


def _approved(users, agreement, replacement):
    operator, supervisor = users[Role.OPERATOR], users[Role.SUPERVISOR]
    with acting_as(operator, "web"):
        custody = services.create_custody(operator, draft_data(agreement, replacement))
    attach(custody, "incident_report", "photos", "customer_acknowledgment", "police_report")
    with acting_as(operator, "web"):
        services.submit_custody(operator, custody.pk)
    with acting_as(supervisor, "web"):
        services.approve_custody(supervisor, custody.pk)
    custody.refresh_from_db()
    return custody


def test_calendar_shows_holds_and_a_conflict(users, agreement, spare_vehicle, customer, branch):
    custody = _approved(users, agreement, spare_vehicle)
    # The same spare car is also on a rental agreement over the custody's days: a conflict.
    now = timezone.now()
    RentalAgreement.objects.create(
        agreement_no="RA-CONFLICT",
        customer=customer,
        vehicle=spare_vehicle,
        branch=branch,
        start_at=now - timedelta(days=1),
        end_at=now + timedelta(days=1),
        daily_rate=Decimal("100"),
        monthly_rate=Decimal("2000"),
        deposit_amount=Decimal("0"),
    )
    body = login_client(users[Role.VIEWER]).get("/vehicles/availability/").content.decode()
    assert spare_vehicle.plate in body and agreement.vehicle.plate in body
    assert "cal-conflict" in body and 'class="has-conflict"' in body
    assert f'href="/custodies/{custody.pk}/"' in body  # a click opens the custody
    assert "Reserved" in body and "Rented" in body  # legend and cell labels in words


def test_calendar_is_scoped_and_bounded(users, branch, other_branch, vehicle_class, foreign_vehicle):
    for i in range(45):
        make_vehicle(branch, vehicle_class, f"DXB-Q-{i:05d}")
    viewer = make_user(Role.VIEWER, branch, email="viewer-one@example.com")
    client = login_client(viewer)
    body = client.get("/vehicles/availability/").content.decode()
    assert foreign_vehicle.plate not in body
    assert body.count('class="sticky-col text-nowrap"') == 40 and 'id="calendar-next"' in body
    nxt = client.get("/vehicles/availability/?after=DXB-Q-00039").content.decode()
    assert "DXB-Q-00044" in nxt and "DXB-Q-00001" not in nxt
    # Another branch's id in the query string shows the user's own branch instead.
    own = client.get(f"/vehicles/availability/?branch={other_branch.pk}").content.decode()
    assert foreign_vehicle.plate not in own


def test_vehicle_list_links_to_the_calendar(users):
    body = login_client(users[Role.VIEWER]).get("/vehicles/").content.decode()
    assert 'id="availability-link"' in body


def test_a_replacement_hold_is_the_period_the_booking_rule_checks(users, agreement, spare_vehicle):
    from reports.availability import _holds

    custody = _approved(users, agreement, spare_vehicle)
    attach(custody, "handover_checklist")
    with acting_as(users[Role.OPERATOR], "web"):
        services.hand_over_custody(users[Role.OPERATOR], custody.pk, {"odometer_km": 20000, "fuel_level": 8})
    custody.refresh_from_db()
    # Handed over an hour after it took effect: the hold starts when the custody did.
    assert custody.reserved_from < custody.handed_over_at
    now = timezone.now()
    holds = _holds(users[Role.VIEWER], [spare_vehicle], now - timedelta(days=7), now + timedelta(days=7), now)
    (hold,) = holds[spare_vehicle.pk]
    assert (hold.state, hold.start, hold.end) == (
        "replacement",
        custody.reserved_from,
        custody.reserved_until,
    )


def _replacement_step(users, agreement, replacement, **overrides):
    operator = users[Role.OPERATOR]
    with acting_as(operator, "web"):
        return services.create_custody(operator, draft_data(agreement, replacement, **overrides))


def _period(custody) -> dict:
    local = timezone.localtime
    return {
        "effective_from": local(custody.effective_from).strftime("%Y-%m-%dT%H:%M"),
        "expected_return_at": local(custody.expected_return_at).strftime("%Y-%m-%dT%H:%M"),
    }


def test_the_wizard_replacement_step_shows_the_branch_calendar_for_its_period(
    users, agreement, spare_vehicle, branch, vehicle_class
):
    import re

    held = _approved(users, agreement, spare_vehicle)  # the spare car is reserved over these days
    free = make_vehicle(branch, vehicle_class, "DXB-F-30003", status="available")
    draft = _replacement_step(users, agreement, free)
    client = login_client(users[Role.OPERATOR])

    step = client.get(f"/custodies/{draft.pk}/wizard/replacement/").content.decode()
    url = f"/vehicles/availability/replacement/{draft.pk}/"
    assert f'hx-get="{url}"' in step  # loaded by URL: custodies does not import reports

    body = client.get(url, _period(draft)).content.decode()
    rows = re.findall(r'<tr[^>]* data-vehicle="([0-9a-f-]+)">(.*?)</tr>', body, flags=re.S)
    by_vehicle = dict(rows)
    assert [pk for pk, _row in rows] == [str(free.pk), str(spare_vehicle.pk)]  # the free car first
    assert str(agreement.vehicle_id) not in by_vehicle  # not the car it replaces
    assert f'data-pick-replacement="{free.pk}"' in by_vehicle[str(free.pk)]
    assert "data-pick-replacement" not in by_vehicle[str(spare_vehicle.pk)]
    assert f'href="/custodies/{held.pk}/"' in by_vehicle[str(spare_vehicle.pk)]  # what holds it opens
    # The columns start on the custody's first day and its days are marked.
    first_day = timezone.localtime(draft.effective_from).strftime("%d/%m")
    assert re.search(rf'<th scope="col" class="text-center[^"]*"><bdi dir="ltr">{first_day}</bdi>', body)
    days = (
        timezone.localtime(draft.expected_return_at).date() - timezone.localtime(draft.effective_from).date()
    ).days
    assert by_vehicle[str(free.pk)].count("cal-period") == days + 1


def test_the_wizard_calendar_keeps_to_the_class_asked_for_and_the_users_branches(
    users, agreement, spare_vehicle, branch, other_branch, vehicle_class
):
    from fleet.models import VehicleClass

    suv = VehicleClass.objects.create(
        code="SUV", name="SUV", daily_rate=Decimal("300"), monthly_rate=Decimal("6000")
    )
    other = make_vehicle(branch, suv, "DXB-S-40004", status="available")
    draft = _replacement_step(users, agreement, spare_vehicle)
    url = f"/vehicles/availability/replacement/{draft.pk}/"
    client = login_client(users[Role.OPERATOR])
    every = client.get(url, _period(draft)).content.decode()
    assert spare_vehicle.plate in every and other.plate in every
    same = client.get(url, {**_period(draft), "same_class": "1"}).content.decode()
    assert spare_vehicle.plate in same and other.plate not in same
    assert f"vehicle_class={vehicle_class.pk}" in same  # the full calendar opens on the same filter

    stranger = make_user(Role.OPERATOR, other_branch, email="operator-auh@example.com")
    assert login_client(stranger).get(url).status_code == 404
