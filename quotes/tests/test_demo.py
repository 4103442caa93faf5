"""The demo data set includes three companies' quotes in different states, made through the services."""

from io import StringIO

import pytest
from django.core.management import call_command

from audit.models import AuditEntry
from quotes import services
from quotes.models import Quote

pytestmark = pytest.mark.django_db


def test_demo_quotes_are_draft_sent_and_accepted_with_their_cost_sheets():
    out = StringIO()
    call_command("demo_data", stdout=out, stderr=StringIO())
    assert "could not be created" not in out.getvalue()
    quotes = {q.customer.full_name: q for q in Quote.objects.select_related("customer")}
    assert {name: q.status for name, q in quotes.items()} == {
        "Gulf Horizon Contracting LLC": "draft",
        "Al Noor Logistics LLC": "sent",
        "Desert Rose Hospitality LLC": "accepted",
    }
    for quote in quotes.values():
        sheet = services.current_sheet(quote)
        assert sheet is not None
        assert AuditEntry.objects.filter(object_id=str(quote.pk), action="quote.created").exists()
        if quote.status != "draft":
            assert sheet.status == "approved"
            # The quote carries the approved sheet's suggested rates.
            rates = {str(r.quote_line_id): r.cost.suggested_rate for r in services.sheet_rows(sheet)}
            assert {str(line.pk): line.monthly_rate for line in quote.lines.all()} == rates
    accepted = quotes["Desert Rose Hospitality LLC"]
    assert accepted.decision_name == "Mariam Al Suwaidi" and accepted.signature_sha256
    # Loading again adds nothing.
    call_command("demo_data", stdout=StringIO(), stderr=StringIO())
    assert Quote.objects.count() == 3
