"""The quote editor and the cost-sheet editor on a 375 px phone, in English and Arabic: nothing reaches past
the screen's edges, every field has a visible label, and the live totals and the live recalculation work
by tapping and typing."""

import pytest

from accounts import services as account_services
from accounts.choices import Role
from quotes import services

from .conftest import suv_lines

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH = 375

# Every visible element that reaches past either edge of the screen (scrolling inside a box counts too:
# a table that scrolls sideways hides its columns from a phone user just the same).
OUTSIDE = """root => Array.from(root.querySelectorAll('*'))
  .map(e => [e, e.getBoundingClientRect()])
  .filter(([e, r]) => r.width > 0 && r.height > 0 && (r.left < -1 || r.right > window.innerWidth + 1))
  .map(([e, r]) => `${e.tagName.toLowerCase()}#${e.id}.${e.className} ${Math.round(r.left)}..${Math.round(r.right)}`)
  .slice(0, 8)"""


@pytest.fixture
def draft(users, company, suv, defaults, tax_profile, valid_until):
    from django.test import Client

    Client().get("/accounts/login/")  # import the URL modules before the live server's first request
    sales = users[Role.OPERATOR]
    quote = services.create_quote(
        sales, {"customer_id": company.pk, "valid_until": valid_until, "lines": suv_lines(suv)}
    )
    services.create_cost_sheet(sales, {"quote_id": quote.pk})
    return quote


def _fits(page, selector="body"):
    assert page.evaluate("document.documentElement.scrollWidth - window.innerWidth") <= 1
    assert page.eval_on_selector(selector, OUTSIDE) == []


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_quote_and_cost_sheet_editors_fit_a_phone(open_page, live_server, users, draft, suv, language):
    from playwright.sync_api import expect

    sales = users[Role.OPERATOR]
    account_services.set_language(sales, language)
    page = open_page(live_server, sales, phone=True)
    page.goto(f"{live_server.url}/quotes/{draft.pk}/")
    assert page.evaluate("window.innerWidth") == WIDTH
    assert page.evaluate("document.documentElement.dir") == ("rtl" if language == "ar" else "ltr")
    expect(page.locator("#quote-editor")).to_be_visible()
    _fits(page)

    # Each line's fields are labelled on the phone (the table's header row is not shown there).
    row = page.locator("#quote-line-rows tr").first
    quantity = row.locator("input[name$='-quantity']")
    label = row.locator(f"label[for='{quantity.get_attribute('id')}']")
    expect(label).to_be_visible()

    # Live totals while typing: 12 × 4,000 = 48,000; VAT 2,400; total 50,400.
    quantity.tap()
    quantity.fill("12")
    expect(page.locator("#quote-totals")).to_contain_text("50,400.00")
    expect(row).to_contain_text("48,000.00")
    _fits(page)

    # A second line added by tapping is laid out for the phone as well.
    page.locator("[data-add-line]").tap()
    expect(page.locator("#quote-line-rows tr")).to_have_count(2)
    _fits(page)
    page.locator("#quote-line-rows tr").nth(1).locator("select[name$='-vehicle_class_id']").select_option(
        str(suv.pk)
    )

    # The cost sheet below the lines: its inputs and its figures fit, and recalculate live.
    sheet = page.locator("#cost-sheet")
    sheet.scroll_into_view_if_needed()
    expect(sheet.locator("[data-figure=cost]")).to_contain_text("3,285.00")
    _fits(page, "#cost-sheet")
    key = str(draft.lines.get().pk)
    acquisition = page.locator(f"#acquisition_cost-{key}")
    acquisition.tap()
    acquisition.fill("150000.00")
    # 150,000: depreciation 2,187.50, financing 750.00, operating 850.00, overhead 85.00 → 3,872.50.
    expect(sheet.locator("[data-figure=cost]")).to_contain_text("3,872.50")
    expect(sheet.locator("[data-figure=margin]")).to_have_class("badge text-bg-danger")
    expect(sheet.locator("#margin-warning")).to_be_visible()
    _fits(page, "#cost-sheet")
    # The figures of a line are labelled on the phone too.
    expect(sheet.locator("#sheet-table td[data-label]").first).to_be_visible()
    page.screenshot(path=_shot_path(f"quote-phone-editor-{language}.png"), full_page=True)
    assert page.problems == [], page.problems


def _shot_path(name):
    from pathlib import Path

    folder = Path(__file__).resolve().parents[2] / "var" / "screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return str(folder / name)
