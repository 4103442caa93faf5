"""Issue 12 in a real browser: the availability calendar with a conflict, the vehicle history and the
calendar at 375 px, and the Arabic audit tab with phone numbers in their order."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import services as account_services
from accounts.choices import Role
from audit.context import acting_as
from custodies import services
from custodies.tests.conftest import attach, draft_data
from fleet.models import RentalAgreement

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def approved_with_conflict(users, agreement, spare_vehicle, customer, branch):
    from django.test import Client

    Client().get("/accounts/login/")  # import the URL modules before the live server's first request
    operator, supervisor = users[Role.OPERATOR], users[Role.SUPERVISOR]
    with acting_as(operator, "web"):
        custody = services.create_custody(
            operator, draft_data(agreement, spare_vehicle, custodian_phone="+971 55 234 5678")
        )
    attach(custody, "incident_report", "photos", "customer_acknowledgment", "police_report")
    with acting_as(operator, "web"):
        services.update_custody(operator, custody.pk, {"custodian_phone": "+971 50 111 2222"})
        services.submit_custody(operator, custody.pk)
    with acting_as(supervisor, "web"):
        services.approve_custody(supervisor, custody.pk)
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
    return custody


def _no_sideways_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_calendar_shows_the_conflict_and_opens_the_custody(
    open_page, live_server, users, approved_with_conflict, spare_vehicle, screenshots
):
    from playwright.sync_api import expect

    page = open_page(live_server, users[Role.OPERATOR])
    page.goto(f"{live_server.url}/vehicles/")
    page.locator("#availability-link").click()
    row = page.locator("#availability tbody tr", has_text=spare_vehicle.plate)
    expect(row).to_have_class("has-conflict")
    expect(row.locator("td.cal-conflict").first).to_be_visible()
    page.screenshot(path=str(screenshots / "counter-calendar.png"), full_page=True)
    row.locator(f'a[href="/custodies/{approved_with_conflict.pk}/"]').first.click()
    expect(page.get_by_role("heading", level=1).first).to_contain_text(approved_with_conflict.custody_no)
    assert page.problems == []


def test_calendar_and_vehicle_history_fit_a_phone(
    open_page, live_server, users, approved_with_conflict, spare_vehicle, screenshots
):
    from playwright.sync_api import expect

    page = open_page(live_server, users[Role.OPERATOR], phone=True)
    page.goto(f"{live_server.url}/vehicles/availability/")
    expect(page.locator("#availability")).to_be_visible()
    assert _no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / "counter-calendar-375.png"), full_page=True)
    page.goto(f"{live_server.url}/vehicles/{spare_vehicle.pk}/history/")
    expect(page.locator("#vehicle-custodies")).to_contain_text(approved_with_conflict.custody_no)
    assert _no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / "counter-vehicle-history-375.png"), full_page=True)
    page.goto(f"{live_server.url}/custodies/{approved_with_conflict.pk}/?tab=audit")
    expect(page.locator(".audit-entry").first).to_be_visible()
    assert _no_sideways_scroll(page)
    assert page.problems == []


def test_arabic_audit_tab_keeps_phone_numbers_in_order(
    open_page, live_server, users, approved_with_conflict, screenshots
):
    from playwright.sync_api import expect

    operator = users[Role.OPERATOR]
    account_services.set_language(operator, "ar")
    page = open_page(live_server, operator, phone=True)
    page.goto(f"{live_server.url}/custodies/{approved_with_conflict.pk}/?tab=audit")
    assert page.evaluate("document.documentElement.dir") == "rtl"
    phone = page.locator("#tab-audit bdi", has_text="+971 50 111 2222").first
    expect(phone).to_be_visible()
    assert phone.evaluate("e => getComputedStyle(e).direction") == "ltr"
    # The number reads left to right: "+971" is left of "2222" on the screen.
    boxes = phone.evaluate(
        """e => { const t = e.firstChild, r = document.createRange();
                  r.setStart(t, 0); r.setEnd(t, 4); const a = r.getBoundingClientRect();
                  r.setStart(t, t.length - 4); r.setEnd(t, t.length); const b = r.getBoundingClientRect();
                  return [a.left, b.left]; }"""
    )
    assert boxes[0] < boxes[1]
    assert _no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / "counter-audit-ar-375.png"), full_page=True)
    assert page.problems == []
