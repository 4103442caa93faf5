"""The quotes list as sales sees it: every filter (status, customer, branch, validity), search by number or
customer, ordering, the HTMX partial, and exports (CSV and XLSX) that hold exactly the filtered rows."""

import io
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.utils import timezone

from conftest import login_client, make_user
from fleet.models import Customer
from quotes import services
from quotes.models import Quote

from .conftest import suv_lines

pytestmark = pytest.mark.django_db


@pytest.fixture
def quotes(sales, company, person, suv, tax_profile, other_branch):
    today = timezone.localdate()
    hotel = Customer.objects.create(customer_no="C-900002", kind="company", full_name="Desert Rose Hotels")
    gulf = services.create_quote(
        sales,
        {"customer_id": company.pk, "valid_until": today + timedelta(days=10), "lines": suv_lines(suv)},
    )  # 42,000.00
    rose = services.create_quote(
        sales,
        {
            "customer_id": hotel.pk,
            "valid_until": today + timedelta(days=40),
            "lines": suv_lines(suv, quantity=2, rate="3000.00"),
        },
    )  # 6,300.00
    walk_in = services.create_quote(
        sales, {"customer_id": person.pk, "valid_until": today + timedelta(days=20)}
    )  # 0.00
    Quote.objects.filter(pk=rose.pk).update(status="sent")
    admin = make_user("admin", other_branch, email="auh-admin@example.com", all_branches=True)
    elsewhere = services.create_quote(
        admin,
        {"customer_id": company.pk, "valid_until": today + timedelta(days=5), "branch_id": other_branch.pk},
    )
    return {"gulf": gulf, "rose": rose, "walk_in": walk_in, "elsewhere": elsewhere, "admin": admin}


def _listed(client, **params) -> set[str]:
    html = client.get("/quotes/", params, HTTP_HX_REQUEST="true").content.decode()
    return {q.quote_no for q in Quote.objects.all() if q.quote_no in html}


def test_sales_sees_only_their_branches(quotes, sales):
    client = login_client(sales)
    page = client.get("/quotes/")
    assert page.status_code == 200 and 'id="quote-filters"' in page.content.decode()
    assert _listed(client) == {quotes[k].quote_no for k in ("gulf", "rose", "walk_in")}


def test_each_filter_narrows_the_list(quotes, sales, company, branch, other_branch):
    client, today = login_client(sales), timezone.localdate()
    no = {k: q.quote_no for k, q in quotes.items() if k != "admin"}
    assert _listed(client, status="sent") == {no["rose"]}
    assert _listed(client, status=["sent", "draft"]) == {no["gulf"], no["rose"], no["walk_in"]}
    assert _listed(client, customer_id=str(company.pk)) == {no["gulf"]}
    assert _listed(client, valid_from=(today + timedelta(days=15)).isoformat()) == {no["rose"], no["walk_in"]}
    assert _listed(client, valid_to=(today + timedelta(days=15)).isoformat()) == {no["gulf"]}
    assert _listed(client, branch_id=str(branch.pk)) == {no["gulf"], no["rose"], no["walk_in"]}
    admin = login_client(quotes["admin"])
    assert _listed(admin, branch_id=str(other_branch.pk)) == {no["elsewhere"]}


def test_search_finds_a_quote_by_number_or_customer(quotes, sales):
    client = login_client(sales)
    gulf = quotes["gulf"].quote_no
    assert _listed(client, q=gulf) == {gulf}
    assert _listed(client, q=gulf.lower()) == {gulf}
    assert _listed(client, q=gulf[3:]) == {gulf}  # the digits alone
    assert _listed(client, q="desert rose") == {quotes["rose"].quote_no}
    assert _listed(client, q="C-900002") == {quotes["rose"].quote_no}
    assert _listed(client, q="nobody at all") == set()


def test_ordering_by_total(quotes, sales):
    html = (
        login_client(sales).get("/quotes/", {"ordering": "-total"}, HTTP_HX_REQUEST="true").content.decode()
    )
    positions = [html.index(quotes[k].quote_no) for k in ("gulf", "rose", "walk_in")]
    assert positions == sorted(positions)  # 42,000.00, then 6,300.00, then 0.00


def test_invalid_filters_are_said_not_a_500(quotes, sales):
    response = login_client(sales).get("/quotes/", {"valid_from": "not a date", "status": "nonsense"})
    assert response.status_code == 200
    assert "Some filters are not valid." in response.content.decode()


def test_the_csv_export_holds_the_filtered_rows(quotes, sales):
    client = login_client(sales)
    response = client.get("/quotes/", {"format": "csv", "status": "sent"})
    assert response.status_code == 200
    rows = b"".join(response.streaming_content).decode().lstrip("\ufeff").splitlines()
    assert rows[0].startswith("Quote no.,Status,Customer")
    assert len(rows) == 2
    assert quotes["rose"].quote_no in rows[1] and "Desert Rose Hotels" in rows[1] and "6300.00" in rows[1]


def test_the_xlsx_export_holds_the_filtered_rows_with_numbers(quotes, sales):
    from openpyxl import load_workbook

    client = login_client(sales)
    response = client.get("/quotes/", {"format": "xlsx", "q": "Gulf"})
    assert response.status_code == 200
    data = b"".join(response.streaming_content) if response.streaming else response.content
    sheet = load_workbook(io.BytesIO(data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:3] == ("Quote no.", "Status", "Customer")
    assert len(rows) == 2
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["Quote no."] == quotes["gulf"].quote_no
    assert D(str(row["Total"])) == D("42000.00") and D(str(row["VAT"])) == D("2000.00")
