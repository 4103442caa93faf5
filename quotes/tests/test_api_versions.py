"""Optimistic locking in the API (DESIGN §15: "Updates use If-Match/version and answer 409 CONFLICT on a
stale version"): a quote's `version` and a cost sheet's `revision`. An edit must say which one it read
(428 PRECONDITION_REQUIRED without, like PATCH /users); an action may (If-Match), and a stale one is a
409 that changes nothing."""

from decimal import Decimal as D

import pytest

from audit.models import AuditEntry
from config.api import api
from integrations.models import OutboxEvent
from quotes.models import CostSheet, Quote

from .conftest import suv_lines

pytestmark = pytest.mark.django_db


@pytest.fixture
def created(api_as, sales, company, suv, defaults, tax_profile, valid_until):
    response = api_as(sales).post(
        "/api/v1/quotes",
        {"customer_id": str(company.pk), "valid_until": valid_until.isoformat(), "lines": suv_lines(suv)},
    )
    assert response.status_code == 201, response.content
    return response.json()


@pytest.fixture
def sheet(api_as, sales, created):
    response = api_as(sales).post("/api/v1/cost-sheets", {"quote_id": created["id"]})
    assert response.status_code == 201, response.content
    return response.json()


def _state():
    return (
        list(Quote.objects.order_by("pk").values_list("pk", "status", "version", "notes", "total")),
        list(
            CostSheet.objects.order_by("pk").values_list(
                "pk", "status", "revision", "overhead_pct", "decided_by"
            )
        ),
        AuditEntry.objects.count(),
        OutboxEvent.objects.count(),
    )


def _if_match(value) -> dict:
    return {"headers": {"HTTP_IF_MATCH": str(value)}}


# ---- quotes ---------------------------------------------------------------------------------------------


def test_a_quote_edit_without_the_version_is_428_and_changes_nothing(api_as, sales, created):
    before = _state()
    response = api_as(sales).patch(f"/api/v1/quotes/{created['id']}", {"notes": "lost update"})
    assert response.status_code == 428
    assert response.json()["error"]["code"] == "PRECONDITION_REQUIRED"
    assert "If-Match" in response.json()["error"]["details"]
    assert _state() == before


def test_a_quote_edit_with_a_stale_version_is_409_and_the_fresh_one_wins_once(api_as, sales, created):
    client, url = api_as(sales), f"/api/v1/quotes/{created['id']}"
    first = client.patch(url, {"notes": "Delivery to JAFZA"}, **_if_match(f'"{created["version"]}"'))
    assert first.status_code == 200 and first.json()["version"] == created["version"] + 1
    before = _state()
    second = client.patch(url, {"notes": "Delivery to Al Quoz"}, **_if_match(created["version"]))
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "CONFLICT"
    assert second.json()["error"]["details"] == {
        "version": created["version"] + 1,
        "expected_version": created["version"],
    }
    assert _state() == before
    assert Quote.objects.get(pk=created["id"]).notes == "Delivery to JAFZA"


def test_the_body_version_works_like_the_header_and_a_bad_header_is_422(api_as, sales, created):
    client, url = api_as(sales), f"/api/v1/quotes/{created['id']}"
    ok = client.patch(url, {"notes": "by body", "version": created["version"]})
    assert ok.status_code == 200 and ok.json()["notes"] == "by body"
    before = _state()
    bad = client.patch(url, {"notes": "x"}, **_if_match("abc"))
    assert bad.status_code == 422 and "If-Match" in bad.json()["error"]["details"]
    assert _state() == before


def test_the_role_is_refused_before_the_precondition(api_as, users, created):
    before = _state()
    response = api_as(users["viewer"]).patch(f"/api/v1/quotes/{created['id']}", {"notes": "x"})
    assert response.status_code == 403
    assert _state() == before


def test_a_quote_action_on_a_stale_version_is_409_and_changes_nothing(api_as, sales, finance, created, sheet):
    as_sales = api_as(sales)
    as_sales.post(f"/api/v1/cost-sheets/{sheet['id']}/submit")
    api_as(finance).post(f"/api/v1/cost-sheets/{sheet['id']}/approve")
    read = as_sales.get(f"/api/v1/quotes/{created['id']}").json()
    # Someone edits the quote after it was read: submitting what was read is refused.
    as_sales.patch(f"/api/v1/quotes/{created['id']}", {"notes": "changed"}, **_if_match(read["version"]))
    before = _state()
    stale = as_sales.post(f"/api/v1/quotes/{created['id']}/submit", **_if_match(read["version"]))
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "CONFLICT"
    assert _state() == before
    fresh = as_sales.post(f"/api/v1/quotes/{created['id']}/submit", **_if_match(read["version"] + 1))
    assert fresh.status_code == 200 and fresh.json()["status"] == "pending_approval"
    # Without If-Match an action still works (the version is optional on actions).
    approved = api_as(finance).post(f"/api/v1/quotes/{created['id']}/approve")
    assert approved.status_code == 200 and approved.json()["status"] == "approved"


# ---- cost sheets ----------------------------------------------------------------------------------------


