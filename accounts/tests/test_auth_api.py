from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from accounts.models import ApiToken
from conftest import PASSWORD, ApiClient

pytestmark = pytest.mark.django_db


def test_token_login_returns_a_token_that_authenticates(operator):
    anonymous = ApiClient()
    response = anonymous.post("/api/v1/auth/token", {"email": operator.email.upper(), "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"token", "expires_at"}
    me = anonymous.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {body['token']}")
    assert me.status_code == 200
    assert me.json()["email"] == operator.email


def test_wrong_password_is_an_auth_error(operator):
    response = ApiClient().post("/api/v1/auth/token", {"email": operator.email, "password": "nope"})
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AUTH_ERROR"


def test_repeated_failures_lock_the_login_out(operator, settings):
    client = ApiClient()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        client.post("/api/v1/auth/token", {"email": operator.email, "password": "wrong"})
    response = client.post("/api/v1/auth/token", {"email": operator.email, "password": PASSWORD})
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "RATE_LIMITED"


def test_missing_or_bad_bearer_token_is_401_with_error_shape(db):
    for headers in ({}, {"HTTP_AUTHORIZATION": "Bearer not-a-token"}):
        response = ApiClient().get("/api/v1/vehicles", **headers)
        assert response.status_code == 401
        assert response.json() == {
            "error": {"code": "AUTH_ERROR", "message": response.json()["error"]["message"], "details": {}}
        }


def test_tokens_are_stored_hashed(operator):
    response = ApiClient().post("/api/v1/auth/token", {"email": operator.email, "password": PASSWORD})
    raw = response.json()["token"]
    stored = operator.api_tokens.get()
    assert stored.token_hash != raw
    assert raw not in stored.token_hash


def test_malformed_json_is_a_validation_error_not_a_500(operator):
    client = ApiClient(operator)
    response = client.client.post(
        "/api/v1/customers", "{not json", content_type="application/json", **client.headers
    )
    assert response.status_code in (400, 422)
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"


def test_personal_token_can_be_created_used_and_revoked(operator):
    client = ApiClient(operator)
    created = client.post("/api/v1/tokens", {"name": "Fleet sync"})
    assert created.status_code == 201
    raw = created.json()["token"]
    assert ApiClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 200
    revoked = client.post(f"/api/v1/tokens/{created.json()['id']}/revoke")
    assert revoked.status_code == 200
    assert ApiClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}").status_code == 401


def test_changing_the_letter_case_of_the_email_does_not_escape_the_api_lockout(operator):
    client = ApiClient()
    for email in (
        "operator@example.com",
        "Operator@example.com",
        "OPERATOR@example.com",
        "oPerator@example.com",
        "opErator@example.com",
    ):
        client.post("/api/v1/auth/token", {"email": email, "password": "wrong"})
    response = client.post("/api/v1/auth/token", {"email": "OpeRaTor@example.com", "password": PASSWORD})
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "RATE_LIMITED"
    assert not operator.api_tokens.exists()


def test_a_personal_token_expiry_needs_an_offset_and_a_future_time(operator):
    client = ApiClient(operator)
    naive = client.post("/api/v1/tokens", {"name": "Sync", "expires_at": "2030-01-01T00:00:00"})
    assert naive.status_code == 422
    assert list(naive.json()["error"]["details"]) == ["expires_at"]
    past = client.post("/api/v1/tokens", {"name": "Sync", "expires_at": "2001-01-01T00:00:00+04:00"})
    assert past.status_code == 422
    assert past.json()["error"]["details"] == {"expires_at": ["Must be in the future."]}
    assert not operator.api_tokens.filter(name="Sync").exists()
    ok = client.post("/api/v1/tokens", {"name": "Sync", "expires_at": "2030-01-01T00:00:00+04:00"})
    assert ok.status_code == 201
    assert datetime.fromisoformat(ok.json()["expires_at"]) == datetime(2029, 12, 31, 20, tzinfo=UTC)


def test_an_expired_token_is_refused(operator):
    _token, raw = ApiToken.issue(operator, name="old", expires_at=timezone.now() - timedelta(seconds=1))
    response = ApiClient().get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AUTH_ERROR"


def test_the_token_of_a_deactivated_user_is_refused(operator):
    client = ApiClient(operator)
    operator.is_active = False
    operator.save()
    assert client.get("/api/v1/me").status_code == 401


def test_a_user_cannot_revoke_someone_elses_token_through_the_api(operator, users):
    token, raw = ApiToken.issue(users["viewer"], name="Viewer's")
    response = ApiClient(operator).post(f"/api/v1/tokens/{token.id}/revoke")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "NOT_FOUND"
    token.refresh_from_db()
    assert token.revoked_at is None


def test_personal_tokens_list_only_my_personal_tokens(operator, users):
    client = ApiClient(operator)  # issues a personal token named "test"
    ApiToken.issue(operator, name="login", kind=ApiToken.Kind.SESSION)
    ApiToken.issue(users["viewer"], name="not mine")
    assert [t["name"] for t in client.get("/api/v1/tokens").json()] == ["test"]
    assert "token" not in client.get("/api/v1/tokens").json()[0]


def test_me_describes_the_user_and_their_branches(operator, branch):
    body = ApiClient(operator).get("/api/v1/me").json()
    assert body == {
        "id": str(operator.id),
        "email": "operator@example.com",
        "full_name": "Operator",
        "role": "operator",
        "all_branches": False,
        "language": "en",
        "branches": [{"id": str(branch.id), "code": "DXB", "name": "Dubai Airport"}],
    }


@pytest.mark.parametrize("role", ["viewer", "operator", "supervisor", "manager", "finance"])
def test_only_admins_list_users(users, role):
    response = ApiClient(users[role]).get("/api/v1/users")
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "PERMISSION_DENIED"
    assert ApiClient(users["admin"]).get("/api/v1/users").json()["count"] == 6
