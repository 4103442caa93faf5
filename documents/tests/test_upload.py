import hashlib
from unittest import mock

import pytest
from django.core.exceptions import PermissionDenied

from accounts.choices import Role
from audit.context import acting_as
from audit.models import AuditEntry
from core.errors import Conflict, InvalidTransition, ValidationFailed
from documents import services
from documents.models import Document
from integrations.models import OutboxEvent

from .conftest import ELF, PDF, docx_bytes, image_bytes, upload

pytestmark = pytest.mark.django_db


def stored_bytes(document: Document) -> bytes:
    with document.file.storage.open(document.file.name, "rb") as handle:
        return handle.read()


def test_an_upload_is_sniffed_hashed_stored_privately_audited_and_announced(draft, operator_user):
    content = image_bytes("PNG")
    with acting_as(operator_user, "web"):
        document = services.upload_document(
            operator_user, draft, upload('Damage "front" left?.png', content, "application/pdf"), "photos"
        )
    document.refresh_from_db()
    assert document.content_type == "image/png"  # from the bytes, not the declared type
    assert document.sha256 == hashlib.sha256(content).hexdigest()
    assert document.size == len(content)
    assert document.file_name == "Damage _front_ left_.png"
    assert document.uploaded_by == operator_user
    assert stored_bytes(document) == content
    assert document.file.name.startswith(f"documents/{draft.id}/") and "Damage" not in document.file.name
    entry = AuditEntry.objects.get(action="document.uploaded", object_id=str(document.id))
    assert entry.custody_id == draft.id and entry.actor == operator_user
    assert entry.changes["sha256"] == [None, document.sha256]
    event = OutboxEvent.objects.get(type="document.uploaded")
    assert event.data["document"]["id"] == str(document.id)
    assert event.data["custody"]["custody_no"] == draft.custody_no


def test_a_docx_is_accepted_and_an_executable_renamed_pdf_is_refused(draft, operator_user):
    docx = services.upload_document(operator_user, draft, upload("statement.docx", docx_bytes()), "other")
    assert docx.content_type == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    with pytest.raises(ValidationFailed) as exc:
        services.upload_document(
            operator_user, draft, upload("report.pdf", ELF, "application/pdf"), "incident_report"
        )
    assert exc.value.details["file"] == [
        "This file is not a PDF, image or Word document (it looks like a Linux program)."
    ]
    with pytest.raises(ValidationFailed, match="plain text"):
        services.upload_document(operator_user, draft, upload("notes.pdf", b"just some words\n"), "other")
    assert not Document.objects.filter(file_name__in=["report.pdf", "notes.pdf"]).exists()
    assert (
        not OutboxEvent.objects.filter(type="document.uploaded")
        .exclude(data__document__id=str(docx.id))
        .exists()
    )


def test_the_size_limit_is_enforced(draft, operator_user, settings):
    settings.CUSTODY_MAX_UPLOAD_BYTES = 100
    exactly = PDF + b"%" * (100 - len(PDF))
    assert services.upload_document(operator_user, draft, upload("ok.pdf", exactly), "other").size == 100
    with pytest.raises(ValidationFailed) as exc:
        services.upload_document(operator_user, draft, upload("big.pdf", exactly + b"%"), "other")
    assert exc.value.details["file"] == ["The file is larger than 100\xa0bytes."]


def test_type_expiry_role_and_state_are_checked(draft, voided, users, operator_user):
    file = upload("a.pdf", PDF)
    with pytest.raises(ValidationFailed) as exc:
        services.upload_document(operator_user, draft, file, "passport")
    assert "document_type" in exc.value.details
    with pytest.raises(ValidationFailed, match="signing page"):
        services.upload_document(operator_user, draft, file, "signature")
    with pytest.raises(ValidationFailed) as exc:
        services.upload_document(operator_user, draft, file, "insurance_docs", expires_on="2001-01-01")
    assert exc.value.details == {"expires_on": ["The expiry date is in the past."]}
    with pytest.raises(ValidationFailed):
        services.upload_document(operator_user, draft, file, "insurance_docs", expires_on="31/12/2099")
    document = services.upload_document(operator_user, draft, file, "insurance_docs", expires_on="2099-12-31")
    assert str(document.expires_on) == "2099-12-31"
    with pytest.raises(PermissionDenied):
        services.upload_document(users[Role.VIEWER], draft, file, "other")
    with pytest.raises(PermissionDenied):
        services.upload_document(users[Role.FINANCE], draft, file, "other")
    with pytest.raises(InvalidTransition):
        services.upload_document(operator_user, voided, file, "other")


