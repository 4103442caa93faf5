"""Sliding session expiry, written only when the session is a few minutes old (core.sessions)."""

from datetime import timedelta

import pytest
from django.conf import settings
from django.contrib.sessions.models import Session
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from conftest import login_client

pytestmark = pytest.mark.django_db


def _age(client, seconds: int) -> None:
    """Make the client's session look last written `seconds` ago."""
    key = client.session.session_key
    written = timezone.now() - timedelta(seconds=seconds)
    Session.objects.filter(pk=key).update(
        expire_date=written + timedelta(seconds=settings.SESSION_COOKIE_AGE)
    )


def _expiry(client):
    return Session.objects.get(pk=client.session.session_key).expire_date


def test_a_page_soon_after_the_last_write_does_not_write_the_session(operator):
    client = login_client(operator)
    _age(client, settings.CUSTODY_SESSION_REFRESH_SECONDS - 60)
    before = _expiry(client)
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/custodies/")
    assert response.status_code == 200
    assert not [q for q in queries if "django_session" in q["sql"] and "SELECT" not in q["sql"]]
    assert settings.SESSION_COOKIE_NAME not in response.cookies
    assert _expiry(client) == before


def test_a_page_once_the_session_is_a_few_minutes_old_pushes_the_expiry_back(operator):
    client = login_client(operator)
    _age(client, settings.CUSTODY_SESSION_REFRESH_SECONDS + 1)
    before = _expiry(client)
    response = client.get("/custodies/")
    assert response.status_code == 200
    after = _expiry(client)
    assert after > before
    assert abs((after - timezone.now()).total_seconds() - settings.SESSION_COOKIE_AGE) < 60
    cookie = response.cookies[settings.SESSION_COOKIE_NAME]  # the browser's expiry moves with the row's
    assert (
        cookie.value == client.session.session_key and int(cookie["max-age"]) == settings.SESSION_COOKIE_AGE
    )


def test_an_idle_session_still_ends_after_the_cookie_age(operator):
    client = login_client(operator)
    _age(client, settings.SESSION_COOKIE_AGE + 1)
    response = client.get("/custodies/")
    assert response.status_code == 302 and response["Location"].startswith("/accounts/login/")


def test_a_changed_session_is_written_at_once(operator, branch):
    client = login_client(operator)
    _age(client, 10)
    before = _expiry(client)
    response = client.post("/branch/switch/", {"branch_id": str(branch.pk), "next": "/custodies/"})
    assert response.status_code == 302
    assert _expiry(client) > before


def test_the_store_reads_what_djangos_database_engine_reads(operator):
    from django.contrib.sessions.backends.db import SessionStore as DjangoStore

    from core.sessions import SessionStore

    client = login_client(operator)
    key = client.session.session_key
    ours, theirs = SessionStore(key), DjangoStore(key)
    assert ours.load() == theirs.load() and ours.load()["_auth_user_id"] == str(operator.pk)
    assert ours.loaded_expiry == Session.objects.get(pk=key).expire_date
    assert ours.loaded_expiry.tzinfo is not None

    Session.objects.filter(pk=key).update(expire_date=timezone.now() - timedelta(seconds=1))
    expired = SessionStore(key)
    assert expired.load() == {} and expired.session_key is None and expired.loaded_expiry is None
    assert SessionStore("no-such-key-0000000000000000000000").load() == {}
