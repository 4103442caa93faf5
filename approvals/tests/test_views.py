"""Approvals inbox: what waits for whom, and deciding in place with HTMX."""

import pytest

from accounts.choices import Role
from approvals.models import Approval
from audit.context import acting_as
from conftest import login_client, make_user
from custodies import services
from custodies.tests.conftest import attach, draft_data

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def pending(users, agreement, spare_vehicle):
    """Submitted custodies (without a replacement, so several can wait at once)."""
    operator = users[Role.OPERATOR]

    def factory(**overrides):
        with acting_as(operator, "web"):
            overrides = {
                "no_replacement_needed": True,
                "no_replacement_reason": "Has a second car",
                **overrides,
            }
            custody = services.create_custody(operator, draft_data(agreement, None, **overrides))
            attach(custody, "incident_report", "photos", "customer_acknowledgment", "police_report")
            services.submit_custody(operator, custody.id)
        custody.refresh_from_db()
        return custody

    return factory


def _level(custody):
    return Approval.objects.get(custody=custody, round=custody.submission_round, level=1)


def test_inbox_lists_levels_for_the_deciding_role(users, pending):
    custody = pending()
    response = login_client(users[Role.SUPERVISOR]).get("/approvals/")
    body = response.content.decode()
    assert response.status_code == 200
    assert custody.custody_no in body and "Level 1" in body and custody.customer.full_name in body
    assert "Breakdown" in body and "Submitted by" in body
    assert "left" in body  # SLA countdown of the level's due time
    assert custody.custody_no not in login_client(users[Role.OPERATOR]).get("/approvals/").content.decode()


def test_inbox_excludes_own_submissions_and_other_branches(users, pending, other_branch):
    custody = pending()
    stranger = make_user(Role.SUPERVISOR, other_branch, email="s-auh@example.com")
    assert custody.custody_no not in login_client(stranger).get("/approvals/").content.decode()
    empty = login_client(stranger).get("/approvals/").content.decode()
    assert "Nothing waits for your approval" in empty


def test_inbox_count_badge(users, pending):
    pending()
    pending()
    assert ">2<" in login_client(users[Role.SUPERVISOR]).get("/approvals/count/").content.decode()
    assert login_client(users[Role.OPERATOR]).get("/approvals/count/").content == b""


def test_approve_in_place_with_htmx(users, pending):
    custody = pending()
    level = _level(custody)
    response = login_client(users[Role.SUPERVISOR]).post(
        f"/approvals/{level.pk}/approve/", {"notes": "ok"}, **HTMX
    )
    assert response.status_code == 200
    body = response.content.decode()
    assert custody.custody_no in body and "approved" in body and "<html" not in body
    custody.refresh_from_db()
    level.refresh_from_db()
    assert custody.status == "approved" and level.notes == "ok"


def test_two_level_approval_moves_to_the_manager(users, pending):
    custody = pending(reason_code="accident", reason_subcode="rollover")
    level = _level(custody)
    body = (
        login_client(users[Role.SUPERVISOR])
        .post(f"/approvals/{level.pk}/approve/", {}, **HTMX)
        .content.decode()
    )
    assert "next level" in body
    custody.refresh_from_db()
    assert custody.status == "pending_approval"
    manager_inbox = login_client(users[Role.MANAGER]).get("/approvals/").content.decode()
    assert custody.custody_no in manager_inbox and "Level 2" in manager_inbox


def test_reject_needs_a_reason_inline(users, pending):
    custody = pending()
    level = _level(custody)
    client = login_client(users[Role.SUPERVISOR])
    response = client.post(f"/approvals/{level.pk}/reject/", {"reason": "  "}, **HTMX)
    body = response.content.decode()
    assert response.status_code == 200 and "Give a reason" in body and f'id="approval-{level.pk}"' in body
    custody.refresh_from_db()
    assert custody.status == "pending_approval"

    body = client.post(
        f"/approvals/{level.pk}/reject/", {"reason": "No police report"}, **HTMX
    ).content.decode()
    assert "rejected" in body
    custody.refresh_from_db()
    assert custody.status == "draft" and custody.last_reject_reason == "No police report"


def test_deciding_twice_shows_an_inline_error(users, pending):
    custody = pending()
    level = _level(custody)
    client = login_client(users[Role.SUPERVISOR])
    client.post(f"/approvals/{level.pk}/approve/", {}, **HTMX)
    body = client.post(f"/approvals/{level.pk}/reject/", {"reason": "late"}, **HTMX).content.decode()
    assert "already decided" in body
    custody.refresh_from_db()
    assert custody.status == "approved"


def test_not_allowed_decisions(users, pending, other_branch):
    custody = pending()
    level = _level(custody)
    # The submitter (segregation of duties) and lower roles cannot decide; outside the branch is 404.
    operator = login_client(users[Role.OPERATOR])
    assert operator.post(f"/approvals/{level.pk}/approve/", {}).status_code == 403
    body = operator.post(f"/approvals/{level.pk}/approve/", {}, **HTMX).content.decode()
    assert "alert-danger" in body
    stranger = make_user(Role.MANAGER, other_branch, email="m-auh@example.com")
    assert login_client(stranger).post(f"/approvals/{level.pk}/approve/", {}).status_code == 404
    assert login_client(users[Role.SUPERVISOR]).post(f"/approvals/{level.pk}/maybe/", {}).status_code == 404
    custody.refresh_from_db()
    assert custody.status == "pending_approval"


def test_without_htmx_the_decision_redirects_with_a_message(users, pending):
    custody = pending()
    level = _level(custody)
    response = login_client(users[Role.SUPERVISOR]).post(f"/approvals/{level.pk}/approve/", {}, follow=True)
    assert f"You approved {custody.custody_no}" in response.content.decode()


def test_nav_shows_approvals_for_deciders_only(users):
    assert 'href="/approvals/"' in login_client(users[Role.SUPERVISOR]).get("/").content.decode()
    assert 'href="/approvals/"' not in login_client(users[Role.VIEWER]).get("/").content.decode()
