"""A breakdown custody from the first click to closing, as the operator and the supervisor do it in a
browser: the wizard with its search picker and uploads, approval in the inbox, handover and close in
the detail page's dialogs, a signed return checklist. Screenshots: var/screenshots/flow-NN-*.png.
"""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.choices import Role
from billing.models import Charge
from conftest import PASSWORD
from custodies.models import Custody

from .conftest import horizontal_overflow, log_in_as, log_out, open_tab

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def reference_data(seeded_rules, branch, vehicle_class, agreement, spare_vehicle, tax_profile, users):
    """DESIGN §3: a branch, a class, a rented car under an active agreement, a spare car of the same
    branch, UAE VAT 5 % as the default tax profile; operator and supervisor of that branch."""
    return {
        "agreement": agreement,
        "spare": spare_vehicle,
        "operator": users[Role.OPERATOR],
        "supervisor": users[Role.SUPERVISOR],
    }


def local_input(moment) -> str:
    """A datetime-local field's value in the browser's (and the branch's) time zone."""
    return timezone.localtime(moment).strftime("%Y-%m-%dT%H:%M")


def test_custody_flow(page, live_server, reference_data, pdf_file, shot):
    from playwright.sync_api import expect

    agreement, spare = reference_data["agreement"], reference_data["spare"]
    operator, supervisor = reference_data["operator"], reference_data["supervisor"]
    url = live_server.url

    # ---- operator: the new-custody wizard ----------------------------------------------------------
    log_in_as(page, live_server, operator.email, PASSWORD, "/custodies/new/")
    expect(page.get_by_role("heading", name="New custody")).to_be_visible()
    shot(page, "wizard-start")

    search = page.get_by_label("Rental agreement")
    search.press_sequentially(agreement.agreement_no, delay=30)
    result = page.locator("#results-agreement_id [data-pick]").filter(has_text=agreement.agreement_no)
    expect(result).to_be_visible()
    shot(page, "agreement-search")
    result.click()
    picked = page.locator('[data-picker="agreement_id"] [data-picker-label]')
    expect(picked).to_contain_text(agreement.agreement_no)
    expect(page.locator('[data-picker="customer_id"] [data-picker-label]')).to_have_text(
        agreement.customer.full_name
    )
    expect(page.locator('[data-picker="original_vehicle_id"] [data-picker-label]')).to_contain_text(
        agreement.vehicle.plate
    )
    page.get_by_label("Reason").select_option("breakdown")
    shot(page, "agreement-picked")
    page.get_by_role("button", name="Create draft & next").click()
    page.wait_for_url(re.compile(r"/custodies/[0-9a-f-]+/wizard/reason/$"))
    custody = Custody.objects.get(agreement=agreement)
    assert custody.status == "draft" and custody.reason_code == "breakdown"

    # Reason detail and the incident.
    expect(page.get_by_role("combobox", name="Reason", exact=True)).to_have_value("breakdown")
    page.get_by_label("Reason detail").select_option("engine_failure")
    page.get_by_label("Incident time").fill(local_input(timezone.now() - timedelta(hours=2)))
    page.get_by_label("Incident reference").fill("WS-2025-0142")
    page.get_by_label("Incident location").fill("Al Khail Road, Dubai")
    page.get_by_label("Odometer at incident (km)").fill("12040")
    page.get_by_label("What happened", exact=True).fill(
        "Engine warning light and loss of power; towed to the workshop."
    )
    shot(page, "reason")
    page.get_by_role("button", name="Save & next").click()
    page.wait_for_url(re.compile(r"/wizard/custodian/$"))

    # The custodian is the customer, prefilled from the agreement.
    expect(page.get_by_role("radio", name="Customer")).to_be_checked()
    expect(page.get_by_role("textbox", name="Name", exact=True)).to_have_value(agreement.customer.full_name)
    expect(page.get_by_label("Phone")).to_have_value(agreement.customer.phone)
    shot(page, "custodian")
    page.get_by_role("button", name="Save & next").click()
    page.wait_for_url(re.compile(r"/wizard/replacement/$"))

    # The replacement: the spare car of the branch, for three days.
    with page.expect_response(re.compile(r"/wizard/replacement/vehicles/")):
        page.get_by_label("Expected return").fill(local_input(timezone.now() + timedelta(days=3)))
        page.get_by_label("Expected return").blur()
    spare_radio = page.get_by_role("radio", name=re.compile(spare.plate))
    expect(spare_radio).to_be_visible()
    spare_radio.check()
    shot(page, "replacement")
    page.get_by_role("button", name="Save & next").click()
    page.wait_for_url(re.compile(r"/wizard/rate/$"))

    # The rate policy stays "inherit" (the agreement's daily rate).
    inherit = page.get_by_role("radio", name="Agreement daily rate")
    inherit.check()
    expect(inherit).to_be_checked()
    shot(page, "rate")
    page.get_by_role("button", name="Save & next").click()
    page.wait_for_url(re.compile(r"/wizard/documents/$"))

    # The documents a breakdown needs (DESIGN §7): an incident report and the customer's acknowledgment.
    panel = page.locator("#documents-panel")
    expect(panel.locator("#documents-list")).to_contain_text("Still needed")
    for file_name, title, document_type in (
        ("incident-report.pdf", "Workshop incident report", "incident_report"),
        ("customer-acknowledgment.pdf", "Customer acknowledgment", "customer_acknowledgment"),
    ):
        panel.locator("input[type=file]").set_input_files(
            pdf_file(file_name, f"{custody.custody_no} {title}")
        )
        expect(panel.locator("[data-file-list] li")).to_have_count(1)
        panel.get_by_label("Type").select_option(document_type)
        panel.get_by_role("button", name="Upload").click()
        expect(panel.locator("#documents-list")).to_contain_text(file_name)
    expect(panel.locator("#documents-list")).not_to_contain_text("Still needed")
    shot(page, "documents")
    page.get_by_role("button", name="Next: review").click()
    page.wait_for_url(re.compile(r"/wizard/review/$"))

    expect(page.locator("#review-errors")).to_have_count(0)
    expect(page.get_by_text("Everything needed for submission is in place.")).to_be_visible()
    expect(page.locator("main")).to_contain_text(spare.plate)
    shot(page, "review")
    page.get_by_role("button", name="Submit for approval").click()
    page.wait_for_url(f"{url}/custodies/{custody.pk}/")
    expect(page.get_by_role("alert").filter(has_text="submitted for approval")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("Pending approval")
    shot(page, "submitted")
    log_out(page, live_server)

    # ---- supervisor: approves in the inbox ---------------------------------------------------------
    log_in_as(page, live_server, supervisor.email, PASSWORD, "/approvals/")
    row = page.locator(".inbox-row").filter(has_text=custody.custody_no)
    expect(row).to_be_visible()
    expect(page.locator("#inbox-count")).to_have_text("1 level waiting for you")
    shot(page, "approvals-inbox")
    row.get_by_label("Notes").fill("Workshop report checked.")
    row.get_by_role("button", name="Approve").click()
    expect(page.locator(".inbox-row").filter(has_text=custody.custody_no)).to_contain_text(
        "ready for handover"
    )
    expect(page.locator("#inbox-count")).to_have_text("0 levels waiting for you")  # counted again
    shot(page, "approved")
    custody.refresh_from_db()
    assert custody.status == "approved"
    log_out(page, live_server)

    # ---- operator: handover checklist, hand over, return checklist (signed), close -----------------
    detail = f"/custodies/{custody.pk}/"
    log_in_as(page, live_server, operator.email, PASSWORD, detail)
    expect(page.locator("h1")).to_contain_text("Approved")
    panel = open_tab(page, "Documents").locator("#documents-panel")
    panel.locator("input[type=file]").set_input_files(
        pdf_file("handover-checklist.pdf", f"{custody.custody_no} Handover checklist")
    )
    panel.get_by_label("Type").select_option("handover_checklist")
    panel.get_by_role("button", name="Upload").click()
    expect(panel.locator("#documents-list")).to_contain_text("handover-checklist.pdf")
    shot(page, "handover-checklist")

    page.locator("#custody-actions").get_by_role("button", name="Hand over").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    expect(dialog.get_by_label("Replacement vehicle")).to_have_value(str(spare.pk))
    dialog.get_by_label("Odometer (km)").fill("15230")
    dialog.get_by_label("Fuel level").select_option("8")
    dialog.get_by_label("Damage / handover notes").fill(
        "Small scratch on the rear bumper, noted with the customer."
    )
    shot(page, "handover-dialog")
    dialog.get_by_role("button", name="Hand over").click()
    page.wait_for_url(f"{url}{detail}")
    expect(page.get_by_role("alert").filter(has_text="was handed over")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("Active")
    shot(page, "handed-over")

    # The return checklist, filled in and signed by the customer on the signing page with the mouse.
    open_tab(page, "Documents").locator("#documents-panel").get_by_role("listitem").filter(
        has_text="Return checklist"
    ).get_by_role("link", name="Sign").click()
    page.wait_for_url(re.compile(r"/sign/return_checklist/$"))
    page.get_by_label("Odometer (km)").fill("15610")
    page.get_by_label("Fuel level").select_option("6")
    shot(page, "return-checklist")
    page.get_by_role("button", name="Continue to signature").click()
    expect(page.locator("[data-sign-text]")).to_contain_text(custody.custody_no)
    page.get_by_label("Signer's full name").fill(agreement.customer.full_name)
    canvas = page.locator("canvas[data-signature-pad]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    page.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
    page.mouse.down()
    for i in range(1, 16):
        page.mouse.move(box["x"] + 20 + i * 18, box["y"] + box["height"] / 2 + (-1) ** i * 20, steps=4)
    page.mouse.up()
    shot(page, "return-signature")
    page.get_by_role("button", name="Sign", exact=True).click()
    page.wait_for_url(f"{url}{detail}?tab=documents")
    expect(page.get_by_role("alert").filter(has_text="Return checklist signed")).to_be_visible()

    page.locator("#custody-actions").get_by_role("button", name="Close custody").click()
    dialog = page.get_by_role("dialog")
    expect(dialog).to_be_visible()
    dialog.get_by_label("Returned at").fill(local_input(timezone.now()))
    dialog.get_by_label("Odometer (km)").fill("15610")
    dialog.get_by_label("Fuel level").select_option("6")
    dialog.get_by_label("The original vehicle is ready").check()
    # Fuel (6/8 back of a full tank) and the kilometres over the allowance are suggested, ticked.
    fuel = dialog.get_by_role("checkbox", name=re.compile(r"^Fuel: "))
    expect(fuel).to_be_checked()
    shot(page, "close-dialog")
    dialog.get_by_role("button", name="Close custody").click()
    page.wait_for_url(f"{url}{detail}")
    expect(page.get_by_role("alert").filter(has_text="was closed")).to_be_visible()

    # ---- what the operator sees on the closed custody ----------------------------------------------
    status = page.locator("h1 .badge")
    expect(status).to_have_text("Closed")
    shot(page, "closed")

    timeline = open_tab(page, "Timeline")
    text = timeline.inner_text()
    wanted = [
        "Custody created",
        "Submitted for approval",
        "Level 1 (Supervisor) approved",
        "Replacement handed over",
        "Custody closed",
    ]
    positions = [text.find(step) for step in wanted]
    assert all(p >= 0 for p in positions), f"missing timeline steps: {dict(zip(wanted, positions))}\n{text}"
    assert positions == sorted(positions), f"timeline out of order: {dict(zip(wanted, positions))}"
    shot(page, "timeline")

    open_tab(page, "Audit")
    audit_entries = page.locator("#audit-results .audit-entry")
    expect(audit_entries.first).to_be_visible()
    assert audit_entries.count() >= 5
    expect(page.locator('#audit-results .audit-entry[data-action="custody.closed"]')).to_contain_text(
        "Custody closed"
    )
    shot(page, "audit")

    open_tab(page, "Charges & payments")
    charges = page.locator("#charges-table")
    rental = charges.locator(".charge-item").filter(has_text="Replacement rental")
    expect(rental).to_be_visible()
    expect(rental).to_contain_text("Posted")
    posted = Charge.objects.get(custody=custody, charge_type="replacement_rental")
    assert posted.status == "posted" and posted.total > 0
    expect(rental).to_contain_text(str(posted.total))
    fuel_charge = Charge.objects.get(custody=custody, charge_type="fuel")
    assert fuel_charge.status == "posted"
    expect(charges.locator(".charge-item").filter(has_text="Fuel")).to_contain_text(str(fuel_charge.total))
    shot(page, "charges")

    # ---- the same detail page on a phone: every tab fits, nothing scrolls sideways ----------------
    page.set_viewport_size({"width": 375, "height": 812})
    tabs = page.locator(".custody-tabs [role=tab]")
    names = [tabs.nth(i).get_attribute("data-tab") for i in range(tabs.count())]
    assert {"overview", "timeline", "documents", "charges", "audit"} <= set(names)
    for tab in names:
        page.goto(f"{url}{detail}?tab={tab}")
        expect(page.locator(f"#tab-{tab}")).to_have_css("opacity", "1")
        expect(page.locator(f"#tab-{tab}-btn")).to_be_in_viewport()  # the scrolled tab bar shows the open tab
        if tab == "charges":
            expect(page.locator("#charges-table")).to_be_visible()
        overflow = horizontal_overflow(page)
        assert overflow <= 1, f"the {tab} tab scrolls sideways by {overflow}px at 375px"
        if tab in ("overview", "documents", "charges", "notifications"):
            shot(page, f"detail-375-{tab}")

    assert page.problems == []
