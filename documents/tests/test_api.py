import hashlib

import pytest
from django.test import Client

from accounts.choices import Role
from accounts.models import ApiToken
from conftest import make_user
from documents.models import Document

from .conftest import ELF, PDF, image_bytes, upload

pytestmark = pytest.mark.django_db


def client_for(user) -> tuple[Client, dict]:
    _token, raw = ApiToken.issue(user, name="test")
    return Client(), {"HTTP_AUTHORIZATION": f"Bearer {raw}"}


def post_file(user, custody_id, name, content, **fields):
    client, headers = client_for(user)
    return client.post(
        f"/api/v1/custodies/{custody_id}/documents", {"file": upload(name, content), **fields}, **headers
    )


def test_upload_list_metadata_and_download(draft, operator_user):
    content = image_bytes("JPEG")
    response = post_file(
        operator_user, draft.id, "front.jpg", content, document_type="photos", expires_on="2099-06-30"
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["document_type"] == "photos" and body["file_name"] == "front.jpg"
    assert body["size"] == len(content) and body["content_type"] == "image/jpeg"
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert body["expires_on"] == "2099-06-30" and body["superseded_at"] is None
    assert body["download_url"] == f"/api/v1/documents/{body['id']}/download"
    assert body["uploaded_at"].endswith(("Z", "+00:00", "+04:00"))

    client, headers = client_for(operator_user)
    listing = client.get(f"/api/v1/custodies/{draft.id}/documents", **headers).json()
    assert listing["next"] is None and listing["count"] == len(listing["items"]) == 5
    assert body["id"] in [item["id"] for item in listing["items"]]
    only_photos = client.get(
        f"/api/v1/custodies/{draft.id}/documents?document_type=photos&current=true", **headers
    ).json()
    assert {item["document_type"] for item in only_photos["items"]} == {"photos"}

    assert client.get(f"/api/v1/documents/{body['id']}", **headers).json() == body
    download = client.get(body["download_url"], **headers)
    assert download.status_code == 200 and b"".join(download.streaming_content) == content
    assert download["Content-Type"] == "image/jpeg"
    assert download["Content-Disposition"] == 'attachment; filename="front.jpg"'
    assert download["X-Content-Type-Options"] == "nosniff"


def test_error_shapes(draft, voided, operator_user, users, other_branch):
    response = post_file(operator_user, draft.id, "a.pdf", PDF, document_type="passport")
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert "document_type" in response.json()["error"]["details"]

    response = post_file(operator_user, draft.id, "report.pdf", ELF, document_type="incident_report")
    assert response.status_code == 422
    assert response.json()["error"]["details"] == {
        "file": ["This file is not a PDF, image or Word document (it looks like a Linux program)."]
    }

    client, headers = client_for(operator_user)
    response = client.post(f"/api/v1/custodies/{draft.id}/documents", {"document_type": "other"}, **headers)
    assert response.status_code == 422 and response.json()["error"]["details"] == {"file": ["Choose a file."]}

    response = post_file(operator_user, draft.id, "a.pdf", PDF, document_type="other", expires_on="tomorrow")
    assert response.status_code == 422 and "expires_on" in response.json()["error"]["details"]

    response = post_file(users[Role.VIEWER], draft.id, "a.pdf", PDF, document_type="other")
    assert response.status_code == 403 and response.json()["error"]["code"] == "PERMISSION_DENIED"

    response = post_file(operator_user, voided.id, "a.pdf", PDF, document_type="other")
    assert response.status_code == 409 and response.json()["error"]["code"] == "INVALID_TRANSITION"

    stranger = make_user(Role.OPERATOR, other_branch, email="stranger@example.com")
    document = Document.objects.filter(custody=draft).first()
    response = post_file(stranger, draft.id, "a.pdf", PDF, document_type="other")
    assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND"
    client, headers = client_for(stranger)
    for path in (
        f"/api/v1/custodies/{draft.id}/documents",
        f"/api/v1/documents/{document.id}",
        f"/api/v1/documents/{document.id}/download",
    ):
        response = client.get(path, **headers)
        assert response.status_code == 404 and response.json()["error"]["code"] == "NOT_FOUND", path

    assert Client().get(f"/api/v1/documents/{document.id}").status_code == 401
    assert not Document.objects.filter(file_name="a.pdf").exists()


def test_an_upload_after_submission_supersedes_through_the_api(submitted, operator_user):
    old = Document.objects.get(custody=submitted, document_type="incident_report")
    new = post_file(operator_user, submitted.id, "v2.pdf", PDF, document_type="incident_report").json()
    client, headers = client_for(operator_user)
    previous = client.get(f"/api/v1/documents/{old.id}", **headers).json()
    assert previous["superseded_by_id"] == new["id"] and previous["superseded_at"] is not None


def test_a_multipart_upload_without_a_boundary_is_a_400_not_a_500(users, draft):
    client, headers = client_for(users[Role.OPERATOR])
    before = Document.objects.count()
    response = client.post(
        f"/api/v1/custodies/{draft.id}/documents",
        data=b'--x\r\nContent-Disposition: form-data; name="document_type"\r\n\r\nphotos\r\n--x--\r\n',
        content_type="multipart/form-data",
        **headers,
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "VALIDATION_ERROR"
    assert Document.objects.count() == before
