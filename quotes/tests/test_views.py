"""Quote pages as a user sees them: list with filters and export, editor with live totals, cost sheet
beside the lines with live recalculation and margin colours, actions, PDF and conversion."""

from decimal import Decimal as D

import pytest

from conftest import login_client
from quotes import services
from quotes.models import Quote

from .conftest import suv_lines

pytestmark = pytest.mark.django_db


@pytest.fixture
def quote(sales, company, suv, defaults, tax_profile, valid_until):
    return services.create_quote(
        sales, {"customer_id": company.pk, "valid_until": valid_until, "lines": suv_lines(suv)}
    )


def test_the_list_filters_searches_and_exports(quote, sales, person, valid_until):
    other = services.create_quote(sales, {"customer_id": person.pk, "valid_until": valid_until})
    client = login_client(sales)
    page = client.get("/quotes/")
    assert page.status_code == 200
    assert quote.quote_no in page.content.decode() and other.quote_no in page.content.decode()
    searched = client.get("/quotes/", {"q": "Gulf"}, HTTP_HX_REQUEST="true").content.decode()
    assert quote.quote_no in searched and other.quote_no not in searched
    assert other.quote_no not in client.get("/quotes/", {"status": "sent"}).content.decode()
    csv = b"".join(client.get("/quotes/", {"format": "csv", "q": "Gulf"}).streaming_content).decode()
    assert quote.quote_no in csv and "42000.00" in csv and other.quote_no not in csv


def test_a_viewer_sees_quotes_but_cannot_create(quote, users):
    client = login_client(users["viewer"])
    assert client.get("/quotes/").status_code == 200
    assert client.get("/quotes/new/").status_code == 403


def test_creating_a_quote_from_the_page(sales, company, tax_profile, valid_until, branch):
    client = login_client(sales)
    response = client.post(
        "/quotes/new/",
        {
            "customer_id": company.pk,
            "branch_id": branch.pk,
            "valid_until": valid_until.isoformat(),
            "vat_rate": "5.00",
        },
    )
    quote = Quote.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/quotes/{quote.pk}/"
    assert quote.status == "draft" and quote.vat_rate == D("5.00")


def _editor_post(quote, lines, **header):
    data = {
        "version": quote.version,
        "customer_id": quote.customer_id,
        "branch_id": quote.branch_id,
        "valid_until": quote.valid_until.isoformat(),
        "vat_rate": str(quote.vat_rate),
        "notes": "",
        "lines-TOTAL_FORMS": len(lines),
        "lines-INITIAL_FORMS": quote.lines.count(),
        "lines-MIN_NUM_FORMS": 0,
        "lines-MAX_NUM_FORMS": 100,
    }
    for index, line in enumerate(lines):
        for key, value in line.items():
            if isinstance(value, bool):
                if value:
                    data[f"lines-{index}-{key}"] = "on"
            else:
                data[f"lines-{index}-{key}"] = value
    data.update(header)
    return data


def test_the_editor_shows_live_totals_without_saving(quote, sales, suv):
    client = login_client(sales)
    page = client.get(f"/quotes/{quote.pk}/").content.decode()
    assert 'id="quote-editor"' in page and "42,000.00" in page
    line = quote.lines.get()
    lines = [
        {**suv_lines(suv, quantity=10, rate="4106.25")[0], "id": str(line.pk)},
        suv_lines(suv, quantity=2, rate="999.99")[0],
    ]
    preview = client.post(f"/quotes/{quote.pk}/preview/", _editor_post(quote, lines), HTTP_HX_REQUEST="true")
    html = preview.content.decode()
    # 41,062.50 + 1,999.98 = 43,062.48; VAT 5 % 2,153.124 → 2,153.12; total 45,215.60.
    assert (
        "41,062.50" in html
        and "1,999.98" in html
        and "43,062.48" in html
        and "2,153.12" in html
        and "45,215.60" in html
    )
    assert Quote.objects.get(pk=quote.pk).total == D("42000.00")  # nothing saved


