"""Log in through the real login page and look at the vehicles list, on a desktop and a phone."""

import pytest
from django.core.management import call_command

from accounts.choices import Role
from accounts.models import User
from conftest import PASSWORD
from fleet.models import Vehicle

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EMAIL = "browser.admin@example.com"


@pytest.fixture
def demo_fleet():
    call_command("demo_data", verbosity=0)
    User.objects.create_user(
        email=EMAIL, password=PASSWORD, role=Role.ADMIN, full_name="Browser Admin", all_branches=True
    )
    return Vehicle.objects.select_related("vehicle_class").order_by("plate").first()


def log_in(page, live_server, next_path="/vehicles/"):
    page.goto(f"{live_server.url}{next_path}")
    assert "/accounts/login/" in page.url  # anonymous visitors are sent to the login page
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}{next_path}")


def test_log_in_and_see_the_vehicles_list(page, live_server, demo_fleet, screenshots):
    from playwright.sync_api import expect

    log_in(page, live_server)
    expect(page.get_by_role("heading", name="Vehicles")).to_be_visible()
    row = page.get_by_role("row").filter(has_text=demo_fleet.plate)
    expect(row).to_be_visible()
    expect(row).to_contain_text(demo_fleet.make)
    expect(row).to_contain_text(demo_fleet.vehicle_class.code)
    page.screenshot(path=str(screenshots / "vehicles.png"), full_page=True)

    # A phone-sized screen: the same list, still readable.
    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()
    expect(row).to_be_visible()
    page.screenshot(path=str(screenshots / "vehicles-375.png"), full_page=True)
    overflow = page.evaluate("document.documentElement.scrollWidth - document.documentElement.clientWidth")
    assert overflow <= 0, f"the page scrolls sideways by {overflow}px at 375px"
    assert page.problems == []


def test_search_narrows_the_list(page, live_server, demo_fleet):
    from playwright.sync_api import expect

    log_in(page, live_server)
    other = Vehicle.objects.exclude(make=demo_fleet.make).order_by("plate").first()
    page.get_by_role("searchbox").fill(demo_fleet.plate)
    expect(page.get_by_role("row").filter(has_text=other.plate)).to_have_count(0)
    expect(page.get_by_role("row").filter(has_text=demo_fleet.plate)).to_be_visible()
    assert page.problems == []


def test_phone_menu_opens(page, live_server, demo_fleet):
    from playwright.sync_api import expect

    page.set_viewport_size({"width": 375, "height": 812})
    log_in(page, live_server)
    customers = page.get_by_role("link", name="Customers")
    expect(customers).to_be_hidden()
    page.get_by_role("button", name="Menu").click()
    expect(customers).to_be_visible()
    customers.click()
    page.wait_for_url(f"{live_server.url}/customers/")
    assert page.problems == []


def test_wrong_password_is_refused(page, live_server, demo_fleet):
    from playwright.sync_api import expect

    page.goto(f"{live_server.url}/accounts/login/")
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("alert")).to_be_visible()
    assert "/accounts/login/" in page.url


@pytest.mark.parametrize("path", ["/", "/custodies/", "/customers/", "/agreements/"])
def test_main_pages_render_on_desktop_and_phone(page, live_server, demo_fleet, screenshots, path):
    """Screenshots for review (var/screenshots/page-*.png); the pages must load without errors."""
    log_in(page, live_server, next_path=path)
    name = path.strip("/").replace("/", "-") or "dashboard"
    page.screenshot(path=str(screenshots / f"page-{name}.png"), full_page=True)
    page.set_viewport_size({"width": 375, "height": 812})
    page.reload()
    page.screenshot(path=str(screenshots / f"page-{name}-375.png"), full_page=True)
    assert page.problems == []


def test_login_page_on_a_phone(page, live_server, screenshots):
    page.set_viewport_size({"width": 375, "height": 812})
    page.goto(f"{live_server.url}/accounts/login/")
    page.screenshot(path=str(screenshots / "login-375.png"), full_page=True)
    assert page.get_by_role("button", name="Log in").is_visible()
    assert page.problems == []
