"""Who may decide a level, asked three ways: the inbox query, the page and the API give one answer
because they read one table (`approvals.eligibility`)."""

import pytest

from accounts import permissions
from accounts.choices import Role
from approvals import eligibility
from approvals.models import ApprovalRule
from approvals.services import current_level, inbox_for
from audit.context import acting_as
from conftest import ApiClient, login_client, make_user
from custodies import services
from custodies.tests.conftest import attach, draft_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_levels(db):
    ApprovalRule.objects.all().update(active=False)
    ApprovalRule.objects.create(
        name="Two levels",
        priority=1,
        levels=[{"role": "supervisor", "due_hours": None}, {"role": "manager", "due_hours": None}],
    )


@pytest.fixture
def people(users, other_branch, branch):
    return {
        "operator": users[Role.OPERATOR],
        "finance": users[Role.FINANCE],
        "supervisor": users[Role.SUPERVISOR],
        "supervisor2": make_user(Role.SUPERVISOR, branch, email="sup2@example.com"),
        "manager": users[Role.MANAGER],
        "admin": users[Role.ADMIN],
        "other_branch_manager": make_user(Role.MANAGER, other_branch, email="m-auh@example.com"),
    }


def _submitted(people, agreement, submitter="operator", approved_by=()):
    who = people[submitter]
    with acting_as(who, "web"):
        custody = services.create_custody(who, draft_data(agreement, None))
        attach(custody, "incident_report", "photos", "customer_acknowledgment", "police_report")
        services.submit_custody(who, custody.id)
        for name in approved_by:
            services.approve_custody(people[name], custody.id)
    custody.refresh_from_db()
    return custody


# (submitter, levels approved before, user) → may decide the current level?
CASES = [
    ("operator", (), "operator", False),
    ("operator", (), "finance", False),
    ("operator", (), "supervisor", True),
    ("operator", (), "manager", True),
    ("operator", (), "other_branch_manager", False),
    ("supervisor", (), "supervisor", False),  # own submission
    ("supervisor", (), "supervisor2", True),
    ("operator", ("supervisor",), "supervisor", False),  # level 2 is a manager's
    ("operator", ("supervisor",), "manager", True),
    ("operator", ("manager",), "manager", False),  # already decided level 1
    ("operator", ("manager",), "admin", True),
]


@pytest.mark.parametrize(("submitter", "before", "who", "allowed"), CASES)
def test_inbox_page_and_api_agree(two_levels, people, agreement, submitter, before, who, allowed):
    user = people[who]
    by_page = _submitted(people, agreement, submitter, before)
    by_api = _submitted(people, agreement, submitter, before)

    in_inbox = {a.custody_id for a in inbox_for(user)}
    assert (by_page.pk in in_inbox) is allowed
    assert (by_api.pk in in_inbox) is allowed
    assert (eligibility.why_cannot_decide(user, by_page, current_level(by_page)) is None) is allowed
    assert ("approve" in services.allowed_actions(user, by_page)) is allowed

    level = current_level(by_page)
    page = login_client(user).post(f"/approvals/{level.pk}/approve/", {"notes": "ok"})
    level.refresh_from_db()
    assert (level.decided_by_id == user.pk) is allowed, page

    api = ApiClient(user).post(f"/api/v1/custodies/{by_api.pk}/approve", {"notes": "ok"})
    expected = 200 if allowed else (404 if who == "other_branch_manager" else 403)
    assert api.status_code == expected, api.content


def test_navigation_shows_approvals_to_deciders_only(people):
    for name, user in people.items():
        body = login_client(user).get("/").content.decode()
        # Finance decides no custody level but approves quotes and cost sheets in the same inbox.
        deciding = eligibility.may_decide_any(user) or permissions.may(user, "quote.approve")
        assert ('href="/approvals/"' in body) is deciding, name
    assert not eligibility.may_decide_any(people["operator"])
    assert eligibility.may_decide_any(people["supervisor"])
