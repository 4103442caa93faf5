"""Issue 12, point 1, in a real browser: the wizard shows every error of a step at once, on the step
where it arises; an accident without a replacement asks for an explicit "no replacement needed" with
a reason; the review lists every error with a link to fix it and what the later steps will need."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.choices import Role
from audit.context import acting_as
from custodies import services
from custodies.tests.conftest import draft_data

from .test_custody_flow import local_input

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def accident_draft(seeded_rules, users, agreement):
    """An accident draft with no replacement car chosen and no documents yet."""
    from django.test import Client

    Client().get("/accounts/login/")  # import the URL modules before the live server's first request
    operator = users[Role.OPERATOR]
    data = draft_data(agreement, None, reason_code="accident", reason_subcode="collision_third_party")
    data.update(no_replacement_needed=False, no_replacement_reason="")
    with acting_as(operator, "web"):
        return services.create_custody(operator, data)


def test_the_wizard_catches_each_problem_on_its_own_step(
    open_page, live_server, users, accident_draft, screenshots
):
    from playwright.sync_api import expect

    page = open_page(live_server, users[Role.OPERATOR], phone=True)
    url = f"{live_server.url}/custodies/{accident_draft.pk}/wizard"

    # Reason step: a future incident time and an odometer below the car's record, both shown at once.
    page.goto(f"{url}/reason/")
    page.get_by_label("Incident time").fill(local_input(timezone.now() + timedelta(days=2)))
    page.get_by_label("Odometer at incident (km)").fill("100")
    page.get_by_role("button", name="Save & next").click()
    errors = page.locator("#step-errors")
    expect(errors).to_contain_text("2 fields to fix on this step")
    expect(errors).to_contain_text("The incident cannot be in the future.")
    expect(errors).to_contain_text("Below the car's last reading")
    page.screenshot(path=str(screenshots / "wizard-reason-errors-375.png"), full_page=True)
    assert page.url.endswith("/wizard/reason/"), "the step keeps the user until it is right"

    page.get_by_label("Incident time").fill(local_input(timezone.now() - timedelta(hours=3)))
    page.get_by_label("Odometer at incident (km)").fill("")
    page.get_by_role("button", name="Save & next").click()
    page.wait_for_url(re.compile(r"/wizard/custodian/$"))
    page.get_by_role("button", name="Save & next").click()
    page.wait_for_url(re.compile(r"/wizard/replacement/$"))

    # Replacement step: an accident with no car chosen must say so, with a reason.
    page.get_by_role("button", name="Save & next").click()
    expect(page.locator("#step-errors")).to_contain_text("confirm that no replacement is needed")
    page.get_by_label("No replacement needed").check()
    page.get_by_role("button", name="Save & next").click()
    expect(page.locator("#step-errors")).to_contain_text("Why no replacement")
    page.get_by_label("Why no replacement").fill("The customer has a second car")
    page.get_by_role("button", name="Save & next").click()
    page.wait_for_url(re.compile(r"/wizard/rate/$"))

    # Review: every missing document is listed with a link to fix it, plus what handover and close need.
    page.goto(f"{url}/review/")
    review = page.locator("#review-errors")
    expect(review).to_contain_text("Photos")
    expect(review).to_contain_text("Incident report")
    expect(review.get_by_role("link", name="Fix").first).to_be_visible()
    expect(page.locator("#review-next")).to_contain_text("Handover checklist")
    expect(page.locator("#review-next")).to_contain_text("Return checklist")
    expect(page.get_by_role("button", name="Submit for approval")).to_be_disabled()
    page.screenshot(path=str(screenshots / "wizard-review-errors-375.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    # The refused steps answer 422 (that is the point); nothing else went wrong in the page.
    assert [p for p in page.problems if not p.startswith("422 ")] == []
