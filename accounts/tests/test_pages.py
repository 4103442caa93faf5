"""Account pages: log in and out, passwords, lockout, personal tokens, language."""

import re

import pytest
from django.core import mail
from django.test import Client

from accounts.models import ApiToken
from audit.models import AuditEntry
from conftest import PASSWORD, ApiClient, login_client, run_queued_tasks

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "Blue-Falcon-Dune-73"


def logged_in_user_id(client):
    return client.session.get("_auth_user_id")


# ---- log in / log out ----------------------------------------------------------------------


def test_a_user_logs_in_with_email_and_password_through_the_form(operator):
    client = Client()
    response = client.post("/accounts/login/", {"username": operator.email, "password": PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert logged_in_user_id(client) == str(operator.pk)
    assert client.get("/").status_code == 200


def test_the_email_is_matched_whatever_its_letter_case(operator):
    client = Client()
    response = client.post("/accounts/login/", {"username": "OPERATOR@Example.COM", "password": PASSWORD})
    assert response.status_code == 302
    assert logged_in_user_id(client) == str(operator.pk)


def test_login_goes_back_to_the_page_asked_for(operator):
    client = Client()
    assert client.get("/vehicles/")["Location"] == "/accounts/login/?next=/vehicles/"
    response = client.post(
        "/accounts/login/?next=/vehicles/",
        {"username": operator.email, "password": PASSWORD, "next": "/vehicles/"},
    )
    assert response["Location"] == "/vehicles/"


def test_login_does_not_redirect_to_another_site(operator):
    response = Client().post(
        "/accounts/login/",
        {"username": operator.email, "password": PASSWORD, "next": "https://evil.example.com/"},
    )
    assert response["Location"] == "/"


def test_a_wrong_password_shows_an_error_and_does_not_log_in(operator):
    client = Client()
    response = client.post("/accounts/login/", {"username": operator.email, "password": "wrong-password"})
    assert response.status_code == 200
    assert "E-mail or password is wrong." in response.content.decode()
    assert logged_in_user_id(client) is None


def test_an_inactive_user_cannot_log_in(operator):
    operator.is_active = False
    operator.save()
    client = Client()
    response = client.post("/accounts/login/", {"username": operator.email, "password": PASSWORD})
    assert response.status_code == 200
    assert logged_in_user_id(client) is None


def test_logout_is_a_post_that_ends_the_session(operator):
    client = login_client(operator)
    assert client.get("/accounts/logout/").status_code == 405
    assert logged_in_user_id(client) == str(operator.pk)
    response = client.post("/accounts/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert logged_in_user_id(client) is None
    assert client.get("/vehicles/")["Location"].startswith("/accounts/login/")


def test_the_login_form_needs_a_csrf_token(operator):
    client = Client(enforce_csrf_checks=True)
    response = client.post("/accounts/login/", {"username": operator.email, "password": PASSWORD})
    assert response.status_code == 403
    assert logged_in_user_id(client) is None


# ---- lockout ---------------------------------------------------------------------------------


def test_five_failed_page_logins_lock_the_account_out_with_a_429_page(operator, settings):
    assert settings.AXES_FAILURE_LIMIT == 5
    client = Client()
    statuses = [
        client.post("/accounts/login/", {"username": operator.email, "password": f"wrong-{n}"}).status_code
        for n in range(5)
    ]
    assert statuses == [200, 200, 200, 200, 429]
    # even the right password is refused while locked out
    response = client.post("/accounts/login/", {"username": operator.email, "password": PASSWORD})
    assert response.status_code == 429
    assert "Too many failed logins" in response.content.decode()
    assert logged_in_user_id(client) is None


def test_a_lockout_does_not_lock_other_users_out(operator, users):
    client = Client()
    for n in range(5):
        client.post("/accounts/login/", {"username": operator.email, "password": f"wrong-{n}"})
    response = client.post("/accounts/login/", {"username": users["viewer"].email, "password": PASSWORD})
    assert response.status_code == 302
    assert logged_in_user_id(client) == str(users["viewer"].pk)


def test_a_successful_login_resets_the_failure_count(operator):
    client = Client()
    for n in range(4):
        client.post("/accounts/login/", {"username": operator.email, "password": f"wrong-{n}"})
    assert (
        client.post("/accounts/login/", {"username": operator.email, "password": PASSWORD}).status_code == 302
    )
    client.post("/accounts/logout/")
    for n in range(4):
        assert (
            client.post(
                "/accounts/login/", {"username": operator.email, "password": f"again-{n}"}
            ).status_code
            == 200
        )
    assert (
        client.post("/accounts/login/", {"username": operator.email, "password": PASSWORD}).status_code == 302
    )


# ---- passwords -------------------------------------------------------------------------------


def test_a_user_changes_their_password_and_stays_logged_in(operator):
    client = login_client(operator)
    response = client.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 302
    assert response["Location"] == "/accounts/settings/"
    operator.refresh_from_db()
    assert operator.check_password(NEW_PASSWORD)
    settings_page = client.get("/accounts/settings/")
    assert settings_page.status_code == 200
    assert "Your password was changed." in settings_page.content.decode()
    entry = AuditEntry.objects.get(action="user.password_changed")
    assert (entry.object_id, entry.actor_email, entry.message, entry.changes) == (
        str(operator.pk),
        "operator@example.com",
        "changed",
        {},
    )


def test_changing_the_password_needs_the_old_one(operator):
    client = login_client(operator)
    response = client.post(
        "/accounts/password/change/",
        {"old_password": "not-it", "new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD},
    )
    assert response.status_code == 200
    assert "Your old password was entered incorrectly." in response.content.decode()
    operator.refresh_from_db()
    assert operator.check_password(PASSWORD)


def test_a_weak_new_password_is_refused(operator):
    client = login_client(operator)
    response = client.post(
        "/accounts/password/change/",
        {"old_password": PASSWORD, "new_password1": "12345678", "new_password2": "12345678"},
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "This password is too short. It must contain at least 10 characters." in page
    operator.refresh_from_db()
    assert operator.check_password(PASSWORD)


def test_password_reset_mails_a_link_that_sets_a_new_password(operator):
    client = Client()
    # when the user asks for a reset
    response = client.post("/accounts/password/reset/", {"email": "Operator@example.com"})
    assert response["Location"] == "/accounts/password/reset/sent/"
    # then nothing is sent inside the request: the worker sends one e-mail with a link
    assert mail.outbox == []
    run_queued_tasks()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["operator@example.com"]
    assert message.subject == "Reset your Custody password"
    link = re.search(r"http://testserver(/accounts/password/reset/\S+/)", message.body).group(1)
    # and the link leads to a form that sets the new password
    form_page = client.get(link, follow=True)
    assert form_page.status_code == 200
    assert "Set a new password" in form_page.content.decode()
    set_url = form_page.redirect_chain[-1][0]
    done = client.post(set_url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302
    assert done["Location"] == "/accounts/login/"
    operator.refresh_from_db()
    assert operator.check_password(NEW_PASSWORD)
    entry = AuditEntry.objects.get(action="user.password_changed")
    assert (entry.object_id, entry.message) == (str(operator.pk), "reset by e-mail link")
    assert NEW_PASSWORD not in str(entry.changes)
    # and the new password logs in
    assert (
        Client().post("/accounts/login/", {"username": operator.email, "password": NEW_PASSWORD}).status_code
        == 302
    )
    # and the link works only once
    assert "This link is no longer valid" in client.get(link, follow=True).content.decode()


def test_password_reset_for_an_unknown_address_sends_nothing_but_looks_the_same(db):
    response = Client().post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert response["Location"] == "/accounts/password/reset/sent/"
    run_queued_tasks()
    assert mail.outbox == []


def test_a_forged_reset_link_is_refused(operator):
    response = Client().get("/accounts/password/reset/MQ/abc-123/", follow=True)
    assert response.status_code == 200
    assert "This link is no longer valid" in response.content.decode()
    operator.refresh_from_db()
    assert operator.check_password(PASSWORD)


# ---- personal tokens on the settings page ------------------------------------------------------


def test_a_new_personal_token_is_shown_once_and_works(operator):
    client = login_client(operator)
    response = client.post("/accounts/settings/tokens/", {"name": "Fleet sync"})
    assert response["Location"] == "/accounts/settings/"
    first = client.get("/accounts/settings/").content.decode()
    raw = re.search(r'<code[^>]*id="new-token">(cst_[^<]+)</code>', first).group(1)
    token = operator.api_tokens.get(name="Fleet sync")
    assert token.kind == ApiToken.Kind.PERSONAL
    assert raw.startswith(token.prefix)
    assert raw not in token.token_hash
    # shown once: the next visit lists the token by its prefix only
    second = client.get("/accounts/settings/").content.decode()
    assert raw not in second
    assert f"{token.prefix}…" in second
    assert ApiClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").json()["email"] == operator.email


def test_a_token_without_a_name_is_not_created(operator):
    client = login_client(operator)
    client.post("/accounts/settings/tokens/", {"name": ""})
    assert "Give the token a name." in client.get("/accounts/settings/").content.decode()
    assert not operator.api_tokens.exists()


def test_revoking_a_token_stops_it_working(operator):
    client = login_client(operator)
    client.post("/accounts/settings/tokens/", {"name": "Fleet sync"})
    raw = re.search(r'id="new-token">(cst_[^<]+)<', client.get("/accounts/settings/").content.decode()).group(
        1
    )
    token = operator.api_tokens.get()
    response = client.post(f"/accounts/settings/tokens/{token.id}/revoke/")
    assert response["Location"] == "/accounts/settings/"
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "Revoked" in client.get("/accounts/settings/").content.decode()
    assert ApiClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401
    assert list(
        AuditEntry.objects.filter(object_id=str(token.id)).order_by("id").values_list("action", flat=True)
    ) == ["token.created", "token.revoked"]


def test_a_user_cannot_revoke_someone_elses_token(operator, users):
    token, _raw = ApiToken.issue(users["viewer"], name="Viewer's")
    response = login_client(operator).post(f"/accounts/settings/tokens/{token.id}/revoke/")
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


def test_revoking_needs_a_post(operator):
    token, _raw = ApiToken.issue(operator, name="Mine")
    assert login_client(operator).get(f"/accounts/settings/tokens/{token.id}/revoke/").status_code == 405
    token.refresh_from_db()
    assert token.revoked_at is None


# ---- language ---------------------------------------------------------------------------------


def test_switching_to_arabic_renders_pages_right_to_left(operator):
    client = login_client(operator)
    assert 'lang="en" dir="ltr"' in client.get("/").content.decode()
    response = client.post("/accounts/settings/", {"language": "ar"})
    assert response["Location"] == "/accounts/settings/"
    operator.refresh_from_db()
    assert operator.language == "ar"
    for url in ("/", "/vehicles/", "/accounts/settings/"):
        page = client.get(url).content.decode()
        assert '<html lang="ar" dir="rtl">' in page, url
        assert "bootstrap.rtl.min.css" in page, url
    entry = AuditEntry.objects.get(action="user.updated", object_id=str(operator.pk))
    assert entry.changes == {"language": ["en", "ar"]}


def test_switching_back_to_english_renders_left_to_right(operator):
    operator.language = "ar"
    operator.save()
    client = login_client(operator)
    client.post("/accounts/settings/", {"language": "en"})
    assert '<html lang="en" dir="ltr">' in client.get("/").content.decode()


def test_an_unknown_language_is_refused(operator):
    response = login_client(operator).post("/accounts/settings/", {"language": "xx"})
    assert response.status_code == 200
    operator.refresh_from_db()
    assert operator.language == "en"


def test_one_users_language_does_not_leak_into_anothers_pages(operator, users):
    operator.language = "ar"
    operator.save()
    assert 'dir="rtl"' in login_client(operator).get("/").content.decode()
    assert 'lang="en" dir="ltr"' in login_client(users["viewer"]).get("/").content.decode()


def test_changing_the_letter_case_of_the_email_does_not_escape_the_lockout(operator):
    client = Client()
    spellings = [
        "operator@example.com",
        "Operator@example.com",
        "OPERATOR@example.com",
        "oPerator@example.com",
        "opErator@EXAMPLE.com",
    ]
    statuses = [
        client.post("/accounts/login/", {"username": e, "password": "wrong"}).status_code for e in spellings
    ]
    assert statuses == [200, 200, 200, 200, 429]
    response = client.post("/accounts/login/", {"username": "OpeRaTor@example.com", "password": PASSWORD})
    assert response.status_code == 429
    assert logged_in_user_id(client) is None