def test_a_sheet_edit_needs_the_revision_read(api_as, sales, sheet):
    client, url = api_as(sales), f"/api/v1/cost-sheets/{sheet['id']}"
    assert sheet["revision"] == 1
    before = _state()
    missing = client.patch(url, {"overhead_pct": "9.00"})
    assert missing.status_code == 428 and missing.json()["error"]["code"] == "PRECONDITION_REQUIRED"
    assert _state() == before
    ok = client.patch(url, {"overhead_pct": "9.00"}, **_if_match(sheet["revision"]))
    assert ok.status_code == 200, ok.content
    body = ok.json()
    assert (body["revision"], body["overhead_pct"]) == (2, "9.00")
    # Recalculated by the one formula: overhead 9 % × 850.00 = 76.50; cost 1,750 + 600 + 850 + 76.50 = 3,276.50.
    assert (body["lines"][0]["overhead"], body["lines"][0]["total_monthly_cost"]) == ("76.50", "3276.50")
    before = _state()
    stale = client.patch(url, {"overhead_pct": "11.00"}, **_if_match(sheet["revision"]))
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "CONFLICT"
    assert stale.json()["error"]["details"] == {"version": 2, "expected_version": 1}
    assert _state() == before


def test_a_sheet_edit_changes_the_lines_sent_and_keeps_the_others(api_as, sales, created, sheet):
    line_id = created["lines"][0]["id"]
    response = api_as(sales).patch(
        f"/api/v1/cost-sheets/{sheet['id']}",
        {"revision": 1, "lines": [{"quote_line_id": line_id, "insurance_monthly": "450.00"}]},
    )
    assert response.status_code == 200, response.content
    line = response.json()["lines"][0]
    assert (line["insurance_monthly"], line["maintenance_monthly"], line["operating"]) == (
        "450.00",
        "300.00",
        "900.00",
    )
    bad = api_as(sales).patch(
        f"/api/v1/cost-sheets/{sheet['id']}",
        {"revision": 2, "lines": [{"quote_line_id": created["id"], "insurance_monthly": "1.00"}]},
    )
    assert bad.status_code == 422 and "lines.0.quote_line_id" in bad.json()["error"]["details"]


def test_a_submitted_sheet_cannot_be_edited(api_as, sales, sheet):
    client = api_as(sales)
    client.post(f"/api/v1/cost-sheets/{sheet['id']}/submit")
    before = _state()
    response = client.patch(f"/api/v1/cost-sheets/{sheet['id']}", {"overhead_pct": "1.00", "revision": 2})
    assert response.status_code == 409 and response.json()["error"]["code"] == "INVALID_TRANSITION"
    assert _state() == before


def test_finance_cannot_approve_figures_it_did_not_read(
    api_as, sales, finance, second_finance, created, sheet
):
    """Finance reads a submitted sheet; meanwhile a colleague rejects it and sales revises and resubmits
    it with other figures. Approving with the revision read is a conflict, not an approval."""
    as_sales, as_finance, as_colleague = api_as(sales), api_as(finance), api_as(second_finance)
    as_sales.post(f"/api/v1/cost-sheets/{sheet['id']}/submit")
    read = as_finance.get(f"/api/v1/cost-sheets/{sheet['id']}").json()
    assert read["status"] == "pending_approval"
    as_colleague.post(f"/api/v1/cost-sheets/{sheet['id']}/reject", {"reason": "Insurance is 450 now"})
    revised = as_sales.get(f"/api/v1/cost-sheets/{sheet['id']}").json()
    as_sales.patch(
        f"/api/v1/cost-sheets/{sheet['id']}",
        {"target_margin_pct": "5.00"},
        **_if_match(revised["revision"]),
    )
    as_sales.post(f"/api/v1/cost-sheets/{sheet['id']}/submit")
    before = _state()
    stale = as_finance.post(f"/api/v1/cost-sheets/{sheet['id']}/approve", **_if_match(read["revision"]))
    assert stale.status_code == 409 and stale.json()["error"]["code"] == "CONFLICT"
    assert _state() == before
    current = as_finance.get(f"/api/v1/cost-sheets/{sheet['id']}").json()
    assert current["target_margin_pct"] == "5.00"
    approved = as_finance.post(f"/api/v1/cost-sheets/{sheet['id']}/approve", **_if_match(current["revision"]))
    assert approved.status_code == 200 and approved.json()["status"] == "approved"
    assert approved.json()["revision"] == current["revision"] + 1


def test_apply_with_a_stale_revision_changes_no_rate(api_as, sales, finance, created, sheet):
    as_sales = api_as(sales)
    as_sales.post(f"/api/v1/cost-sheets/{sheet['id']}/submit")
    approved = api_as(finance).post(f"/api/v1/cost-sheets/{sheet['id']}/approve").json()
    before = _state()
    stale = as_sales.post(f"/api/v1/cost-sheets/{sheet['id']}/apply", **_if_match(approved["revision"] - 1))
    assert stale.status_code == 409
    assert _state() == before
    assert Quote.objects.get(pk=created["id"]).lines.get().monthly_rate == D("4000.00")
    ok = as_sales.post(f"/api/v1/cost-sheets/{sheet['id']}/apply", **_if_match(approved["revision"]))
    assert ok.status_code == 200
    assert Quote.objects.get(pk=created["id"]).lines.get().monthly_rate == D("4106.25")


def test_the_schema_documents_if_match_and_428_on_both_edits():
    schema = api.get_openapi_schema()
    for path in ("/api/v1/quotes/{quote_id}", "/api/v1/cost-sheets/{sheet_id}"):
        operation = schema["paths"][path]["patch"]
        assert {428, "428"} & set(operation["responses"])
        assert any(p["name"] == "If-Match" and p["in"] == "header" for p in operation["parameters"])
        assert "If-Match" in operation["description"]
    approve = schema["paths"]["/api/v1/cost-sheets/{sheet_id}/approve"]["post"]
    assert any(p["name"] == "If-Match" for p in approve["parameters"])
    assert "revision" in schema["components"]["schemas"]["CostSheetOut"]["properties"]
