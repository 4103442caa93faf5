"""Printable documents customers sign: bilingual PDFs on the letterhead with the signature embedded."""

import base64
import io
from decimal import Decimal

import pypdfium2
import pytest
from PIL import Image, ImageDraw

from accounts.choices import Role
from conftest import login_client
from custodies import services as custody_services
from documents import condition, services
from documents.models import Document
from fleet.models import CompanyProfile

pytestmark = pytest.mark.django_db


def signature_png() -> str:
    image = Image.new("RGB", (300, 120), "white")
    ImageDraw.Draw(image).line([(10, 100), (150, 10), (290, 100)], fill="black", width=6)
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def test_the_signed_handover_form_is_a_bilingual_pdf_with_the_signature(users, make_draft):
    CompanyProfile.objects.create(
        name="Gulf Rent A Car LLC", name_ar="الخليج لتأجير السيارات", trn="100123456700003"
    )
    op = users[Role.OPERATOR]
    custody = make_draft(damage_hold_amount=Decimal("1000"), damage_hold_ref="POS-AUTH-9")
    custody_services.submit_custody(op, custody.id)
    custody_services.approve_custody(users[Role.SUPERVISOR], custody.id)
    custody.refresh_from_db()
    condition.add_mark(
        op, custody.id, "handover", {"zone": "front", "damage_type": "scratch", "severity": "minor"}
    )
    text = services.sign_text(custody, "handover_checklist", {"odometer_km": 12000, "fuel_level": 8})
    services.sign_document(op, custody, "handover_checklist", "Ahmed", signature_png(), "127.0.0.1", text)
    document = Document.objects.get(custody=custody, document_type="handover_checklist")
    assert (document.content_type, document.file_name) == (
        "application/pdf",
        f"handover-checklist-{custody.custody_no}.pdf",
    )
    pdf = pypdfium2.PdfDocument(document.file.read())
    content = "\n".join(p.get_textpage().get_text_range() for p in pdf)
    assert "Gulf Rent A Car LLC" in content and "1000.00" in content and "POS-AUTH-9" in content
    assert "الخليج" in content.replace("\u200f", "") or "السيارات" in content
    images = [obj for p in pdf for obj in p.get_objects() if obj.type == pypdfium2.raw.FPDF_PAGEOBJ_IMAGE]
    assert images, "the drawn signature is embedded"


def test_the_form_prints_before_signing(users, make_draft):
    custody = make_draft()
    response = login_client(users[Role.OPERATOR]).get(
        f"/documents/custody/{custody.pk}/print/customer_acknowledgment.pdf"
    )
    assert response["Content-Type"] == "application/pdf"
    assert (
        "Customer acknowledgment"
        in pypdfium2.PdfDocument(response.content)[0].get_textpage().get_text_range()
    )
