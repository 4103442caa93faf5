"""Settling a closed custody as the finance team does it in a browser: a damage charge added and posted,
a card payment for what is outstanding, the settlement PDF, the finance charges list and its CSV export.
Screenshots: var/screenshots/flow-NN-settle-*.png (numbered after the custody flow's)."""

import re
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import timezone

from accounts.choices import Role
from audit.context import acting_as
from billing.models import Charge, Payment
from conftest import PASSWORD
from custodies import services as custody_services
from custodies.tests.conftest import attach, draft_data

from .conftest import horizontal_overflow, log_in_as, open_tab

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FIRST_SHOT = 50  # flow-51… so these never overwrite the custody flow's screenshots


@pytest.fixture
def closed_custody(seeded_rules, users, agreement, spare_vehicle, tax_profile):
    """A breakdown custody taken through every step with the services, closed with its replacement
    rental posted by the system (DESIGN §4.1, §8)."""
    operator, supervisor = users[Role.OPERATOR], users[Role.SUPERVISOR]
    with acting_as(operator, "web"):
        custody = custody_services.create_custody(operator, draft_data(agreement, spare_vehicle))
        attach(custody, "incident_report", "customer_acknowledgment", user=operator)
        custody_services.submit_custody(operator, custody.id)
    with acting_as(supervisor, "web"):
        custody_services.approve_custody(supervisor, custody.id, notes="OK")
    with acting_as(operator, "web"):
        attach(custody, "handover_checklist", user=operator)
        custody_services.hand_over_custody(operator, custody.id, {"odometer_km": 12000, "fuel_level": 8})
        attach(custody, "return_checklist", user=operator)
        custody_services.close_custody(
            operator,
            custody.id,
            {"returned_at": timezone.now(), "odometer_km": 12180, "fuel_level": 8, "original_ready": True},
        )
    custody.refresh_from_db()
    assert custody.status == "closed"
    rental = Charge.objects.get(custody=custody, charge_type="replacement_rental")
    assert rental.status == "posted" and rental.total > 0
    return custody


def money(value) -> str:
    return f"{Decimal(value):.2f}"


def test_settlement_flow(page, live_server, closed_custody, users, shot):
    from playwright.sync_api import expect

    custody = closed_custody
    finance = users[Role.FINANCE]
    rental = Charge.objects.get(custody=custody, charge_type="replacement_rental")
    shot.count = FIRST_SHOT
    detail = f"/custodies/{custody.pk}/"

    log_in_as(page, live_server, finance.email, PASSWORD, detail)
    expect(page.locator("h1 .badge")).to_have_text("Closed")
    tab = open_tab(page, "Charges & payments").locator("#billing-tab")
    expect(tab).to_be_visible()
    expect(tab.locator("#balance-outstanding")).to_have_text(f"{money(rental.total)} AED")
    shot(page, "settle-charges-tab")

    # A damage charge: 500.00 + 5 % VAT (the default tax profile), paid by the customer.
    tab.get_by_text("Add a charge").click()
    add = tab.locator("form[data-live-totals]")
    add.get_by_label("Type").select_option("damage")
    add.get_by_label("Description").fill("Scratch on the rear bumper of the replacement car")
    add.get_by_label("Qty").fill("1")
    add.get_by_label("Unit price").fill("500")
    add.get_by_label("Who pays").select_option("customer")
    expect(add.locator("[data-totals-preview]")).to_have_text("500.00 + 25.00 = 525.00")
    shot(page, "settle-add-charge")
    add.get_by_role("button", name="Add").click()
    damage_row = page.locator("#charges-table .charge-item").filter(has_text="Scratch on the rear bumper")
    expect(damage_row).to_contain_text("Draft")
    expect(damage_row).to_contain_text("525.00")
    shot(page, "settle-charge-added")

    # Post it: tick it and "Post selected".
    damage_row.get_by_role("checkbox", name="Select").check()
    page.locator("#billing-tab").get_by_role("button", name="Post selected").click()
    damage_row = page.locator("#charges-table .charge-item").filter(has_text="Scratch on the rear bumper")
    expect(damage_row).to_contain_text("Posted")
    outstanding = rental.total + Decimal("525.00")
    expect(page.locator("#balance-outstanding")).to_have_text(f"{money(outstanding)} AED")
    shot(page, "settle-charge-posted")

    # A card payment of everything outstanding.
    tab = page.locator("#billing-tab")
    tab.get_by_text("Record a payment or refund").click()
    pay = tab.locator("form").filter(has=page.get_by_role("button", name="Record", exact=True))
    pay.get_by_label("Kind").select_option("payment")
    pay.get_by_label("Amount").fill(money(outstanding))
    pay.get_by_label("Method").select_option("card")
    pay.get_by_label("Payer").select_option("customer")
    pay.get_by_label("Reference").fill("POS-778812")
    shot(page, "settle-payment")
    pay.get_by_role("button", name="Record", exact=True).click()
    expect(page.locator("#balance-outstanding")).to_have_text("0.00 AED")
    payments = page.locator("#billing-tab #payments-list")
    expect(payments).to_contain_text("POS-778812")
    expect(payments).to_contain_text(money(outstanding))
    shot(page, "settle-paid")
    payment = Payment.objects.get(custody=custody)
    assert (payment.method, payment.amount, payment.recorded_by_id) == ("card", outstanding, finance.pk)
    assert set(Charge.objects.filter(custody=custody).values_list("status", flat=True)) == {"paid"}

    # The settlement PDF behind the tab's link.
    pdf_link = page.locator("#billing-tab").get_by_role("link", name="Settlement PDF")
    response = page.request.get(f"{live_server.url}{pdf_link.get_attribute('href')}")
    assert response.ok and response.headers["content-type"] == "application/pdf"
    assert response.body().startswith(b"%PDF")
    assert len(response.body()) > 1000

    # The same tab on a phone: readable, nothing scrolls sideways.
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}{detail}?tab=charges")
    expect(page.locator("#balance-outstanding")).to_have_text("0.00 AED")
    overflow = horizontal_overflow(page)
    assert overflow <= 1, f"the charges tab scrolls sideways by {overflow}px at 375px"
    shot(page, "settle-375-charges")

    # The finance charges list, reached from the menu, and its CSV export.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Charges", exact=True).click()
    page.wait_for_url(f"{live_server.url}/billing/charges/")
    filters = page.locator("form.filter-bar")
    filters.get_by_label("Branch").select_option(label=custody.branch.code)
    filters.get_by_role("button", name="Filter").click()
    page.wait_for_url(re.compile(rf"/billing/charges/\?.*branch_id={custody.branch_id}"))
    expect(filters.get_by_label("Branch")).to_have_value(str(custody.branch_id))
    rows = page.locator("table tbody tr").filter(has_text=custody.custody_no)
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text="Scratch on the rear bumper")).to_contain_text("Paid")
    shot(page, "settle-charges-list")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="CSV", exact=True).click()  # not "Payments CSV"
    download = download_info.value
    assert download.suggested_filename.endswith(".csv")
    text = Path(download.path()).read_text(encoding="utf-8-sig")
    header, *lines = [line for line in text.splitlines() if line]
    assert header.startswith("Custody no.,Branch,Customer,Type")
    mine = [line for line in lines if line.startswith(custody.custody_no)]
    assert len(mine) == 2 and any("Damage" in line and "525.00" in line for line in mine)

    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()
    overflow = horizontal_overflow(page)
    assert overflow <= 1, f"the charges list scrolls sideways by {overflow}px at 375px"
    shot(page, "settle-375-charges-list")

    assert page.problems == []
