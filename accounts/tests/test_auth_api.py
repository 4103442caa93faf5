import pytest

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
        assert response.json() == {"error": {"code": "AUTH_ERROR", "message": response.json()["error"]["message"],
                                             "details": {}}}


def test_tokens_are_stored_hashed(operator):
    response = ApiClient().post("/api/v1/auth/token", {"email": operator.email, "password": PASSWORD})
    raw = response.json()["token"]
    stored = operator.api_tokens.get()
    assert stored.token_hash != raw
    assert raw not in stored.token_hash


def test_malformed_json_is_a_validation_error_not_a_500(operator):
    client = ApiClient(operator)
    response = client.client.post("/api/v1/customers", "{not json", content_type="application/json", **client.headers)
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
