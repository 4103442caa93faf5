"""Issue 12 §10 "lists that remember" in a real browser: save the custody list's filters under a name
and apply them again from the menu (desktop and 375 px), and approve several levels at once in the
inbox, one of them refused because someone decided it meanwhile."""

import pytest

from accounts.choices import Role
from accounts.models import SavedFilter
from audit.context import acting_as
from conftest import make_user
from custodies import services
from custodies.models import Custody
from custodies.tests.conftest import attach, draft_data

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def _custody(user, agreement, submit=False):
    with acting_as(user, "web"):
        custody = services.create_custody(user, draft_data(agreement, None))
        attach(custody, "incident_report", "photos", "customer_acknowledgment", "police_report")
        if submit:
            services.submit_custody(user, custody.id)
    custody.refresh_from_db()
    return custody


def _no_sideways_scroll(page):
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")


def test_a_filter_saved_from_the_custody_list_is_applied_again_from_its_menu(
    open_page, live_server, users, agreement, seeded_rules, screenshots
):
    from playwright.sync_api import expect

    operator = users[Role.OPERATOR]
    drafts = [_custody(operator, agreement) for _ in range(2)]
    waiting = _custody(operator, agreement, submit=True)
    page = open_page(live_server, operator)
    page.goto(f"{live_server.url}/custodies/")
    expect(page.locator("#custody-table tbody tr")).to_have_count(3)

    page.locator("label[for=status-draft]").click()  # HTMX swaps the results and pushes the URL
    page.wait_for_url("**/custodies/?*status=draft*")
    page.get_by_role("button", name="Saved filters").click()
    page.get_by_role("link", name="Save current filters…").click()
    page.wait_for_url("**/filters/custodies/new/?*status=draft*")
    expect(page.locator(".saved-filter-summary")).to_contain_text("Draft")
    page.get_by_role("textbox", name="Name").fill("My drafts")
    page.get_by_label("DXB · Dubai Airport").check()
    page.screenshot(path=str(screenshots / "lists-01-save-filter.png"), full_page=True)
    page.get_by_role("button", name="Save filter").click()
    page.wait_for_url("**/custodies/?status=draft")
    expect(page.get_by_text("Filter “My drafts” saved.")).to_be_visible()
    saved = SavedFilter.objects.get(owner=operator)
    assert (saved.name, saved.query, [b.code for b in saved.shared_with.all()]) == (
        "My drafts",
        "status=draft",
        ["DXB"],
    )

    page.goto(f"{live_server.url}/custodies/")
    expect(page.locator("#custody-table tbody tr")).to_have_count(3)
    page.get_by_role("button", name="Saved filters").click()
    page.get_by_role("link", name="My drafts").click()
    page.wait_for_url("**/custodies/?status=draft")
    rows = page.locator("#custody-table tbody tr")
    expect(rows).to_have_count(2)
    for custody in drafts:
        expect(rows.filter(has_text=custody.custody_no)).to_have_count(1)
    expect(rows.filter(has_text=waiting.custody_no)).to_have_count(0)
    assert page.problems == []

    # A colleague of the branch finds it in the same menu, on a phone, and applies it.
    colleague = make_user(Role.VIEWER, agreement.branch, email="colleague@example.com")
    phone = open_page(live_server, colleague, phone=True)
    phone.goto(f"{live_server.url}/custodies/")
    phone.get_by_role("button", name="Saved filters").click()
    menu = phone.locator(".saved-filters-menu")
    expect(menu).to_be_visible()
    box = menu.bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 375
    phone.screenshot(path=str(screenshots / "lists-02-saved-filters-menu-375.png"), full_page=True)
    menu.get_by_role("link", name="My drafts").click()
    phone.wait_for_url("**/custodies/?status=draft")
    expect(phone.locator("#custody-table tbody tr")).to_have_count(2)
    assert _no_sideways_scroll(phone)
    assert phone.problems == []


def test_approving_several_levels_at_once_reports_each_row(
    open_page, live_server, users, agreement, seeded_rules, screenshots
):
    from playwright.sync_api import expect

    operator, supervisor = users[Role.OPERATOR], users[Role.SUPERVISOR]
    first, second, third = (_custody(operator, agreement, submit=True) for _ in range(3))
    page = open_page(live_server, supervisor, phone=True)
    page.goto(f"{live_server.url}/approvals/")
    expect(page.locator("#inbox .inbox-row")).to_have_count(3)
    approve = page.get_by_role("button", name="Approve selected")
    expect(approve).to_be_disabled()

    # Keyboard: tick "Select all" with the space bar; every row is ticked and counted.
    page.get_by_label("Select all").focus()
    page.keyboard.press("Space")
    expect(page.locator("input[data-select-row]:checked")).to_have_count(3)
    expect(page.locator("[data-selected-count]")).to_have_text("3 selected")
    page.get_by_label(f"Select {second.custody_no}").uncheck()
    expect(page.locator("[data-selected-count]")).to_have_text("2 selected")
    assert page.get_by_label("Select all").evaluate("box => box.indeterminate")
    page.get_by_label(f"Select {second.custody_no}").check()
    expect(approve).to_be_enabled()
    assert _no_sideways_scroll(page)
    page.screenshot(path=str(screenshots / "lists-03-bulk-approve-375.png"), full_page=True)

    # Meanwhile another supervisor decides the third one.
    other = make_user(Role.SUPERVISOR, agreement.branch, email="supervisor2@example.com")
    with acting_as(other, "web"):
        services.approve_custody(other, third.pk)

    page.get_by_label("Notes for each approval").fill("Reports checked")
    approve.click()
    summary = page.locator("#bulk-summary")
    expect(summary).to_contain_text("Approved 2 of 3.")
    expect(summary.locator('[data-outcome="refused"]')).to_contain_text(third.custody_no)
    expect(summary.locator('[data-outcome="refused"]')).to_contain_text(
        "This level was already decided or is no longer waiting."
    )
    expect(page.locator("#inbox .list-group-item-success")).to_have_count(2)
    page.screenshot(path=str(screenshots / "lists-04-bulk-approve-result-375.png"), full_page=True)
    statuses = dict(
        Custody.objects.filter(pk__in=[first.pk, second.pk, third.pk]).values_list("pk", "status")
    )
    assert statuses == {first.pk: "approved", second.pk: "approved", third.pk: "approved"}
    assert third.approvals.get(level=1).decided_by == other
    assert _no_sideways_scroll(page)
    assert page.problems == []
