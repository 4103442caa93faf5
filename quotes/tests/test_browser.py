"""The issue's story in a browser: a salesperson builds a quote for ten SUVs over 24 months, prices it with
a cost sheet that finance approves, applies the suggested rates, gets the quote approved by finance and
sends it; the customer accepts it on the public page on a 375 px phone. Screenshots: var/screenshots/quote-*.png.

The issue's "Done when", with every figure from this hand calculation (cost elements of the SUV class:
acquisition 120,000.00, maintenance 300, insurance 400, registration 50, roadside 20, replacement 80;
defaults financing 6.00 %, overhead 10.00 %, target margin 12.00 %; 24 months: residual 65 %, premium 1.10):
  depreciation 120,000 × 0.35 / 24 = 1,750.00 · financing 120,000 × 6 % / 12 = 600.00
  operating 300 + 400 + 50 + 20 + 80 = 850.00 · overhead 10 % × 850 = 85.00 · cost 3,285.00 a month
  suggested 3,285 / (1 − 0.12) × 1.10 = 4,106.25 · margin at the first rate 4,000: (4,000 − 3,285) / 4,000 = 17.88 %
  ten SUVs at 4,106.25 = 41,062.50 · VAT 5 % = 2,053.125 → 2,053.13 · total 43,115.63 a month
"""

from pathlib import Path

import pytest

from accounts.choices import Role
from quotes import services
from quotes.models import Quote

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def _shot(page, name):
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"quote-{name}.png"), full_page=True)


def _no_problems(page):
    assert page.problems == [], page.problems


