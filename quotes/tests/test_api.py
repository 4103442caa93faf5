"""The §15.2 contract: paths, fields, error envelope, If-Match, scoping and refused actions changing nothing."""

import pytest

from audit.models import AuditEntry
from integrations.models import OutboxEvent
from quotes.models import Quote

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


def _unchanged():
    return (
        list(Quote.objects.values_list("pk", "status", "version", "total")),
        AuditEntry.objects.count(),
        OutboxEvent.objects.count(),
    )


def test_the_quote_answer_has_the_contract_fields(created):
    assert {
        "id",
        "quote_no",
        "status",
        "customer_id",
        "valid_until",
        "lines",
        "subtotal",
        "vat_amount",
        "total",
        "version",
        "allowed_actions",
        "cost_sheet_id",
    } <= set(created)
    assert set(created["allowed_actions"]) == {"edit", "submit"}
    assert {"id", "quantity", "term_months", "monthly_rate", "line_total", "maintenance_included"} <= set(
        created["lines"][0]
    )


def test_patch_needs_the_current_version(api_as, sales, created):
    client = api_as(sales)
    url = f"/api/v1/quotes/{created['id']}"
    before = _unchanged()
    stale = client.patch(url, {"notes": "x"}, headers={"HTTP_IF_MATCH": str(created["version"] + 5)})
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "CONFLICT"
    assert _unchanged() == before
    fresh = client.patch(
        url, {"notes": "Delivery to JAFZA"}, headers={"HTTP_IF_MATCH": str(created["version"])}
    )
    assert fresh.status_code == 200
    assert (fresh.json()["notes"], fresh.json()["version"]) == ("Delivery to JAFZA", created["version"] + 1)


def test_errors_use_the_envelope_and_change_nothing(api_as, sales, users, created):
    before = _unchanged()
    bad = api_as(sales).post(
        "/api/v1/quotes", {"customer_id": created["customer_id"], "valid_until": "2001-01-01"}
    )
    assert bad.status_code == 422
    assert (
        bad.json()["error"]["code"] == "VALIDATION_ERROR" and "valid_until" in bad.json()["error"]["details"]
    )
    forbidden = api_as(users["viewer"]).post(f"/api/v1/quotes/{created['id']}/submit")
    assert forbidden.status_code == 403 and forbidden.json()["error"]["code"] == "PERMISSION_DENIED"
    wrong_state = api_as(users["manager"]).post(f"/api/v1/quotes/{created['id']}/approve")
    assert wrong_state.status_code == 409 and wrong_state.json()["error"]["code"] == "INVALID_TRANSITION"
    no_reason = api_as(users["manager"]).post(f"/api/v1/quotes/{created['id']}/reject", {})
    assert no_reason.status_code == 422
    missing = api_as(sales).get("/api/v1/quotes/00000000-0000-0000-0000-000000000000")
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "NOT_FOUND"
    assert _unchanged() == before


def test_a_quote_of_another_branch_is_not_found(api_as, created, other_branch):
    from conftest import make_user

    outsider = make_user("manager", other_branch, email="auh-manager@example.com")
    before = _unchanged()
    assert api_as(outsider).get(f"/api/v1/quotes/{created['id']}").status_code == 404
    assert api_as(outsider).post(f"/api/v1/quotes/{created['id']}/submit").status_code == 404
    assert api_as(outsider).get("/api/v1/quotes").json()["count"] == 0
    assert _unchanged() == before


def test_the_list_filters_by_status_and_customer(api_as, sales, created, person, valid_until):
    client = api_as(sales)
    client.post("/api/v1/quotes", {"customer_id": str(person.pk), "valid_until": valid_until.isoformat()})
    assert client.get("/api/v1/quotes").json()["count"] == 2
    only = client.get("/api/v1/quotes", {"customer_id": created["customer_id"]}).json()
    assert [q["id"] for q in only["items"]] == [created["id"]]
    assert client.get("/api/v1/quotes", {"status": "sent"}).json()["count"] == 0
    assert client.get("/api/v1/quotes", {"status": "nonsense"}).status_code == 422


def test_cost_sheet_values_override_the_defaults(api_as, sales, created):
    line_id = created["lines"][0]["id"]
    response = api_as(sales).post(
        "/api/v1/cost-sheets",
        {
            "quote_id": created["id"],
            "financing_rate_pct": "5.50",
            "overhead_pct": "8.00",
            "target_margin_pct": "15.00",
            "lines": [
                {
                    "quote_line_id": line_id,
                    "acquisition_cost": "150000.00",
                    "maintenance_monthly": "350.00",
                    "insurance_monthly": "450.00",
                    "registration_monthly": "60.00",
                    "roadside_monthly": "25.00",
                    "replacement_monthly": "90.00",
                    "other_monthly": "0.00",
                }
            ],
        },
    )
    assert response.status_code == 201, response.content
    line = response.json()["lines"][0]
    # The worked example at 24 months: depreciation 150,000 × 0.35 / 24 = 2,187.50; financing 687.50;
    # operating 975.00; overhead 78.00; total 3,928.00; suggested 3,928 / 0.85 × 1.10 = 5,083.29.
    assert (line["depreciation"], line["financing"], line["operating"], line["overhead"]) == (
        "2187.50",
        "687.50",
        "975.00",
        "78.00",
    )
    assert (line["total_monthly_cost"], line["suggested_rate"]) == ("3928.00", "5083.29")
    assert line["actual_margin_pct"] == "1.80"  # (4,000 − 3,928) / 4,000
    assert line["margin_colour"] == "danger"


def test_a_sheet_for_a_quote_of_another_branch_is_refused(api_as, created, other_branch):
    from conftest import make_user

    outsider = make_user("finance", other_branch, email="auh-finance@example.com")
    response = api_as(outsider).post("/api/v1/cost-sheets", {"quote_id": created["id"]})
    assert response.status_code == 422 and "quote_id" in response.json()["error"]["details"]


def test_the_idempotency_key_replays_a_create(api_as, sales, company, valid_until, tax_profile):
    client = api_as(sales)
    body = {"customer_id": str(company.pk), "valid_until": valid_until.isoformat()}
    first = client.post("/api/v1/quotes", body, headers={"HTTP_IDEMPOTENCY_KEY": "quote-1"})
    again = client.post("/api/v1/quotes", body, headers={"HTTP_IDEMPOTENCY_KEY": "quote-1"})
    assert first.status_code == again.status_code == 201
    assert first.json()["id"] == again.json()["id"] and Quote.objects.count() == 1


def test_the_openapi_schema_documents_the_quote_paths(client):
    schema = client.get("/api/openapi.json").json()
    for path in (
        "/api/v1/quotes",
        "/api/v1/quotes/{quote_id}",
        "/api/v1/quotes/{quote_id}/send",
        "/api/v1/cost-sheets",
        "/api/v1/cost-sheets/{sheet_id}/apply",
    ):
        assert path in schema["paths"]