def test_in_draft_documents_add_up_and_may_be_deleted(
    draft, operator_user, django_capture_on_commit_callbacks
):
    first = services.upload_document(operator_user, draft, upload("one.pdf", PDF), "incident_report")
    second = services.upload_document(operator_user, draft, upload("two.pdf", PDF), "incident_report")
    assert Document.objects.filter(pk__in=[first.pk, second.pk], superseded_at__isnull=True).count() == 2
    storage, name = first.file.storage, first.file.name
    with acting_as(operator_user, "web"), django_capture_on_commit_callbacks(execute=True):
        services.delete_document(operator_user, first)
    assert not Document.objects.filter(pk=first.pk).exists()
    assert not storage.exists(name)
    entry = AuditEntry.objects.get(action="document.deleted", object_id=str(first.pk))
    assert entry.custody_id == draft.id and entry.changes["file_name"] == ["one.pdf", None]


def test_after_submission_a_new_version_supersedes_and_nothing_is_deleted(submitted, operator_user):
    old = Document.objects.get(custody=submitted, document_type="incident_report")
    photos_before = Document.objects.filter(custody=submitted, document_type="photos").count()
    with acting_as(operator_user, "web"):
        new = services.upload_document(
            operator_user, submitted, upload("corrected.pdf", PDF), "incident_report"
        )
        services.upload_document(operator_user, submitted, upload("more.png", image_bytes("PNG")), "photos")
    old.refresh_from_db()
    assert (old.superseded_by_id, old.superseded_at) == (new.pk, new.uploaded_at)
    assert new.superseded_at is None
    assert (
        Document.objects.filter(custody=submitted, document_type="photos", superseded_at__isnull=True).count()
        == photos_before + 1
    )  # photos add up
    entry = AuditEntry.objects.get(action="document.superseded", object_id=str(old.pk))
    assert entry.custody_id == submitted.id and entry.changes["superseded_by_id"] == [None, str(new.pk)]
    assert OutboxEvent.objects.get(type="document.uploaded", data__document__id=str(new.pk)).data[
        "supersedes"
    ] == [str(old.pk)]

    with pytest.raises(InvalidTransition) as exc:
        services.delete_document(operator_user, new)
    assert exc.value.message == "Documents of a submitted custody are never deleted, only superseded."
    assert Document.objects.filter(pk__in=[old.pk, new.pk]).count() == 2


def test_explicit_supersede_and_its_conflict(draft, operator_user, django_capture_on_commit_callbacks):
    old = services.upload_document(operator_user, draft, upload("policy.pdf", PDF), "insurance_docs")
    new = services.supersede_document(
        operator_user, old, upload("policy-2027.pdf", PDF), expires_on="2099-01-01"
    )
    old.refresh_from_db()
    assert old.superseded_by_id == new.pk and new.document_type == "insurance_docs"
    with pytest.raises(Conflict):
        services.supersede_document(operator_user, old, upload("again.pdf", PDF))
    # In draft, deleting the replacement brings the earlier version back.
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_document(operator_user, new)
    old.refresh_from_db()
    assert old.superseded_at is None and old.superseded_by_id is None


def test_a_batch_keeps_the_good_files_and_names_the_refused_ones(submitted, operator_user):
    result = services.upload_documents(
        operator_user,
        submitted,
        [upload("a.pdf", PDF), upload("virus.pdf", ELF), upload("b.pdf", PDF)],
        "police_report",
    )
    assert [d.file_name for d in result.documents] == ["a.pdf", "b.pdf"]
    assert list(result.errors) == ["virus.pdf"]
    # Both new files are current: a batch never supersedes its own files.
    assert (
        Document.objects.filter(
            custody=submitted, document_type="police_report", superseded_at__isnull=True
        ).count()
        == 2
    )


def test_a_failed_transaction_leaves_no_file_behind(draft, operator_user, settings):
    before = (
        set((settings.MEDIA_ROOT / "documents").rglob("*"))
        if (settings.MEDIA_ROOT / "documents").exists()
        else set()
    )
    with (
        mock.patch("documents.services.emit", side_effect=RuntimeError("outbox down")),
        pytest.raises(RuntimeError),
    ):
        services.upload_document(operator_user, draft, upload("x.pdf", PDF), "other")
    after = {p for p in (settings.MEDIA_ROOT / "documents").rglob("*") if p.is_file()}
    assert after <= before
    assert not Document.objects.filter(file_name="x.pdf").exists()


def test_panel_context_gives_the_detail_page_what_it_needs(draft, users, operator_user):
    context = services.panel_context(operator_user, draft)
    assert context["custody"] == draft and context["may_upload"] and context["may_delete"]
    assert ("photos", "Photos") in context["document_types"]
    assert "signature" not in dict(context["document_types"])
    assert {d.document_type for d in context["documents"]} >= {"incident_report", "photos"}
    assert [s["type"] for s in context["signable"]] == [
        "customer_acknowledgment",
        "handover_checklist",
        "return_checklist",
    ]
    viewer = services.panel_context(users[Role.VIEWER], draft)
    assert not viewer["may_upload"] and not viewer["may_delete"]
