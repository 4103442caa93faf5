"""API token lookups are cached, and revocation or deactivation still takes effect at once."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from accounts import services
from accounts.choices import Role
from accounts.models import ApiToken
from conftest import ApiClient

pytestmark = pytest.mark.django_db


def token_queries(api) -> int:
    with CaptureQueriesContext(connection) as ctx:
        assert api.get("/api/v1/me").status_code == 200
    return sum("accounts_apitoken" in q["sql"] for q in ctx.captured_queries)


def test_a_second_request_does_not_look_the_token_up_again(users):
    api = ApiClient(users[Role.OPERATOR])
    api.get("/api/v1/me")
    assert token_queries(api) == 0


def test_a_revoked_token_is_refused_on_the_next_request(users):
    user = users[Role.OPERATOR]
    api = ApiClient(user)
    assert api.get("/api/v1/me").status_code == 200
    services.revoke_token(user, ApiToken.objects.get(user=user))
    assert api.get("/api/v1/me").status_code == 401


def test_a_deactivated_user_is_refused_on_the_next_request(users):
    user = users[Role.OPERATOR]
    api = ApiClient(user)
    assert api.get("/api/v1/me").status_code == 200
    user.is_active = False
    user.save(update_fields=["is_active"])
    assert api.get("/api/v1/me").status_code == 401


def test_a_branch_change_is_seen_on_the_next_request(users, branch, other_branch):
    user = users[Role.OPERATOR]
    api = ApiClient(user)
    assert api.get(f"/api/v1/branches/{other_branch.pk}").status_code == 404
    user.branches.add(other_branch)
    assert api.get(f"/api/v1/branches/{other_branch.pk}").status_code == 200
