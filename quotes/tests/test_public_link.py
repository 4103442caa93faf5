"""The public review link: unguessable, expiring, rate-limited, decided once (404 / 410 / 409)."""

import subprocess
from datetime import timedelta

import pytest
from django.utils import timezone

from audit.models import AuditEntry
from integrations.models import OutboxEvent
from quotes import pdf, services
from quotes.models import Quote

from .conftest import signature_png, suv_lines

pytestmark = pytest.mark.django_db


@pytest.fixture
def sent(sales, finance, company, suv, defaults, tax_profile, valid_until):
    quote = services.create_quote(
        sales, {"customer_id": company.pk, "valid_until": valid_until, "lines": suv_lines(suv)}
    )
    sheet = services.create_cost_sheet(sales, {"quote_id": quote.pk})
    services.submit_cost_sheet(sales, sheet.pk)
    services.approve_cost_sheet(finance, sheet.pk)
    services.apply_cost_sheet(sales, sheet.pk)
    services.submit_quote(sales, quote.pk)
    services.approve_quote(finance, quote.pk)
    quote, url = services.send_quote(sales, quote.pk)
    return quote, url.rsplit("/q/", 1)[1]


def _unchanged(quote):
    fresh = Quote.objects.get(pk=quote.pk)
    return fresh.status, fresh.version, AuditEntry.objects.count(), OutboxEvent.objects.count()


def test_the_link_shows_the_quote_on_a_phone(client, sent):
    quote, token = sent
    page = client.get(f"/q/{token}")
    assert page.status_code == 200
    html = page.content.decode()
    assert quote.quote_no in html and "43,115.63" in html
    assert 'name="viewport"' in html and "data-signature-pad" in html


def test_a_guessed_or_altered_token_is_not_found(client, sent):
    quote, token = sent
    before = _unchanged(quote)
    altered = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get(f"/q/{altered}").status_code == 404
    assert client.get("/q/QT-000001").status_code == 404
    assert client.post(f"/q/{altered}/accept", {"name": "X", "signature": signature_png()}).status_code == 404
    assert client.get(f"/q/{'x' * 500}").status_code == 404
    assert _unchanged(quote) == before


def test_guessing_is_rate_limited(client, sent):
    _quote, token = sent
    for n in range(20):
        assert client.get(f"/q/guess{n:04d}").status_code == 404
    blocked = client.get(f"/q/{token}")
    assert blocked.status_code == 429
    assert int(blocked["Retry-After"]) >= 1
    assert client.post(f"/q/{token}/accept", {"name": "X", "signature": signature_png()}).status_code == 429
    # Another address is not affected.
    assert client.get(f"/q/{token}", REMOTE_ADDR="10.9.9.9").status_code == 200


def test_the_page_answers_429_past_the_shared_per_ip_threshold(client, sent, settings):
    """The page takes core.ratelimit's "public_quote" group (database counters every process shares)."""
    # An hour's fixed window: a minute's could end between the requests on a slow machine.
    settings.CUSTODY_RATE_LIMITS = {"public_quote": "3/h"}
    quote, token = sent
    before = _unchanged(quote)
    codes = [client.get(f"/q/{token}").status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    blocked = client.get(f"/q/{token}")
    assert blocked.status_code == 429 and int(blocked["Retry-After"]) >= 1
    # a decision past the limit is refused too, and changes nothing
    assert client.post(f"/q/{token}/accept", {"name": "X", "signature": signature_png()}).status_code == 429
    assert _unchanged(quote) == before
    assert client.get(f"/q/{token}", REMOTE_ADDR="10.9.9.9").status_code == 200


def test_an_expired_link_is_gone(client, sent):
    quote, token = sent
    Quote.objects.filter(pk=quote.pk).update(review_expires_at=timezone.now() - timedelta(seconds=1))
    before = _unchanged(quote)
    assert client.get(f"/q/{token}").status_code == 410
    assert client.post(f"/q/{token}/accept", {"name": "X", "signature": signature_png()}).status_code == 410
    assert _unchanged(quote) == before


def test_an_expired_quote_is_gone(client, sent):
    quote, token = sent
    Quote.objects.filter(pk=quote.pk).update(valid_until=timezone.localdate() - timedelta(days=1))
    services.expire_quotes()
    assert client.get(f"/q/{token}").status_code == 410


def test_accepting_needs_a_name_and_a_drawn_signature(client, sent):
    quote, token = sent
    before = _unchanged(quote)
    assert client.post(f"/q/{token}/accept", {"name": "", "signature": signature_png()}).status_code == 400
    assert client.post(f"/q/{token}/accept", {"name": "Fatima", "signature": ""}).status_code == 400
    assert (
        client.post(
            f"/q/{token}/accept", {"name": "Fatima", "signature": "data:image/png;base64,AAAA"}
        ).status_code
        == 400
    )
    assert _unchanged(quote) == before


def test_a_second_decision_and_a_replay_are_conflicts(client, sent):
    quote, token = sent
    assert client.post(f"/q/{token}/reject", {"reason": "Too expensive"}).status_code == 200
    decided = _unchanged(quote)
    assert decided[0] == "rejected"
    assert client.post(f"/q/{token}/reject", {"reason": "Too expensive"}).status_code == 409  # replay
    assert client.post(f"/q/{token}/accept", {"name": "F", "signature": signature_png()}).status_code == 409
    assert client.get(f"/q/{token}").status_code == 409
    assert _unchanged(quote) == decided
    stored = Quote.objects.get(pk=quote.pk)
    assert stored.decision_reason == "Too expensive"
    assert OutboxEvent.objects.filter(type="quote.rejected").count() == 1


def test_rejecting_needs_a_reason(client, sent):
    quote, token = sent
    before = _unchanged(quote)
    assert client.post(f"/q/{token}/reject", {"reason": " "}).status_code == 400
    assert _unchanged(quote) == before


def test_sending_again_retires_the_old_link(client, sent, sales):
    quote, old = sent
    _quote, url = services.send_quote(sales, quote.pk)
    assert client.get(f"/q/{old}").status_code == 404
    assert client.get(url[url.index("/q/") :]).status_code == 200


def _text(pdf_bytes: bytes) -> str:
    return subprocess.run(
        ["pdftotext", "-layout", "-", "-"], input=pdf_bytes, capture_output=True, check=True
    ).stdout.decode()


@pytest.mark.parametrize("language", ["en", "ar"])
def test_the_pdf_renders_in_both_languages_with_its_totals(sent, language):
    quote, _token = sent
    data = pdf.render_quote_pdf(Quote.objects.get(pk=quote.pk), language)
    assert data.startswith(b"%PDF")
    text = _text(data)
    for amount in ("4,106.25", "41,062.50", "2,053.13", "43,115.63"):
        assert amount in text
    assert quote.quote_no in text


def test_the_signed_pdf_names_the_signer(client, sent):
    quote, token = sent
    client.post(
        f"/q/{token}/accept",
        {"name": "Fatima Al Hashimi", "signature": signature_png()},
        REMOTE_ADDR="10.1.2.3",
    )
    text = _text(pdf.render_quote_pdf(Quote.objects.get(pk=quote.pk), "en"))
    assert "Fatima Al Hashimi" in text and "10.1.2.3" in text
