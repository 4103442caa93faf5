"""The Reports & analytics page draws its charts with no JavaScript error, on a desktop and a phone,
in English and Arabic; the table view and the per-chart exports work."""

import pytest
from django.core.management import call_command

from accounts.choices import Role
from accounts.models import User

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def manager():
    call_command("demo_data", verbosity=0)
    return User.objects.create_user(
        email="browser.reports@example.com",
        password="Correct-Horse-42",
        role=Role.ADMIN,
        full_name="Reports Admin",
        all_branches=True,
    )


def _open(open_page, live_server, user, phone):
    page = open_page(live_server, user, phone=phone)
    page.goto(f"{live_server.url}/reports/")
    page.wait_for_load_state("networkidle")
    return page


@pytest.mark.parametrize("phone", [False, True], ids=["desktop", "phone"])
def test_the_charts_render_without_script_errors(open_page, live_server, manager, phone, screenshots):
    page = _open(open_page, live_server, manager, phone)
    drawn = page.locator(".report-chart.charted canvas")
    assert drawn.count() >= 5  # the demo data fills most charts this month
    # Chart.js drew into every canvas (a blank canvas has no size set by Chart.js)
    sizes = page.eval_on_selector_all(".report-chart.charted canvas", "cs => cs.map(c => c.width * c.height)")
    assert all(size > 0 for size in sizes)
    if phone:  # nothing scrolls sideways at 375 px (the desktop menu is the layout's business)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, width
    first = page.locator(".report-chart.charted").first
    first.get_by_role("button", name="Table").click()
    assert first.locator(".chart-table table").is_visible()
    assert not first.locator("canvas").is_visible()
    page.screenshot(
        path=str(screenshots / f"analytics-{'phone' if phone else 'desktop'}.png"), full_page=True
    )
    assert page.problems == []


def test_the_page_works_in_arabic(open_page, live_server, manager, screenshots):
    manager.language = "ar"
    manager.save(update_fields=["language"])
    page = _open(open_page, live_server, manager, phone=True)
    assert page.evaluate("document.documentElement.dir") == "rtl"
    assert page.locator(".report-chart.charted canvas").count() >= 5
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.screenshot(path=str(screenshots / "analytics-arabic-phone.png"), full_page=True)
    assert page.problems == []
