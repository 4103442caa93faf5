"""The quote PDF read back as text (Poppler's pdftotext, installed by .ci/pdftotext.sh): in English and in
Arabic it carries the company's details, the customer, every line, the totals with VAT, the validity and
the terms; the signed copy names the signer. Numbers are the issue's ten SUVs over 24 months at the
cost sheet's suggested rate: 10 × 4,106.25 = 41,062.50; VAT 5 % = 2,053.125 → 2,053.13; total 43,115.63."""

import re
import shutil
import subprocess

import pytest

from fleet.models import CompanyProfile
from quotes import pdf, services
from quotes.models import Quote

from .conftest import signature_png, suv_lines

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext missing: run bash .ci/pdftotext.sh"),
]

# Bidi controls pdftotext writes around right-to-left runs; they are not part of the words.
BIDI = re.compile("[\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def text_of(data: bytes) -> str:
    assert data.startswith(b"%PDF")
    out = subprocess.run(["pdftotext", "-layout", "-", "-"], input=data, capture_output=True, check=True)
    return BIDI.sub("", out.stdout.decode())


@pytest.fixture
def profile(db):
    # No lam-alef in the Arabic name: pdftotext splits that ligature back in visual order.
    return CompanyProfile.objects.create(
        name="Dubai Car Leasing LLC",
        name_ar="شركة دبي لتأجير السيارات",
        address="Office 12, Al Quoz 3, Dubai",
        address_ar="شارع الخيل، القوز، دبي",
        trn="100123456700003",
        phone="+971 4 123 4567",
        email="leasing@dcl.example",
    )


@pytest.fixture
def sent(profile, sales, finance, company, suv, defaults, tax_profile, valid_until):
    lines = [
        *suv_lines(suv, description="Pathfinder or similar"),
        {"vehicle_class_id": str(suv.pk), "quantity": 2, "term_months": 12, "monthly_rate": "5000.00"},
    ]
    quote = services.create_quote(
        sales,
        {
            "customer_id": company.pk,
            "valid_until": valid_until,
            "lines": lines,
            "notes": "Delivery to JAFZA South",
        },
    )
    sheet = services.create_cost_sheet(sales, {"quote_id": quote.pk})
    services.submit_cost_sheet(sales, sheet.pk)
    services.approve_cost_sheet(finance, sheet.pk)
    services.apply_cost_sheet(sales, sheet.pk)
    services.submit_quote(sales, quote.pk)
    services.approve_quote(finance, quote.pk)
    quote, url = services.send_quote(sales, quote.pk)
    return Quote.objects.get(pk=quote.pk), url.rsplit("/q/", 1)[1]


# The second line: 2 SUVs, 12 months, no services included (so no maintenance, roadside or replacement
# cost): depreciation 120,000 × 0.15 / 12 = 1,500.00; financing 120,000 × 6 % / 12 = 600.00; operating
# insurance 400 + registration 50 = 450.00; overhead 10 % = 45.00; cost 2,595.00;
# suggested 2,595 / 0.88 × 1.25 = 3,686.0795… → 3,686.08; × 2 = 7,372.16.
# Subtotal 41,062.50 + 7,372.16 = 48,434.66; VAT 5 % 2,421.733 → 2,421.73; total 50,856.39.
LINE_TWO = ("3,686.08", "7,372.16")
TOTALS = ("48,434.66", "2,421.73", "50,856.39")


def test_the_hand_calculation_of_the_second_line(sent):
    quote, _token = sent
    second = quote.lines.order_by("position")[1]
    assert (str(second.monthly_rate), str(second.line_total)) == ("3686.08", "7372.16")
    assert (str(quote.subtotal), str(quote.vat_amount), str(quote.total)) == (
        "48434.66",
        "2421.73",
        "50856.39",
    )


def test_the_english_pdf_has_company_customer_lines_totals_validity_and_terms(sent):
    quote, _token = sent
    text = text_of(pdf.render_quote_pdf(quote, "en"))
    valid = quote.valid_until.strftime("%d/%m/%Y")
    for expected in (
        # the company's letterhead
        "Dubai Car Leasing LLC",
        "Office 12, Al Quoz 3, Dubai",
        "+971 4 123 4567",
        "leasing@dcl.example",
        "TRN 100123456700003",
        "Quotation",
        quote.quote_no,
        # the customer
        "Gulf Logistics LLC (C-900001)",
        # the lines: class, description, quantity, term, services, rate, line total
        "Mid-size SUV (SUV-M)",
        "Pathfinder or similar",
        "Maintenance",
        "Roadside assistance",
        "Replacement car",
        "4,106.25",
        "41,062.50",
        *LINE_TWO,
        # totals and VAT
        f"Subtotal per month AED {TOTALS[0]}",
        f"VAT 5.00 % AED {TOTALS[1]}",
        f"Total per month AED {TOTALS[2]}",
        # validity and terms
        f"Valid until {valid}",
        f"This quotation is valid until {valid}.",
        "Rates are per vehicle per month",
        "Traffic fines, tolls (Salik) and fuel",
        "Delivery to JAFZA South",
    ):
        assert expected in re.sub(r" {2,}", " ", text), expected
    # quantity and term of each line, in their columns
    assert re.search(r"Mid-size SUV \(SUV-M\)\s+10\s+24\s+Maintenance", text)
    assert re.search(r"Mid-size SUV \(SUV-M\)\s+2\s+12\s+—\s+3,686\.08\s+7,372\.16", text)


def test_the_arabic_pdf_has_arabic_labels_and_the_same_figures(sent):
    quote, _token = sent
    text = text_of(pdf.render_quote_pdf(quote, "ar"))
    flat = re.sub(r"\s+", " ", text)
    for label in (
        "عرض سعر",  # Quotation
        "شركة دبي لتأجير السيارات",  # the company's Arabic name
        "شارع الخيل",  # its Arabic address
        "العميل",  # Customer
        "المركبات",  # Vehicles
        "الكمية",  # Qty
        "السعر الشهري",  # Monthly rate
        "ضريبة القيمة المضافة",  # VAT
        "صالح حتى",  # Valid until
        "الشروط",  # Terms
        "سيارة بديلة",  # Replacement car
    ):
        assert label in flat, label
    assert "Quotation" not in text and "Terms" not in text  # Arabic, not English, labels
    for figure in ("4,106.25", "41,062.50", *LINE_TWO, *TOTALS, quote.quote_no, "100123456700003"):
        assert figure in text, figure
    assert quote.valid_until.strftime("%d/%m/%Y") in text


@pytest.mark.parametrize(("language", "label"), [("en", "Accepted by"), ("ar", "قبله")])
def test_the_signed_copy_names_the_signer_in_both_languages(client, sent, language, label):
    quote, token = sent
    response = client.post(
        f"/q/{token}/accept",
        {"name": "Fatima Al Hashimi", "signature": signature_png()},
        REMOTE_ADDR="10.1.2.3",
    )
    assert response.status_code == 200
    text = text_of(pdf.render_quote_pdf(Quote.objects.get(pk=quote.pk), language))
    assert "Fatima Al Hashimi" in text and "10.1.2.3" in text and label in text
    assert TOTALS[2] in text


def test_the_staff_download_is_the_same_document(sent, sales):
    from conftest import login_client

    quote, _token = sent
    response = login_client(sales).get(f"/quotes/{quote.pk}/pdf/ar/")
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert f"{quote.quote_no}-ar.pdf" in response["Content-Disposition"]
    assert TOTALS[2] in text_of(response.content)
