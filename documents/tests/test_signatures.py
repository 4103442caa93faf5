import hashlib

import pytest
from django.core.exceptions import PermissionDenied

from accounts.choices import Role
from audit.context import acting_as
from audit.models import AuditEntry
from core.errors import InvalidTransition, ValidationFailed
from documents import services
from documents.models import Document, Signature
from integrations.models import OutboxEvent

from .conftest import data_url, image_bytes, signature_png

pytestmark = pytest.mark.django_db


def test_signing_stores_signer_time_ip_hash_image_and_emits_the_event(draft, operator_user):
    draft.damage_hold_amount = 2500
    text = services.sign_text(draft, "customer_acknowledgment")
    assert draft.custody_no in text and "Ahmed Al Mansoori" in text
    assert "DXB-A-10001" in text and "DXB-B-20002" in text and "Breakdown" in text
    assert "2,500.00 AED" in text
    with acting_as(operator_user, "web", ip="10.1.2.3"):
        signature = services.sign_document(
            operator_user,
            draft,
            "customer_acknowledgment",
            "  Ahmed  Al Mansoori ",
            data_url(signature_png()),
            "10.1.2.3",
            text.encode(),
        )
    signature.refresh_from_db()
    assert signature.status == "signed"
    assert signature.signer_name == "Ahmed Al Mansoori"
    assert signature.signer_ip == "10.1.2.3"
    assert signature.signed_at is not None
    assert signature.signed_content_sha256 == hashlib.sha256(text.encode()).hexdigest()
    image = signature.image
    assert (image.document_type, image.content_type) == ("signature", "image/png")
    with image.file.storage.open(image.file.name, "rb") as handle:
        assert hashlib.sha256(handle.read()).hexdigest() == image.sha256
    # The signed text is kept as the acknowledgment itself, so it counts as present.
    # ... as a PDF with the signature in it; the signature keeps the SHA-256 of the text that was shown.
    text_doc = Document.objects.get(
        custody=draft, file_name=f"customer-acknowledgment-{draft.custody_no}.pdf"
    )
    assert text_doc.content_type == "application/pdf"
    entry = AuditEntry.objects.get(action="document.signed")
    assert entry.custody_id == draft.id and entry.ip == "10.1.2.3"
    event = OutboxEvent.objects.get(type="document.signed")
    assert event.data["signature"]["signed_content_sha256"] == signature.signed_content_sha256
    assert event.data["signature"]["signer_name"] == "Ahmed Al Mansoori"


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("", "Sign in the box first."),
        (data_url(image_bytes("JPEG"), "image/jpeg"), "The signature must be a PNG image."),
        (data_url(image_bytes("JPEG")), "The signature must be a PNG image."),  # PNG label, JPEG bytes
        ("data:image/png;base64,@@not-base64@@", "The signature image is not valid."),
        ("data:image/png;base64," + "A" * 1_500_000, "The signature image is larger than 1 MB."),
        (data_url(b"\x89PNG\r\n\x1a\n" + b"\x00" * 50), "The signature image is not valid."),
        (data_url(signature_png(blank=True)), "The signature is empty: sign in the box."),
        ("javascript:alert(1)", "The signature must be a PNG image."),
    ],
)
def test_only_a_real_non_empty_png_is_accepted(draft, operator_user, value, message):
    with pytest.raises(ValidationFailed) as exc:
        services.sign_document(
            operator_user, draft, "customer_acknowledgment", "Ahmed", value, "10.0.0.1", b"text"
        )
    assert exc.value.details == {"signature": [message]}
    assert not Signature.objects.exists() and not Document.objects.filter(document_type="signature").exists()


def test_a_transparent_pad_image_with_strokes_is_accepted_and_a_transparent_blank_one_is_not():
    import io

    from PIL import Image, ImageDraw

    def png(draw: bool) -> bytes:
        image = Image.new("RGBA", (300, 100), (0, 0, 0, 0))
        if draw:
            ImageDraw.Draw(image).line([(10, 10), (290, 90)], fill=(0, 0, 0, 255), width=3)
        buffer = io.BytesIO()
        image.save(buffer, "PNG")
        return buffer.getvalue()

    assert services.decode_signature_png(data_url(png(True))) == png(True)
    with pytest.raises(ValidationFailed, match="empty"):
        services.decode_signature_png(data_url(png(False)))


