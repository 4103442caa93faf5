"""Users in the product (DESIGN §14, §15.2): list, invite, change, deactivate, reactivate, reset."""

import re

import pytest
from django.core import mail
from django.test import Client

from accounts.models import ApiToken, User
from audit.models import AuditEntry
from conftest import PASSWORD, ApiClient, login_client, run_queued_tasks

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Blue-Falcon-Dune-73"


def _link(message) -> str:
    return re.search(r"http://[^\s]+/accounts/set-password/\S+/", message.body).group(0)


def _can_log_in(email: str, password: str) -> bool:
    response = Client().post("/accounts/login/", {"username": email, "password": password})
    return response.status_code == 302


def _path(link: str) -> str:
    return link.split("127.0.0.1:8000", 1)[1]


# ---- API --------------------------------------------------------------------------------------


def test_an_admin_lists_users_with_role_branches_last_login_and_status(users, branch):
    response = ApiClient(users["admin"]).get("/api/v1/users", {"role": "operator"})
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 1
    row = body["items"][0]
    assert row["email"] == "operator@example.com"
    assert row["role"] == "operator"
    assert row["branches"] == [{"id": str(branch.pk), "code": "DXB", "name": "Dubai Airport"}]
    assert row["status"] == "active"
    assert row["last_login"] is None


@pytest.mark.parametrize("role", ["viewer", "operator", "supervisor", "manager", "finance"])
def test_only_admins_may_manage_users(users, role):
    api = ApiClient(users[role])
    target = users["viewer"]
    assert api.get("/api/v1/users").status_code == 403
    assert (
        api.post(
            "/api/v1/users", {"email": "x@example.com", "role": "viewer", "all_branches": True}
        ).status_code
        == 403
    )
    assert api.patch(f"/api/v1/users/{target.pk}", {"role": "admin"}).status_code == 403
    assert api.post(f"/api/v1/users/{target.pk}/deactivate").status_code == 403
    target.refresh_from_db()
    assert target.role == "viewer" and target.is_active
    assert not User.objects.filter(email="x@example.com").exists()


