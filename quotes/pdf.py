"""The quote as a PDF (WeasyPrint), in English or Arabic; with the customer's signature once accepted."""

import base64

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation

from . import services


def company():
    """The letterhead: the admin's company profile (fleet), the same one the tax invoices use."""
    from fleet.models import CompanyProfile

    return CompanyProfile.current()


def pdf_context(quote) -> dict:
    lines = list(quote.lines.select_related("vehicle_class", "vehicle"))
    signature = None
    if quote.signature_png:
        signature = "data:image/png;base64," + base64.b64encode(bytes(quote.signature_png)).decode()
    return {
        "quote": quote,
        "lines": lines,
        "company": company(),
        "currency": settings.CUSTODY_CURRENCY,
        "signature": signature,
        "generated_at": timezone.now(),
        "contract_value": sum((line.line_total * line.term_months for line in lines), 0),
        "review_expires_at": quote.review_expires_at,
        "services": services,
    }


def render_quote_pdf(quote, language: str = "en") -> bytes:
    from weasyprint import HTML

    with translation.override(language):
        html = render_to_string("quotes/quote_pdf.html", pdf_context(quote))
    return HTML(string=html, base_url=str(settings.BASE_DIR)).write_pdf()
