"""Per-IP rate limits on what anyone can reach: 429 RATE_LIMITED with Retry-After past the threshold."""

import pytest
from django.core.cache import caches
from django.core.cache.backends.db import DatabaseCache
from django.test import Client

from conftest import ApiClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def tight(settings):
    # An hour's fixed window: a minute's could end between the requests on a slow machine.
    settings.CUSTODY_RATE_LIMITS = dict.fromkeys(
        ("login", "token", "password_reset", "signing", "inbound"), "3/h"
    )


def statuses(call, times=5):
    return [call().status_code for _ in range(times)]


def test_login_page_posts_are_limited_per_ip_beyond_the_account_lockout(tight):
    client = Client()
    # a different account each time: the per-account lockout never triggers, the per-IP limit does
    codes = [
        client.post("/accounts/login/", {"username": f"user{i}@example.com", "password": "x"}).status_code
        for i in range(5)
    ]
    assert codes[:3] == [200, 200, 200] and codes[3:] == [429, 429]
    other_ip = Client(REMOTE_ADDR="127.0.0.2")
    assert (
        other_ip.post("/accounts/login/", {"username": "a@example.com", "password": "x"}).status_code == 200
    )


def test_the_token_endpoint_answers_rate_limited_with_retry_after(tight):
    api = ApiClient()
    responses = [
        api.post("/api/v1/auth/token", {"email": f"user{i}@example.com", "password": "wrong"})
        for i in range(4)
    ]
    assert [r.status_code for r in responses] == [401, 401, 401, 429]
    assert responses[-1].json()["error"]["code"] == "RATE_LIMITED"
    assert int(responses[-1]["Retry-After"]) >= 1


def test_password_reset_posts_are_limited(tight):
    client = Client()
    codes = statuses(lambda: client.post("/accounts/password/reset/", {"email": "nobody@example.com"}))
    assert codes[:3] == [302, 302, 302] and codes[3:] == [429, 429]


def test_the_public_signing_page_is_limited(tight):
    client = Client()
    codes = statuses(lambda: client.get("/sign/not-a-real-token/"))
    assert codes[:3] == [410, 410, 410] and codes[3:] == [429, 429]
    assert "Retry-After" in client.get("/sign/not-a-real-token/")


def test_inbound_integration_events_are_limited(tight):
    client = ApiClient()
    codes = statuses(lambda: client.post("/api/v1/integrations/fleet/events", {"id": "1", "type": "x"}))
    assert codes[:3] == [401, 401, 401] and codes[3:] == [429, 429]


def test_the_counters_live_in_the_database_shared_by_every_server_process():
    assert isinstance(caches["ratelimit"], DatabaseCache)
