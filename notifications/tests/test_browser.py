"""The bell, the inbox and the preferences in a real browser (Debian's chromium through Playwright),
on a 375 px phone: the badge loads with HTMX, "Mark read" updates the row and the badge in place,
nothing scrolls sideways and CSP refuses nothing. Run with `make test-browser`; skipped without chromium.
"""

import pytest
from django.conf import settings

from accounts.choices import Role
from notifications.models import Notification
from notifications.services import notify_users

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = settings.BASE_DIR / "var" / "screenshots"


def sideways(page) -> int:
    return page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")


def test_bell_inbox_and_preferences_on_a_phone(open_page, live_server, users, make_draft):
    from playwright.sync_api import expect

    manager = users[Role.MANAGER]
    custody = make_draft()
    notify_users(
        [manager],
        "sla_breached",
        f"SLA breached: {custody.custody_no}",
        "The approval target was due at 25/11/2026 14:00 (Dubai Airport).",
        custody=custody,
    )
    notify_users(
        [manager],
        "custody_overdue",
        "Overdue: CST-000999 with a rather long title to wrap on a phone",
        "Expected back yesterday.",
    )
    page = open_page(live_server, manager, phone=True)

    page.goto(f"{live_server.url}/notifications/")
    bell = page.locator("#notification-bell")
    expect(bell).to_be_visible()  # outside the collapsed menu on a phone
    expect(page.locator("#notification-count")).to_contain_text("2")
    assert sideways(page) <= 0, f"the inbox scrolls sideways by {sideways(page)}px at 375px"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "notifications-375.png"), full_page=True)

    first = Notification.objects.get(kind="sla_breached")
    row = page.locator(f"#notification-{first.pk}")
    row.get_by_role("button", name="Mark read").click()
    expect(row.get_by_role("button", name="Mark read")).to_have_count(0)
    expect(page.locator("#notification-count")).to_contain_text("1")  # refreshed at once, not in 30 s
    first.refresh_from_db()
    assert first.is_read

    page.get_by_role("button", name="Mark all read").click()
    expect(page.locator("#notification-count")).to_have_count(0)

    page.goto(f"{live_server.url}/accounts/settings/")
    grid = page.locator("#notification-preferences")
    expect(grid).to_be_visible()
    assert sideways(page) <= 0, f"the settings page scrolls sideways by {sideways(page)}px at 375px"
    grid.get_by_label("SLA breached: E-mail").uncheck()
    grid.get_by_role("button", name="Save notification preferences").click()
    expect(page.get_by_text("Notification preferences saved.")).to_be_visible()
    expect(page.locator("#notification-preferences").get_by_label("SLA breached: E-mail")).not_to_be_checked()
    page.screenshot(path=str(SCREENSHOTS / "notification-preferences-375.png"), full_page=True)

    # On a desktop the bell sits at the end of the header, next to the user menu.
    page.set_viewport_size({"width": 1280, "height": 800})
    page.goto(f"{live_server.url}/notifications/")
    bell_box, menu_box = bell.bounding_box(), page.locator("#user-menu").bounding_box()
    assert bell_box["x"] > menu_box["x"] + menu_box["width"] - 1
    assert abs(bell_box["y"] - menu_box["y"]) < 10
    page.screenshot(path=str(SCREENSHOTS / "notifications-desktop.png"))
    assert page.problems == []
