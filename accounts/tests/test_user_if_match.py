"""PATCH /api/v1/users/{id} needs the version the admin read (If-Match), so no change is lost."""

import pytest

from accounts.models import User
from audit.models import AuditEntry
from config.api import api
from conftest import ApiClient, login_client

pytestmark = pytest.mark.django_db


def _patch(client, user, body, **headers):
    return client.patch(f"/api/v1/users/{user.pk}", body, headers=headers)


def test_without_if_match_the_answer_is_428_and_nothing_changes(users):
    target = users["viewer"]
    response = _patch(ApiClient(users["admin"]), target, {"full_name": "Changed"})
    assert response.status_code == 428
    assert response.json()["error"]["code"] == "PRECONDITION_REQUIRED"
    assert "If-Match" in response.json()["error"]["details"]
    target.refresh_from_db()
    assert target.full_name != "Changed"


def test_the_version_read_is_accepted_once_and_a_stale_one_is_a_conflict(users):
    target = users["viewer"]
    api_client = ApiClient(users["admin"])
    read = api_client.get(f"/api/v1/users/{target.pk}").json()
    assert read["version"] == 1
    ok = _patch(api_client, target, {"full_name": "First edit"}, HTTP_IF_MATCH=f'"{read["version"]}"')
    assert ok.status_code == 200 and ok.json()["version"] == 2 and ok.json()["full_name"] == "First edit"
    stale = _patch(api_client, target, {"full_name": "Second edit"}, HTTP_IF_MATCH=str(read["version"]))
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "CONFLICT"
    target.refresh_from_db()
    assert target.full_name == "First edit"
    assert AuditEntry.objects.filter(action="user.updated", object_id=str(target.pk)).count() == 1


def test_the_body_version_works_like_the_header_and_a_bad_header_is_422(users):
    target = users["viewer"]
    api_client = ApiClient(users["admin"])
    assert _patch(api_client, target, {"phone": "+971500000001", "version": 1}).status_code == 200
    bad = _patch(api_client, target, {"phone": "+971500000002"}, HTTP_IF_MATCH="abc")
    assert bad.status_code == 422 and "If-Match" in bad.json()["error"]["details"]


def test_role_is_checked_before_the_precondition(users):
    response = _patch(ApiClient(users["manager"]), users["viewer"], {"role": "admin"})
    assert response.status_code == 403


def test_deactivate_and_reactivate_move_the_version(users):
    target = users["operator"]
    api_client = ApiClient(users["admin"])
    assert api_client.post(f"/api/v1/users/{target.pk}/deactivate").json()["version"] == 2
    assert api_client.post(f"/api/v1/users/{target.pk}/reactivate").json()["version"] == 3
    assert _patch(api_client, target, {"full_name": "x"}, HTTP_IF_MATCH="1").status_code == 409


def test_the_schema_documents_if_match_and_428():
    operation = api.get_openapi_schema()["paths"]["/api/v1/users/{user_id}"]["patch"]
    assert {428, "428"} & set(operation["responses"])
    assert any(p["name"] == "If-Match" and p["in"] == "header" for p in operation["parameters"])
    assert "If-Match" in operation["description"]
    out = api.get_openapi_schema()["components"]["schemas"]["UserOut"]
    assert "version" in out["properties"]


def test_the_users_page_refuses_a_stale_edit_with_a_message(users, branch):
    target = users["viewer"]
    page = login_client(users["admin"])
    form = {
        "full_name": "Page edit",
        "phone": "",
        "role": "viewer",
        "branches": [str(branch.pk)],
        "language": "en",
        "version": "1",
    }
    assert page.post(f"/manage/users/{target.pk}/", form).status_code == 302
    stale = page.post(f"/manage/users/{target.pk}/", {**form, "full_name": "Lost edit"})
    assert stale.status_code == 200
    assert "Someone else changed this user meanwhile" in stale.content.decode()
    assert User.objects.get(pk=target.pk).full_name == "Page edit"
