"""People features in a real browser: the tour, the shortcuts, reporting a problem with an attachment,
the users page and a login with a TOTP code."""

import re

import pytest

from accounts.choices import Role
from accounts.models import User
from conftest import PASSWORD, make_user
from fleet.models import Branch
from support.models import OnboardingTour, SupportTicket

from .conftest import log_in_as

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def branch_dxb():
    # Load every URL module (the API, PDFs) in this process first: on a busy machine the live server's
    # first request would otherwise spend the page's whole time-out importing them.
    from django.test import Client

    Client().get("/accounts/login/")
    return Branch.objects.create(code="DXB", name="Dubai Airport", city="Dubai")


def test_the_first_login_tour_is_resumable_skippable_and_can_be_taken_again(
    open_page, live_server, branch_dxb, settings, screenshots
):
    from playwright.sync_api import expect

    settings.CUSTODY_ONBOARDING_TOUR = True
    user = make_user(Role.SUPERVISOR, branch_dxb, email="tour@example.com")
    page = open_page()
    log_in_as(page, live_server, user.email, PASSWORD)
    tour = page.locator("#tour")
    expect(tour).to_contain_text("Welcome to Custody")
    expect(tour).to_contain_text("1 / 6")
    page.locator("#tour-next").click()
    expect(tour).to_contain_text("Approvals")
    page.screenshot(path=str(screenshots / "people-tour.png"))
    # Resumable: the next page starts where the user was.
    page.reload()
    expect(tour).to_contain_text("2 / 6")
    page.locator("#tour-skip").click()
    expect(tour).to_have_count(0)
    page.reload()
    expect(page.get_by_role("heading", level=1).first).to_be_visible()
    expect(tour).to_have_count(0)
    assert OnboardingTour.objects.get(user=user).skipped_at is not None

    # Taken again from Help, to the end.
    page.goto(f"{live_server.url}/help/")
    page.locator("#restart-tour").click()
    expect(tour).to_contain_text("1 / 6")
    for _step in range(5):
        page.locator("#tour-next").click()
    page.locator("#tour-done").click()
    expect(tour).to_have_count(0)
    page.wait_for_function("() => true")
    state = OnboardingTour.objects.get(user=user)
    assert state.completed_at is not None
    assert page.problems == []


def test_keyboard_shortcuts(open_page, live_server, branch_dxb):
    from playwright.sync_api import expect

    user = make_user(Role.SUPERVISOR, branch_dxb, email="keys@example.com")
    page = open_page(live_server, user)
    page.goto(f"{live_server.url}/vehicles/")
    page.keyboard.press("?")
    dialog = page.locator("#shortcuts-help")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("New custody")
    expect(dialog).to_be_focused()  # Bootstrap ignores Escape until the fade-in has finished
    page.keyboard.press("Escape")
    expect(dialog).to_be_hidden()

    page.keyboard.press("g")
    page.keyboard.press("c")
    page.wait_for_url(f"{live_server.url}/custodies/")
    page.keyboard.press("/")
    expect(page.locator("main input[name=q]").first).to_be_focused()
    page.keyboard.type("gd")  # typed into the search box: not a shortcut
    assert page.url == f"{live_server.url}/custodies/"
    page.locator("main input[name=q]").first.blur()
    page.keyboard.press("g")
    page.keyboard.press("a")
    page.wait_for_url(f"{live_server.url}/approvals/")
    page.keyboard.press("g")
    page.keyboard.press("d")
    page.wait_for_url(f"{live_server.url}/")
    page.keyboard.press("n")
    page.wait_for_url(re.compile(r".*/custodies/new/.*|.*/custodies/[0-9a-f-]+/wizard/.*"))
    assert [p for p in page.problems if "favicon" not in p] == []


def test_reporting_a_problem_with_an_attachment(open_page, live_server, branch_dxb, pdf_file, screenshots):
    from playwright.sync_api import expect

    user = make_user(Role.OPERATOR, branch_dxb, email="reporter@example.com")
    make_user(Role.ADMIN, email="helpdesk@example.com", all_branches=True)
    page = open_page(live_server, user)
    page.goto(f"{live_server.url}/vehicles/?q=zzz")
    page.locator("#report-problem-link").click()
    dialog = page.locator("#report-problem")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("/vehicles/?q=zzz")
    dialog.get_by_label("Subject").fill("Search finds nothing")
    dialog.get_by_label("Severity").select_option("high")
    dialog.get_by_label("What happened?").fill("I typed a plate and the list stayed empty.")
    dialog.get_by_label("Screenshot or file (optional)").set_input_files(pdf_file("screen.pdf", "Empty list"))
    page.screenshot(path=str(screenshots / "people-report-problem.png"))
    dialog.get_by_role("button", name="Send report").click()
    page.wait_for_url(re.compile(r".*/support/[0-9a-f-]+/$"))
    expect(page.get_by_text("was sent to the administrators")).to_be_visible()
    expect(page.locator("#ticket-attachment")).to_have_text("screen.pdf")
    ticket = SupportTicket.objects.get()
    assert (ticket.subject, ticket.severity, ticket.page_url) == (
        "Search finds nothing",
        "high",
        "/vehicles/?q=zzz",
    )
    assert ticket.attachment_content_type == "application/pdf"
    assert page.problems == []


def test_the_users_page_invites_and_deactivates(open_page, live_server, branch_dxb, screenshots):
    from playwright.sync_api import expect

    admin = make_user(Role.ADMIN, email="boss@example.com", all_branches=True)
    page = open_page(live_server, admin)
    page.goto(f"{live_server.url}/manage/users/")
    expect(page.locator("#users-table")).to_contain_text("boss@example.com")
    page.locator("#invite-user").click()
    page.get_by_label("E-mail").fill("new.clerk@example.com")
    page.get_by_label("Full name").fill("New Clerk")
    page.get_by_label("Role").select_option("operator")
    page.get_by_label("DXB · Dubai Airport").check()
    page.get_by_role("button", name="Send invitation").click()
    expect(page.get_by_text("Invitation sent to new.clerk@example.com")).to_be_visible()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Invited")
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Deactivate").click()
    expect(page.get_by_text("is deactivated")).to_be_visible()
    page.goto(f"{live_server.url}/manage/users/?status=deactivated")
    expect(page.locator("#users-table")).to_contain_text("new.clerk@example.com")
    page.screenshot(path=str(screenshots / "people-users.png"), full_page=True)
    assert not User.objects.get(email="new.clerk@example.com").is_active
    assert page.problems == []


def test_a_login_with_a_totp_code(open_page, live_server, branch_dxb, settings):
    from django_otp.oath import totp
    from playwright.sync_api import expect

    from accounts import services

    settings.OTP_TOTP_THROTTLE_FACTOR = 0  # no 1-second wait after the wrong code typed on purpose

    user = make_user(Role.MANAGER, branch_dxb, email="twofactor@example.com")
    device = services.start_two_factor(user)
    services.confirm_two_factor(user, f"{totp(device.bin_key):06d}")
    device.refresh_from_db()
    device.last_t = -1  # the app's next code (the enrolment one is spent)
    device.save()

    page = open_page()
    page.goto(f"{live_server.url}/")
    page.get_by_label("E-mail").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(f"{live_server.url}/accounts/login/verify/")
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_contain_text("not right")
    page.get_by_label("Code").fill(f"{totp(device.bin_key):06d}")
    page.get_by_role("button", name="Verify").click()
    page.wait_for_url(f"{live_server.url}/")
    expect(page.locator("#user-menu")).to_be_visible()
