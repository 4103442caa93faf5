"""Printable forms customers sign (handover, return, acknowledgment): bilingual PDFs on the letterhead,
with the amounts, the damage diagram and — once signed — the drawn signature embedded."""

import base64

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone

from custodies.models import Custody

from .choices import ConditionStage, DamageZone, DocumentType

STAGE_OF = {
    DocumentType.HANDOVER_CHECKLIST: ConditionStage.HANDOVER,
    DocumentType.RETURN_CHECKLIST: ConditionStage.RETURN,
}


def _amounts(custody: Custody) -> dict:
    from billing import rental

    return {
        "daily_rate": rental.daily_rate(custody),
        "deposit": custody.agreement.deposit_amount if custody.agreement_id else None,
        "deposit_carryover": custody.deposit_carryover,
        "damage_hold": custody.damage_hold_amount,
        "damage_hold_ref": custody.damage_hold_ref,
        "currency": settings.CUSTODY_CURRENCY,
    }


def form_pdf(
    custody: Custody,
    document_type: str,
    text: str = "",
    signature_png: bytes | None = None,
    signer_name: str = "",
    signed_at=None,
    text_sha256: str = "",
) -> bytes:
    """The form as PDF (WeasyPrint; DejaVu renders the Arabic right to left)."""
    from weasyprint import HTML

    from fleet.models import CompanyProfile

    from . import condition

    stage = STAGE_OF.get(document_type)
    report = condition.report_for(custody, stage) if stage else None
    marks = list(report.marks.all()) if report else []
    context = {
        "company": CompanyProfile.current(),
        "custody": custody,
        "document_type": document_type,
        "title": DocumentType(document_type).label,
        "stage": stage,
        "report": report,
        "marks": marks,
        "counts": {zone: sum(1 for m in marks if m.zone == zone) for zone in DamageZone.values},
        "zone_labels": dict(DamageZone.choices),
        "vehicle": condition.vehicle_for(custody),
        "amounts": _amounts(custody),
        "text": text,
        "signature_uri": "data:image/png;base64," + base64.b64encode(signature_png).decode()
        if signature_png
        else "",
        "signer_name": signer_name,
        "signed_at": signed_at,
        "text_sha256": text_sha256,
        "generated_at": timezone.now(),
    }
    html = render_to_string("documents/pdf/form.html", context)
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