def test_quote_built_priced_approved_sent_and_accepted_on_a_phone(
    open_page, live_server, users, company, suv, defaults, tax_profile
):
    from playwright.sync_api import expect

    sales, finance = users[Role.OPERATOR], users[Role.FINANCE]
    page = open_page(live_server, sales)

    # The salesperson starts a quote for the company and adds ten SUVs over 24 months.
    page.goto(f"{live_server.url}/quotes/")
    page.get_by_role("link", name="New quote").click()
    page.get_by_label("Customer").select_option(str(company.pk))
    page.get_by_role("button", name="Create the quote").click()
    expect(page.locator("#quote-editor")).to_be_visible()
    page.get_by_role("button", name="Add line").click()
    row = page.locator("#quote-line-rows tr").last
    row.get_by_label("Vehicle class").select_option(str(suv.pk))
    row.get_by_label("Qty").fill("10")
    row.get_by_label("Months").fill("24")
    row.get_by_label("Monthly rate").fill("4000.00")
    for name in ("Maint.", "Roadside", "Repl."):
        row.get_by_label(name).check()
    # Live totals from the server while typing: 10 × 4,000 = 40,000; VAT 2,000; 42,000.
    expect(page.locator("#quote-totals")).to_contain_text("42,000.00")
    expect(row).to_contain_text("40,000.00")
    _shot(page, "01-editor")
    page.get_by_role("button", name="Save", exact=True).click()
    expect(page.locator(".alert-success")).to_contain_text("Saved")
    quote = Quote.objects.get()

    # Priced by a cost sheet from the admin's cost elements; the margin shows in colour.
    page.get_by_role("button", name="Price with a cost sheet").click()
    sheet = page.locator("#cost-sheet")
    figures = sheet.locator("#sheet-table tbody tr").first
    for figure in ("65.00 %", "1,750.00", "600.00", "850.00", "85.00", "3,285.00", "4,106.25", "4,000.00"):
        expect(figures).to_contain_text(figure)
    expect(sheet.locator("[data-figure=margin]")).to_have_text("17.88 %")
    expect(sheet.locator("#sheet-summary")).to_contain_text("32,850.00")  # 10 × 3,285.00
    expect(sheet.locator("[data-figure=margin]")).to_have_class("badge text-bg-success")
    # Live recalculation: dearer cars turn the margin red and warn; then back.
    key = str(quote.lines.get().pk)
    page.locator(f"#acquisition_cost-{key}").fill("150000.00")
    expect(sheet.locator("#margin-warning")).to_be_visible()
    expect(sheet.locator("[data-figure=margin]")).to_have_class("badge text-bg-danger")
    _shot(page, "02-cost-sheet-red")
    page.locator(f"#acquisition_cost-{key}").fill("120000.00")
    expect(sheet.locator("[data-figure=margin]")).to_have_class("badge text-bg-success")
    page.locator("#cost-sheet [data-sheet-action=submit]").click()
    expect(page.locator("#cost-sheet")).to_contain_text("Pending approval")
    _no_problems(page)

    # Finance approves the cost sheet from the approvals inbox.
    finance_page = open_page(live_server, finance)
    finance_page.goto(f"{live_server.url}/approvals/")
    finance_page.locator("#quote-approvals").get_by_role("button", name="Approve").click()
    expect(finance_page.locator(".alert-success")).to_contain_text("You approved cost sheet v1")
    _no_problems(finance_page)

    # The salesperson applies the suggested rates and submits the quote.
    page.reload()
    page.locator("#cost-sheet [data-sheet-action=apply]").click()
    expect(page.locator("#quote-totals [data-total=subtotal]")).to_have_text("41,062.50")
    expect(page.locator("#quote-totals [data-total=vat]")).to_have_text("2,053.13")
    expect(page.locator("#quote-totals [data-total=total]")).to_contain_text("43,115.63")
    # At the suggested rate the margin is 20.00 % ((4,106.25 − 3,285) / 4,106.25): the target plus the premium.
    expect(page.locator("#cost-sheet [data-figure=margin]")).to_have_text("20.00 %")
    page.locator("[data-quote-action=submit]").click()
    expect(page.locator("#quote-status")).to_contain_text("Pending approval")

    # Finance approves the quote (never its submitter), then it is sent.
    finance_page.goto(f"{live_server.url}/approvals/")
    finance_page.locator("#quote-approvals").get_by_role("button", name="Approve").click()
    expect(finance_page.locator(".alert-success")).to_contain_text(f"You approved {quote.quote_no}")
    page.reload()
    page.locator("[data-quote-action=send]").click()
    expect(page.locator("#quote-status")).to_contain_text("Sent")
    _shot(page, "03-sent")
    _no_problems(page)

    # The customer opens the link on a phone, reads the quote, types their name, signs and accepts.
    quote.refresh_from_db()
    phone = open_page(live_server, phone=True)
    phone.goto(f"{live_server.url}/q/{services.review_token(quote)}")
    expect(phone.locator("#review-total")).to_contain_text("43,115.63")
    for figure in ("4,106.25", "41,062.50", "2,053.13"):
        expect(phone.locator("body")).to_contain_text(figure)
    # A 375 px layout viewport (a phone zooms out to fit a page wider than the screen) and nothing past it.
    assert phone.evaluate("window.innerWidth") == 375
    assert phone.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    phone.get_by_label("Your full name").fill("Fatima Al Hashimi")
    canvas = phone.locator("canvas[data-signature-pad]")
    canvas.scroll_into_view_if_needed()
    box = canvas.bounding_box()
    phone.mouse.move(box["x"] + 20, box["y"] + box["height"] / 2)
    phone.mouse.down()
    for i in range(1, 14):
        phone.mouse.move(box["x"] + 20 + i * 20, box["y"] + box["height"] / 2 + (-1) ** i * 25, steps=4)
    phone.mouse.up()
    _shot(phone, "04-phone-review")
    phone.get_by_role("button", name="Accept and sign").click()
    expect(phone.locator("#review-done")).to_contain_text("You accepted the quotation")
    _shot(phone, "05-phone-accepted")
    _no_problems(phone)

    quote.refresh_from_db()
    assert quote.status == "accepted" and quote.decision_name == "Fatima Al Hashimi"
    assert bytes(quote.signature_png).startswith(b"\x89PNG")
    # Segregation of duties, as stored: sales submitted the sheet and the quote, finance decided both.
    sheet_row = quote.cost_sheets.get()
    assert (sheet_row.status, sheet_row.submitted_by, sheet_row.decided_by) == ("approved", sales, finance)
    assert (quote.submitted_by, quote.approved_by, quote.sent_by) == (sales, finance, sales)
    line = quote.lines.get()
    assert (line.quantity, line.term_months, str(line.monthly_rate), str(line.line_total)) == (
        10,
        24,
        "4106.25",
        "41062.50",
    )
    assert (str(quote.subtotal), str(quote.vat_amount), str(quote.total)) == (
        "41062.50",
        "2053.13",
        "43115.63",
    )

    # Staff see the decision, the signature, its time and address.
    page.reload()
    expect(page.locator("#quote-decision")).to_contain_text("Fatima Al Hashimi")
    expect(page.locator("#quote-decision img")).to_be_visible()
    _shot(page, "06-accepted-staff")