def test_signing_rules(draft, voided, users, operator_user):
    png = data_url(signature_png())
    with pytest.raises(ValidationFailed) as exc:
        services.sign_document(operator_user, draft, "customer_acknowledgment", "  ", png, None, b"text")
    assert "signer_name" in exc.value.details
    with pytest.raises(ValidationFailed):
        services.sign_document(operator_user, draft, "police_report", "Ahmed", png, None, b"text")
    with pytest.raises(InvalidTransition, match="return checklist"):
        services.sign_document(operator_user, draft, "return_checklist", "Ahmed", png, None, b"text")
    with pytest.raises(InvalidTransition):
        services.sign_document(operator_user, voided, "customer_acknowledgment", "Ahmed", png, None, b"text")
    with pytest.raises(PermissionDenied):
        services.sign_document(
            users[Role.VIEWER], draft, "customer_acknowledgment", "Ahmed", png, None, b"text"
        )
    # A bad IP is not stored (the signature still is).
    signature = services.sign_document(
        operator_user, draft, "customer_acknowledgment", "Ahmed", png, "nope", b"t"
    )
    assert signature.signer_ip is None


def test_signing_the_acknowledgment_satisfies_the_required_document(make_draft, operator_user):
    custody = make_draft()
    Document.objects.filter(custody=custody, document_type="customer_acknowledgment").delete()
    assert "customer_acknowledgment" in services.missing_documents(custody, "submit")
    services.sign_document(
        operator_user,
        custody,
        "customer_acknowledgment",
        "Ahmed",
        data_url(signature_png()),
        None,
        services.sign_text(custody, "customer_acknowledgment").encode(),
    )
    assert "customer_acknowledgment" not in services.missing_documents(custody, "submit")


def test_signing_again_after_submission_keeps_the_history(submitted, operator_user):
    png = data_url(signature_png())
    first = services.sign_document(
        operator_user, submitted, "customer_acknowledgment", "Ahmed", png, None, b"v1"
    )
    second = services.sign_document(
        operator_user, submitted, "customer_acknowledgment", "Ahmed", png, None, b"v2"
    )
    assert first.pk != second.pk
    first.refresh_from_db()
    first.image.refresh_from_db()
    assert first.status == "signed" and first.image.superseded_by_id == second.image_id
    current = Document.objects.filter(
        custody=submitted, document_type="customer_acknowledgment", superseded_at__isnull=True
    )
    assert [d.content_type for d in current] == ["application/pdf"]
    assert second.signed_content_sha256 == hashlib.sha256(b"v2").hexdigest()


def test_a_checklist_text_records_the_condition(active, operator_user):
    checklist = {
        "item_exterior": "issue",
        "note_exterior": "scratch on the rear bumper",
        "item_tyres": "ok",
        "fuel_level": 6,
        "odometer_km": 15350,
        "notes": "",
    }
    text = services.sign_text(active, "return_checklist", checklist)
    assert "Exterior (body, glass, lights): Damaged / issue — scratch on the rear bumper" in text
    assert "Tyres: OK" in text and "Spare wheel: not checked" in text
    assert "Fuel level: 6/8" in text and "Odometer: 15,350 km" in text
    assert "Odometer at handover: 15000 km" in text
    signature = services.sign_document(
        operator_user,
        active,
        "return_checklist",
        "Ahmed",
        data_url(signature_png()),
        "10.0.0.9",
        text.encode(),
    )
    assert signature.status == "signed"
    assert "return_checklist" not in services.missing_documents(active, "close")


def test_declining_keeps_the_reason(draft, operator_user):
    with pytest.raises(ValidationFailed) as exc:
        services.decline_signature(operator_user, draft, "customer_acknowledgment", "Ahmed", "  ")
    assert exc.value.details == {"reason": ["Required."]}
    with acting_as(operator_user, "web"):
        signature = services.decline_signature(
            operator_user,
            draft,
            "customer_acknowledgment",
            "Ahmed",
            "Disagrees with the damage hold",
            "10.0.0.7",
        )
    assert (signature.status, signature.decline_reason, signature.signer_ip) == (
        "declined",
        "Disagrees with the damage hold",
        "10.0.0.7",
    )
    assert AuditEntry.objects.filter(action="document.signature_declined", custody_id=draft.id).exists()
    # Signing later completes the same request.
    signed = services.sign_document(
        operator_user, draft, "customer_acknowledgment", "Ahmed", data_url(signature_png()), None, b"text"
    )
    assert signed.pk == signature.pk and signed.status == "signed" and signed.decline_reason == ""