def test_saving_the_editor_updates_the_lines(quote, sales, suv):
    client = login_client(sales)
    line = quote.lines.get()
    lines = [
        {**suv_lines(suv, quantity=10, rate="4106.25")[0], "id": str(line.pk)},
        suv_lines(suv, quantity=2, rate="999.99")[0],
    ]
    response = client.post(f"/quotes/{quote.pk}/", _editor_post(quote, lines))
    assert response.status_code == 302
    quote.refresh_from_db()
    assert quote.lines.count() == 2 and quote.total == D("45215.60")


def test_the_cost_sheet_recalculates_live_with_margin_colours(quote, sales):
    client = login_client(sales)
    sheet = services.create_cost_sheet(sales, {"quote_id": quote.pk})
    page = client.get(f"/quotes/{quote.pk}/").content.decode()
    assert 'id="cost-sheet"' in page and "4,106.25" in page and "3,285.00" in page
    assert "text-bg-success" in page  # 17.88 % ≥ 12 % target
    key = str(quote.lines.get().pk)
    # Dearer cars: 150,000 → depreciation 2,187.50, financing 750.00, cost 3,872.50, margin at 4,000 = 3.19 % (red).
    preview = client.post(
        f"/quotes/cost-sheets/{sheet.pk}/preview/",
        {
            "financing_rate_pct": "6.00",
            "overhead_pct": "10.00",
            "target_margin_pct": "12.00",
            f"acquisition_cost-{key}": "150000.00",
        },
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert (
        "3,872.50" in preview
        and "3.19 %" in preview
        and "text-bg-danger" in preview
        and "margin-warning" in preview
    )
    sheet.refresh_from_db()
    assert sheet.lines.get().acquisition_cost == D("120000.00")  # a preview saves nothing


def test_an_amber_margin_between_10_percent_and_the_target(quote, sales):
    sheet = services.create_cost_sheet(sales, {"quote_id": quote.pk, "target_margin_pct": "20.00"})
    html = login_client(sales).get(f"/quotes/{quote.pk}/").content.decode()
    assert sheet.pk and "17.88 %" in html and "text-bg-warning" in html


def test_the_pages_take_the_quote_through_approval_and_sending(quote, sales, finance, manager, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    as_sales, as_finance, as_manager = login_client(sales), login_client(finance), login_client(manager)
    as_sales.post(f"/quotes/{quote.pk}/cost-sheets/new/")
    sheet = quote.cost_sheets.get()
    as_sales.post(f"/quotes/cost-sheets/{sheet.pk}/submit/")
    inbox = as_finance.get("/approvals/").content.decode()
    assert quote.quote_no in inbox
    as_finance.post(f"/quotes/cost-sheets/{sheet.pk}/approve/", {"next": "approvals"})
    as_sales.post(f"/quotes/cost-sheets/{sheet.pk}/apply/")
    as_sales.post(f"/quotes/{quote.pk}/submit/")
    assert Quote.objects.get(pk=quote.pk).status == "pending_approval"
    as_manager.post(f"/quotes/{quote.pk}/approve/", {"notes": "ok"})
    as_sales.post(f"/quotes/{quote.pk}/send/", {"email": "buyer@gulf-logistics.example"})
    quote.refresh_from_db()
    assert (quote.status, quote.sent_to, quote.total) == (
        "sent",
        "buyer@gulf-logistics.example",
        D("43115.63"),
    )


def test_a_refused_page_action_changes_nothing(quote, sales):
    client = login_client(sales)
    before = Quote.objects.values("status", "version").get(pk=quote.pk)
    response = client.post(f"/quotes/{quote.pk}/approve/")
    assert response.status_code == 403  # the role is refused, as everywhere
    assert Quote.objects.values("status", "version").get(pk=quote.pk) == before


def test_the_pdf_downloads_in_both_languages(quote, sales):
    client = login_client(sales)
    for language in ("en", "ar"):
        response = client.get(f"/quotes/{quote.pk}/pdf/{language}/")
        assert response.status_code == 200 and response.content.startswith(b"%PDF")
    assert client.get(f"/quotes/{quote.pk}/pdf/fr/").status_code == 404


def test_an_accepted_quote_becomes_rental_agreements(quote, sales, finance, manager, suv_vehicles, client):
    from .conftest import signature_png

    sheet = services.create_cost_sheet(sales, {"quote_id": quote.pk})
    services.submit_cost_sheet(sales, sheet.pk)
    services.approve_cost_sheet(finance, sheet.pk)
    services.submit_quote(sales, quote.pk)
    services.approve_quote(finance, quote.pk)
    _q, url = services.send_quote(sales, quote.pk)
    client.post(url[url.index("/q/") :] + "/accept", {"name": "Fatima", "signature": signature_png()})
    page = login_client(manager)
    line = quote.lines.get()
    page.post(
        f"/quotes/{quote.pk}/lines/{line.pk}/assign/", {"vehicle_id": [str(v.pk) for v in suv_vehicles[:2]]}
    )
    response = page.post(f"/quotes/{quote.pk}/convert/")
    assert response.status_code == 302
    from fleet.models import RentalAgreement

    agreements = list(
        RentalAgreement.objects.filter(agreement_no__startswith=quote.quote_no).order_by("agreement_no")
    )
    assert [a.agreement_no for a in agreements] == [f"{quote.quote_no}-01", f"{quote.quote_no}-02"]
    assert {a.monthly_rate for a in agreements} == {D("4000.00")}
    assert all(a.vehicle.status == "rented" for a in agreements)
    assert (agreements[0].end_at.year - agreements[0].start_at.year) * 12 + agreements[
        0
    ].end_at.month - agreements[0].start_at.month == 24


def test_live_totals_follow_the_vat_rate_and_skip_removed_or_unfinished_lines(quote, sales, suv):
    client = login_client(sales)
    line = quote.lines.get()
    lines = [
        {**suv_lines(suv, quantity=10, rate="4000.00")[0], "id": str(line.pk)},
        {**suv_lines(suv, quantity=3, rate="1000.00")[0], "DELETE": True},
        {**suv_lines(suv, quantity=2, rate="")[0]},
    ]
    data = _editor_post(quote, lines, vat_rate="15.00")
    html = client.post(f"/quotes/{quote.pk}/preview/", data, HTTP_HX_REQUEST="true").content.decode()
    # 10 × 4,000 = 40,000; the removed line and the one without a rate count nothing; VAT 15 % = 6,000.
    assert "VAT 15.00 %" in html and "6,000.00" in html and "46,000.00" in html
    # Each row's total lands in its own row, also after a removed one.
    assert 'id="line-total-0" hx-swap-oob="true"><bdi dir="ltr">40,000.00' in html
    assert 'id="line-total-1" hx-swap-oob="true"><bdi dir="ltr">—' in html
    assert 'id="line-total-2" hx-swap-oob="true"><bdi dir="ltr">—' in html
    assert Quote.objects.get(pk=quote.pk).total == D("42000.00")


def test_saving_a_stale_editor_is_refused_and_changes_nothing(quote, sales, suv):
    client = login_client(sales)
    line = quote.lines.get()
    services.update_quote(sales, quote.pk, {"notes": "changed by a colleague"})
    lines = [{**suv_lines(suv, quantity=11)[0], "id": str(line.pk)}]
    response = client.post(f"/quotes/{quote.pk}/", _editor_post(quote, lines), follow=True)
    assert "changed by someone else" in response.content.decode()
    stored = Quote.objects.get(pk=quote.pk)
    assert (stored.lines.get().quantity, stored.notes) == (10, "changed by a colleague")
