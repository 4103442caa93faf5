"""Approving several levels at once from the inbox (issue 12): each level checked like a single one."""

import pytest

from accounts.choices import Role
from approvals.models import Approval
from audit.context import acting_as
from conftest import login_client, make_user
from custodies import services
from custodies.tests.conftest import attach, draft_data

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
SOD = "You submitted this custody, so you cannot approve it (segregation of duties)."


@pytest.fixture
def submitted(users, agreement):
    """submitted(by=user, **overrides) -> a custody waiting for level 1 (no replacement: several can wait)."""

    def factory(by=None, **overrides):
        by = by or users[Role.OPERATOR]
        with acting_as(by, "web"):
            custody = services.create_custody(by, draft_data(agreement, None, **overrides))
            attach(custody, "incident_report", "photos", "customer_acknowledgment", "police_report")
            services.submit_custody(by, custody.id)
        custody.refresh_from_db()
        return custody

    return factory


def _level(custody, n=1):
    return Approval.objects.get(custody=custody, round=custody.submission_round, level=n)


def _state(custody, n=1):
    custody.refresh_from_db()
    level = _level(custody, n)
    return custody.status, level.status, level.decided_by_id, level.notes


def test_a_mixed_bulk_approve_approves_the_others_and_reports_the_row_refused_for_segregation_of_duties(
    users, submitted
):
    supervisor = users[Role.SUPERVISOR]
    first, second = submitted(), submitted()
    own = submitted(by=supervisor)  # the supervisor submitted this one: may not approve it
    ids = [str(_level(c).pk) for c in (first, own, second)]

    response = login_client(supervisor).post(
        "/approvals/approve-selected/", {"approval_id": ids, "notes": "Checked the police reports"}, **HTMX
    )

    assert response.status_code == 200
    assert _state(first) == ("approved", "approved", supervisor.pk, "Checked the police reports")
    assert _state(second) == ("approved", "approved", supervisor.pk, "Checked the police reports")
    assert _state(own) == ("pending_approval", "pending", None, "")
    body = response.text
    assert "Approved 2 of 3." in body
    assert body.count('data-outcome="approved"') == 2
    refused = body[body.index('data-outcome="refused"') :]
    assert own.custody_no in refused[:400] and SOD in refused[:600]
    # In place: approved rows become their result line, the refused row shows why (out-of-band swaps).
    assert f'id="approval-{ids[0]}" hx-swap-oob="true"' in body
    assert f'id="approval-{ids[1]}" hx-swap-oob="true"' in body
    assert response["HX-Trigger"] == "approvals-changed"


def test_without_htmx_a_page_lists_what_was_approved_and_what_was_refused(users, submitted):
    supervisor = users[Role.SUPERVISOR]
    other, own = submitted(), submitted(by=supervisor)

    response = login_client(supervisor).post(
        "/approvals/approve-selected/", {"approval_id": [str(_level(other).pk), str(_level(own).pk)]}
    )

    assert response.status_code == 200
    assert "<html" in response.text
    assert "Approved 1 of 2." in response.text
    assert "Approved — the custody is ready for handover." in response.text
    assert SOD in response.text


def test_a_role_that_decides_no_approvals_is_refused_before_any_level(users, submitted):
    custody = submitted()

    response = login_client(users[Role.FINANCE]).post(
        "/approvals/approve-selected/", {"approval_id": [str(_level(custody).pk)]}, **HTMX
    )

    assert response.status_code == 403
    assert _state(custody) == ("pending_approval", "pending", None, "")


def test_levels_of_another_branch_are_left_out(users, submitted, other_branch):
    custody = submitted()
    stranger = make_user(Role.MANAGER, other_branch, email="m-auh@example.com")

    response = login_client(stranger).post(
        "/approvals/approve-selected/", {"approval_id": [str(_level(custody).pk)]}
    )

    assert response.status_code == 400
    assert "Tick the levels to approve first." in response.text
    assert custody.custody_no not in response.text
    assert _state(custody) == ("pending_approval", "pending", None, "")


def test_malformed_or_missing_ids_are_a_clear_answer_not_an_error(users):
    client = login_client(users[Role.SUPERVISOR])

    assert (
        client.post("/approvals/approve-selected/", {"approval_id": ["nope", "1; drop"]}).status_code == 400
    )
    response = client.post("/approvals/approve-selected/", {}, **HTMX)
    assert response.status_code == 200
    assert "Tick the levels to approve first." in response.text


def test_a_level_decided_meanwhile_is_refused_not_replaced_by_the_next_level(users, submitted):
    custody = submitted(reason_code="accident", reason_subcode="rollover")  # supervisor, then manager
    level_one = _level(custody)
    with acting_as(users[Role.SUPERVISOR], "web"):
        services.approve_custody(users[Role.SUPERVISOR], custody.pk)

    response = login_client(users[Role.MANAGER]).post(
        "/approvals/approve-selected/", {"approval_id": [str(level_one.pk)]}, **HTMX
    )

    assert "Approved 0 of 1." in response.text
    assert "This level was already decided or is no longer waiting." in response.text
    assert _state(custody, 2) == ("pending_approval", "pending", None, "")


def test_the_inbox_has_a_select_all_box_and_a_box_per_level(users, submitted):
    levels = [_level(submitted()) for _ in range(2)]

    body = login_client(users[Role.SUPERVISOR]).get("/approvals/").text

    assert 'data-select-all="bulk-approve"' in body
    assert 'id="approve-selected"' in body
    for level in levels:
        assert f'name="approval_id" value="{level.pk}" form="bulk-approve"' in body
