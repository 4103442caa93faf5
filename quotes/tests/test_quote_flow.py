"""The issue's story through the API: ten SUVs over 24 months for a company, priced by a cost sheet,
approved by finance (never by the salesperson), sent, and accepted on the public page."""

import re

import pytest
from django.core import mail

from audit.models import AuditEntry
from conftest import run_queued_tasks
from integrations.models import OutboxEvent
from quotes.models import CostSheet, Quote

from .conftest import signature_png as _png
from .conftest import suv_lines

pytestmark = pytest.mark.django_db


def test_ten_suvs_for_24_months_from_quote_to_signed_acceptance(
    api_as, client, sales, finance, manager, company, suv, defaults, tax_profile, valid_until, settings
):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    as_sales, as_finance, as_manager = api_as(sales), api_as(finance), api_as(manager)

    created = as_sales.post(
        "/api/v1/quotes",
        {"customer_id": str(company.pk), "valid_until": valid_until.isoformat(), "lines": suv_lines(suv)},
    )
    assert created.status_code == 201, created.content
    quote = created.json()
    assert re.fullmatch(r"QT-\d{6,}", quote["quote_no"])
    assert quote["status"] == "draft"
    assert quote["vat_rate"] == "5.00"  # from the default tax profile
    assert quote["lines"][0]["line_total"] == "40000.00"
    assert (quote["subtotal"], quote["vat_amount"], quote["total"]) == ("40000.00", "2000.00", "42000.00")
    assert quote["cost_sheet_id"] is None

    # A corporate quote cannot be submitted without an approved cost sheet.
    refused = as_sales.post(f"/api/v1/quotes/{quote['id']}/submit")
    assert refused.status_code == 422
    assert "cost_sheet" in refused.json()["error"]["details"]

    sheet = as_sales.post("/api/v1/cost-sheets", {"quote_id": quote["id"]})
    assert sheet.status_code == 201, sheet.content
    sheet = sheet.json()
    assert (sheet["version"], sheet["status"]) == (1, "draft")
    assert (sheet["financing_rate_pct"], sheet["overhead_pct"], sheet["target_margin_pct"]) == (
        "6.00",
        "10.00",
        "12.00",
    )
    line = sheet["lines"][0]
    # By hand: 120,000 × 0.35 / 24 = 1,750.00; 120,000 × 6 % / 12 = 600.00; 300+400+50+20+80 = 850.00;
    # 10 % overhead 85.00; total 3,285.00; suggested 3,285 / 0.88 × 1.10 = 4,106.25.
    assert {k: line[k] for k in ("residual_pct", "depreciation", "financing", "operating", "overhead")} == {
        "residual_pct": "65.00",
        "depreciation": "1750.00",
        "financing": "600.00",
        "operating": "850.00",
        "overhead": "85.00",
    }
    assert (line["total_monthly_cost"], line["suggested_rate"], line["quoted_rate"]) == (
        "3285.00",
        "4106.25",
        "4000.00",
    )
    assert line["actual_margin_pct"] == "17.88"  # (4,000 − 3,285) / 4,000
    assert sheet["summary"] == {
        "total_monthly_cost": "32850.00",
        "total_revenue": "40000.00",
        "average_margin_pct": "17.88",
        "lowest_margin_line": {"quote_line_id": quote["lines"][0]["id"], "actual_margin_pct": "17.88"},
    }

    assert as_sales.post(f"/api/v1/cost-sheets/{sheet['id']}/submit").json()["status"] == "pending_approval"
    assert as_sales.post(f"/api/v1/cost-sheets/{sheet['id']}/approve").status_code == 403  # a sales role
    approved = as_finance.post(f"/api/v1/cost-sheets/{sheet['id']}/approve")
    assert approved.status_code == 200, approved.content
    assert approved.json()["status"] == "approved"

    applied = as_sales.post(f"/api/v1/cost-sheets/{sheet['id']}/apply")
    assert applied.status_code == 200, applied.content
    assert applied.json()["status"] == "approved"  # applying its own rates keeps the sheet current
    quote = as_sales.get(f"/api/v1/quotes/{quote['id']}").json()
    assert quote["lines"][0]["monthly_rate"] == "4106.25"
    # 10 × 4,106.25 = 41,062.50; VAT 5 % = 2,053.125 → 2,053.13; total 43,115.63.
    assert (quote["subtotal"], quote["vat_amount"], quote["total"]) == ("41062.50", "2053.13", "43115.63")
    assert quote["cost_sheet_id"] == sheet["id"]

    submitted = as_sales.post(f"/api/v1/quotes/{quote['id']}/submit")
    assert submitted.status_code == 200, submitted.content
    assert submitted.json()["status"] == "pending_approval"
    assert as_sales.post(f"/api/v1/quotes/{quote['id']}/approve").status_code == 403  # a sales role
    approved = as_manager.post(f"/api/v1/quotes/{quote['id']}/approve", {"notes": "Good margin"})
    assert approved.status_code == 200, approved.content

    sent = as_sales.post(f"/api/v1/quotes/{quote['id']}/send")
    assert sent.status_code == 200, sent.content
    sent = sent.json()
    assert sent["status"] == "sent"
    token = sent["review_url"].rsplit("/q/", 1)[1]
    assert OutboxEvent.objects.filter(type="quote.sent").count() == 1

    run_queued_tasks()
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert message.to == ["fleet@gulf-logistics.example"]
    assert sent["review_url"] in message.body
    assert sorted(name for name, _c, _t in message.attachments) == [
        f"{sent['quote_no']}-ar.pdf",
        f"{sent['quote_no']}-en.pdf",
    ]

    page = client.get(f"/q/{token}")
    assert page.status_code == 200
    assert b"43,115.63" in page.content

    accepted = client.post(
        f"/q/{token}/accept", {"name": "Fatima Al Hashimi", "signature": _png()}, REMOTE_ADDR="10.1.2.3"
    )
    assert accepted.status_code == 200, accepted.content
    stored = Quote.objects.get(pk=quote["id"])
    assert stored.status == "accepted"
    assert (stored.decision_name, stored.decision_ip) == ("Fatima Al Hashimi", "10.1.2.3")
    assert bytes(stored.signature_png).startswith(b"\x89PNG")
    assert OutboxEvent.objects.filter(type="quote.accepted").count() == 1
    assert client.post(f"/q/{token}/accept", {"name": "Again", "signature": _png()}).status_code == 409

    run_queued_tasks()
    assert len(mail.outbox) == 2
    assert [name for name, _c, _t in mail.outbox[1].attachments] == [
        f"{sent['quote_no']}-signed-en.pdf",
        f"{sent['quote_no']}-signed-ar.pdf",
    ]
    staff = as_sales.get(f"/api/v1/quotes/{quote['id']}").json()
    assert staff["decision"]["name"] == "Fatima Al Hashimi"
    assert staff["decision"]["ip"] == "10.1.2.3"
    actions = list(
        AuditEntry.objects.filter(object_id=quote["id"]).order_by("id").values_list("action", flat=True)
    )
    assert actions == [
        "quote.created",
        "quote.rates_applied",
        "quote.submitted",
        "quote.approved",
        "quote.sent",
        "quote.accepted",
    ]
    assert CostSheet.objects.get(pk=sheet["id"]).status == "approved"
