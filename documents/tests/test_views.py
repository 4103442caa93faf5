import hashlib

import pytest
from django.test import Client
from django.urls import reverse

from accounts.choices import Role
from conftest import login_client, make_user
from documents import services
from documents.models import Document, Signature

from .conftest import ELF, PDF, data_url, image_bytes, signature_png, upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def stranger(other_branch):
    return make_user(Role.OPERATOR, other_branch, email="stranger@example.com")


def test_download_streams_the_file_to_users_of_the_branch_only(draft, operator_user, users, stranger):
    content = image_bytes("PNG")
    document = services.upload_document(operator_user, draft, upload("تقرير.png", content), "photos")
    url = reverse("documents:download", args=[document.id])

    response = login_client(users[Role.VIEWER]).get(url)
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == content
    assert response["Content-Type"] == "image/png"
    assert response["Content-Disposition"].startswith("attachment; filename")
    assert "filename*=utf-8''%D8%AA" in response["Content-Disposition"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert "sandbox" in response["Content-Security-Policy"]

    assert login_client(stranger).get(url).status_code == 404
    anonymous = Client().get(url)
    assert anonymous.status_code == 302 and reverse("accounts:login") in anonymous["Location"]
    assert Client().get(url, follow=False)["Location"].endswith(f"?next={url}")


def test_htmx_upload_returns_the_list_with_errors_inline(draft, operator_user):
    client = login_client(operator_user)
    url = reverse("documents:upload", args=[draft.id])
    response = client.post(
        url,
        {
            "file": [upload("scan.pdf", PDF), upload("report.pdf", ELF)],
            "document_type": "police_report",
            "expires_on": "",
        },
        HTTP_HX_REQUEST="true",
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="documents-list"' in html and "<html" not in html
    assert "scan.pdf" in html and "1 document uploaded." in html
    assert (
        "report.pdf: This file is not a PDF, image or Word document (it looks like a Linux program)." in html
    )
    assert hashlib.sha256(PDF).hexdigest()[:12] in html
    assert Document.objects.filter(custody=draft, file_name="scan.pdf").count() == 1

    response = client.post(url, {"document_type": "police_report"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Choose a file." in response.content.decode()


def test_plain_upload_redirects_to_the_custody_page(draft, operator_user):
    client = login_client(operator_user)
    response = client.post(
        reverse("documents:upload", args=[draft.id]),
        {"file": upload("scan.pdf", PDF), "document_type": "other"},
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("custodies:detail", args=[draft.id]) + "?tab=documents"


def test_upload_permissions(draft, users, stranger):
    url = reverse("documents:upload", args=[draft.id])
    data = {"file": upload("scan.pdf", PDF), "document_type": "other"}
    assert login_client(users[Role.VIEWER]).post(url, data).status_code == 403
    assert login_client(stranger).post(url, data).status_code == 404
    assert Client().post(url, data).status_code == 302
    assert not Document.objects.filter(file_name="scan.pdf").exists()


def test_delete_in_draft_and_refused_after_submission(draft, submitted, operator_user):
    client = login_client(operator_user)
    document = Document.objects.filter(custody=draft).first()
    response = client.post(reverse("documents:delete", args=[document.id]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and not Document.objects.filter(pk=document.pk).exists()

    kept = Document.objects.filter(custody=submitted).first()
    response = client.post(reverse("documents:delete", args=[kept.id]), HTTP_HX_REQUEST="true")
    assert "never deleted, only superseded" in response.content.decode()
    assert Document.objects.filter(pk=kept.pk).exists()
    assert client.get(reverse("documents:delete", args=[kept.id])).status_code == 405


def test_the_panel_renders_for_operators_and_read_only_for_viewers(draft, operator_user, users):
    html = login_client(operator_user).get(reverse("documents:custody", args=[draft.id])).content.decode()
    assert "data-upload-form" in html and 'name="document_type"' in html and "documents/upload.js" in html
    assert reverse("documents:sign", args=[draft.id, "customer_acknowledgment"]) in html
    assert "<script>" not in html  # CSP: no inline scripts
    viewer_html = (
        login_client(users[Role.VIEWER]).get(reverse("documents:custody", args=[draft.id])).content.decode()
    )
    assert "data-upload-form" not in viewer_html and "incident_report.pdf" in viewer_html


def test_the_acknowledgment_is_signed_on_the_page(draft, operator_user):
    client = login_client(operator_user)
    url = reverse("documents:sign", args=[draft.id, "customer_acknowledgment"])
    page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert "data-signature-pad" in html and "vendor/signature_pad/signature_pad.umd.min.js" in html
    assert "documents/sign.js" in html and draft.custody_no in html
    sha = page.context["text_sha256"]

    response = client.post(
        url,
        {
            "action": "sign",
            "signer_name": "Ahmed Al Mansoori",
            "content_sha256": sha,
            "signature": data_url(image_bytes("JPEG"), "image/jpeg"),
        },
    )
    assert response.status_code == 400 and "must be a PNG" in response.content.decode()

    response = client.post(
        url,
        {
            "action": "sign",
            "signer_name": "Ahmed Al Mansoori",
            "content_sha256": "0" * 64,
            "signature": data_url(signature_png()),
        },
    )
    assert response.status_code == 400 and "text changed" in response.content.decode()

    response = client.post(
        url,
        {
            "action": "sign",
            "signer_name": "Ahmed Al Mansoori",
            "content_sha256": sha,
            "signature": data_url(signature_png()),
        },
        REMOTE_ADDR="192.0.2.10",
    )
    assert response.status_code == 302
    signature = Signature.objects.get(custody=draft)
    assert (signature.status, signature.signer_ip, signature.signed_content_sha256) == (
        "signed",
        "192.0.2.10",
        sha,
    )


def test_a_checklist_is_filled_in_reviewed_then_signed(active, operator_user):
    client = login_client(operator_user)
    url = reverse("documents:sign", args=[active.id, "return_checklist"])
    assert 'name="item_exterior"' in client.get(url).content.decode()
    checklist = {
        "item_exterior": "issue",
        "note_exterior": "",
        "item_interior": "ok",
        "item_tyres": "ok",
        "item_spare_wheel": "ok",
        "item_jack": "missing",
        "item_documents": "ok",
        "fuel_level": "6",
        "odometer_km": "15350",
        "notes": "",
    }
    response = client.post(url, {**checklist, "action": "review"})
    assert "Describe the damage or issue." in response.content.decode()  # a damaged item needs a note
    checklist["note_exterior"] = "dent rear door"
    response = client.post(url, {**checklist, "action": "review"})
    html = response.content.decode()
    assert "data-signature-pad" in html and "dent rear door" in html and "Jack and tools: Missing" in html
    response = client.post(
        url,
        {
            **checklist,
            "action": "sign",
            "signer_name": "Ahmed",
            "content_sha256": response.context["text_sha256"],
            "signature": data_url(signature_png()),
        },
    )
    assert response.status_code == 302
    assert Signature.objects.get(custody=active, document_type="return_checklist").status == "signed"


def test_declining_on_the_page(draft, operator_user, users):
    client = login_client(operator_user)
    url = reverse("documents:sign", args=[draft.id, "customer_acknowledgment"])
    response = client.post(url, {"action": "decline", "signer_name": "Ahmed", "decline_reason": ""})
    assert response.status_code == 400
    response = client.post(url, {"action": "decline", "signer_name": "Ahmed", "decline_reason": "Not today"})
    assert response.status_code == 302
    assert Signature.objects.get(custody=draft).status == "declined"
    assert login_client(users[Role.VIEWER]).get(url).status_code == 403
    assert client.get(reverse("documents:sign", args=[draft.id, "police_report"])).status_code == 404
    # The return checklist waits for an active custody.
    html = client.get(reverse("documents:sign", args=[draft.id, "return_checklist"])).content.decode()
    assert "data-signature-pad" not in html and "comes back" in html