def test_inviting_a_user_queues_an_email_with_a_set_password_link_that_works_once(users, branch):
    api = ApiClient(users["admin"])
    response = api.post(
        "/api/v1/users",
        {
            "email": "New.Agent@Example.com",
            "full_name": "New Agent",
            "role": "operator",
            "branch_ids": [str(branch.pk)],
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["email"] == "new.agent@example.com"
    assert body["status"] == "invited"
    assert body["branch_ids"] == [str(branch.pk)]
    assert mail.outbox == []  # sent by the worker, not in the request
    assert run_queued_tasks() == 1
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new.agent@example.com"]
    link = _link(mail.outbox[0])

    client = Client()
    page = client.get(_path(link), follow=True)
    assert "Choose your password" in page.content.decode()
    form_url = page.redirect_chain[-1][0]
    done = client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert _can_log_in("new.agent@example.com", NEW_PASSWORD)
    assert "no longer valid" in Client().get(_path(link), follow=True).content.decode()
    user = User.objects.get(email="new.agent@example.com")
    actions = list(
        AuditEntry.objects.filter(object_id=str(user.pk)).order_by("id").values_list("action", flat=True)
    )
    assert actions == ["user.invited", "user.password_changed"]


def test_a_set_password_link_expires(users, branch, settings, monkeypatch):
    from datetime import datetime, timedelta

    from accounts.tokens import set_password_token_generator

    settings.CUSTODY_SET_PASSWORD_LINK_HOURS = 72
    ApiClient(users["admin"]).post(
        "/api/v1/users", {"email": "late@example.com", "role": "viewer", "all_branches": True}
    )
    run_queued_tasks()
    later = datetime.now() + timedelta(hours=73)
    monkeypatch.setattr(set_password_token_generator, "_now", lambda: later)
    assert "no longer valid" in Client().get(_path(_link(mail.outbox[0])), follow=True).content.decode()


def test_an_invitation_with_a_taken_email_or_no_branch_is_refused(users):
    api = ApiClient(users["admin"])
    taken = api.post(
        "/api/v1/users", {"email": "OPERATOR@example.com", "role": "viewer", "all_branches": True}
    )
    assert taken.status_code == 409
    assert taken.json()["error"]["details"] == {"email": ["Already in use."]}
    nowhere = api.post("/api/v1/users", {"email": "a@example.com", "role": "viewer"})
    assert nowhere.status_code == 422
    assert "branch_ids" in nowhere.json()["error"]["details"]
    bad_role = api.post("/api/v1/users", {"email": "b@example.com", "role": "boss", "all_branches": True})
    assert bad_role.status_code == 422
    assert not User.objects.filter(email__in=["a@example.com", "b@example.com"]).exists()


def test_an_admin_changes_role_and_branches_and_it_is_audited(users, branch, other_branch):
    target = users["operator"]
    response = ApiClient(users["admin"]).patch(
        f"/api/v1/users/{target.pk}",
        {"role": "supervisor", "branch_ids": [str(other_branch.pk)]},
        headers={"HTTP_IF_MATCH": "1"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["role"] == "supervisor"
    assert response.json()["branch_ids"] == [str(other_branch.pk)]
    entry = AuditEntry.objects.get(action="user.updated", object_id=str(target.pk))
    assert entry.changes == {"branches": [["DXB"], ["AUH"]], "role": ["operator", "supervisor"]}
    assert entry.actor_email == "admin@example.com"


def test_an_unknown_user_is_not_found(users):
    response = ApiClient(users["admin"]).patch(
        "/api/v1/users/7b0b8f9e-2c47-4c36-9c8a-6f5b2a1f7e10", {"role": "viewer"}
    )
    assert response.status_code == 404


def test_deactivation_stops_sessions_and_tokens_at_once(users):
    target = users["operator"]
    browser = login_client(target)
    assert browser.get("/").status_code == 200
    personal_api = ApiClient(target)
    assert personal_api.get("/api/v1/me").status_code == 200

    response = ApiClient(users["admin"]).post(f"/api/v1/users/{target.pk}/deactivate")
    assert response.status_code == 200
    assert response.json()["status"] == "deactivated"
    assert browser.get("/").status_code == 302  # back to the login page
    assert personal_api.get("/api/v1/me").status_code == 401
    assert not ApiToken.objects.filter(user=target, revoked_at__isnull=True).exists()
    assert not _can_log_in(target.email, PASSWORD)
    assert AuditEntry.objects.filter(action="user.deactivated", object_id=str(target.pk)).exists()

    # Reactivated: the password works again, the old session and tokens stay dead.
    assert (
        ApiClient(users["admin"]).post(f"/api/v1/users/{target.pk}/reactivate").json()["status"] == "active"
    )
    assert browser.get("/").status_code == 302
    assert personal_api.get("/api/v1/me").status_code == 401
    assert _can_log_in(target.email, PASSWORD)


def test_an_admin_cannot_deactivate_themselves_or_demote_the_last_admin(users):
    admin = users["admin"]
    api = ApiClient(admin)
    assert api.post(f"/api/v1/users/{admin.pk}/deactivate").status_code == 409
    demote = api.patch(f"/api/v1/users/{admin.pk}", {"role": "manager"}, headers={"HTTP_IF_MATCH": "1"})
    assert demote.status_code == 409
    admin.refresh_from_db()
    assert admin.is_active and admin.role == "admin"


def test_reset_password_ends_sessions_and_emails_a_link(users):
    target = users["manager"]
    browser = login_client(target)
    login_token = ApiToken.issue(target, name="API login", kind=ApiToken.Kind.SESSION)[1]
    response = ApiClient(users["admin"]).post(f"/api/v1/users/{target.pk}/reset-password")
    assert response.status_code == 200
    assert browser.get("/").status_code == 302
    assert Client().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {login_token}").status_code == 401
    assert not _can_log_in(target.email, PASSWORD)
    run_queued_tasks()
    assert "reset the password" in mail.outbox[0].body
    client = Client()
    form_url = client.get(_path(_link(mail.outbox[0])), follow=True).redirect_chain[-1][0]
    client.post(form_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert _can_log_in(target.email, NEW_PASSWORD)
    assert AuditEntry.objects.filter(action="user.password_reset", object_id=str(target.pk)).exists()


# ---- pages ------------------------------------------------------------------------------------


def test_the_users_page_lists_users_for_admins_only(users):
    assert login_client(users["manager"]).get("/manage/users/").status_code == 403
    page = login_client(users["admin"]).get("/manage/users/?status=active")
    assert page.status_code == 200
    html = page.content.decode()
    assert "operator@example.com" in html and "Invite a user" in html


def test_an_admin_invites_edits_and_deactivates_through_the_pages(users, branch):
    client = login_client(users["admin"])
    response = client.post(
        "/manage/users/invite/",
        {
            "email": "clerk@example.com",
            "full_name": "Clerk",
            "role": "viewer",
            "branches": [str(branch.pk)],
            "language": "ar",
        },
    )
    clerk = User.objects.get(email="clerk@example.com")
    assert response["Location"] == f"/manage/users/{clerk.pk}/"
    assert clerk.language == "ar" and clerk.status == "invited"

    client.post(
        f"/manage/users/{clerk.pk}/",
        {"full_name": "Clerk", "role": "finance", "all_branches": "on", "language": "ar"},
    )
    clerk.refresh_from_db()
    assert clerk.role == "finance" and clerk.all_branches

    client.post(f"/manage/users/{clerk.pk}/deactivate/")
    clerk.refresh_from_db()
    assert not clerk.is_active
    assert "Deactivated" in client.get("/manage/users/?status=deactivated").content.decode()


def test_the_invite_form_shows_the_rule_that_failed(users):
    response = login_client(users["admin"]).post(
        "/manage/users/invite/", {"email": "nobranch@example.com", "role": "viewer", "language": "en"}
    )
    assert response.status_code == 200
    assert "Give at least one branch or all branches." in response.content.decode()
    assert not User.objects.filter(email="nobranch@example.com").exists()
