import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.choices import Role
from conftest import ApiClient
from custodies.tests.conftest import make_draft  # noqa: F401
from documents.models import Document

pytestmark = pytest.mark.django_db

PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def test_a_retried_multipart_upload_with_the_same_key_is_stored_once(users, make_draft):  # noqa: F811
    custody = make_draft()
    before = Document.objects.filter(custody=custody).count()
    client = ApiClient(users[Role.OPERATOR])
    url = f"/api/v1/custodies/{custody.id}/documents"
    responses = []
    for _ in range(2):
        upload = SimpleUploadedFile("report.pdf", PDF, content_type="application/pdf")
        responses.append(
            client.client.post(
                url,
                {"file": upload, "document_type": "other"},
                HTTP_IDEMPOTENCY_KEY="upload-1",
                **client.headers,
            )
        )
    assert [r.status_code for r in responses] == [201, 201]
    assert responses[0].json()["id"] == responses[1].json()["id"]
    assert Document.objects.filter(custody=custody).count() == before + 1


def test_a_large_upload_with_a_key_is_not_refused(users, make_draft, settings):  # noqa: F811
    custody = make_draft()
    client = ApiClient(users[Role.OPERATOR])
    big = PDF + b"%" + b"0" * (3 * 1024 * 1024)
    upload = SimpleUploadedFile("big.pdf", big, content_type="application/pdf")
    response = client.client.post(
        f"/api/v1/custodies/{custody.id}/documents",
        {"file": upload, "document_type": "other"},
        HTTP_IDEMPOTENCY_KEY="big-1",
        **client.headers,
    )
    assert response.status_code == 201, response.content
