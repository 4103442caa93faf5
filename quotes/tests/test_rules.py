"""Segregation of duties, the transition tables and obsolescence: every refused action changes nothing."""

import re
from datetime import timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from audit.models import AuditEntry
from core.errors import InvalidTransition, ValidationFailed
from integrations.models import OutboxEvent
from quotes import services
from quotes.models import CostSheet, Quote

from .conftest import suv_lines

pytestmark = pytest.mark.django_db


def _state():
    """Everything a refused action must leave alone."""
    return (
        list(Quote.objects.order_by("pk").values_list("pk", "status", "version", "subtotal", "total")),
        list(CostSheet.objects.order_by("pk").values_list("pk", "status", "revision")),
        AuditEntry.objects.count(),
        OutboxEvent.objects.count(),
    )


def _refused(exc_type, fn, *args, **kwargs):
    before = _state()
    with pytest.raises(exc_type):
        fn(*args, **kwargs)
    assert _state() == before


@pytest.fixture
def quote(sales, company, suv, defaults, tax_profile, valid_until):
    return services.create_quote(
        sales, {"customer_id": company.pk, "valid_until": valid_until, "lines": suv_lines(suv)}
    )


@pytest.fixture
def approved_sheet(quote, sales, finance):
    sheet = services.create_cost_sheet(sales, {"quote_id": quote.pk})
    services.submit_cost_sheet(sales, sheet.pk)
    return services.approve_cost_sheet(finance, sheet.pk)


def test_quote_numbers_are_sequential_and_never_reused(sales, company, suv, tax_profile, valid_until):
    first = services.create_quote(sales, {"customer_id": company.pk, "valid_until": valid_until})
    second = services.create_quote(sales, {"customer_id": company.pk, "valid_until": valid_until})
    # PostgreSQL sequences are not rolled back between tests, so compare the numbers, not fixed values.
    assert re.fullmatch(r"QT-\d{6,}", first.quote_no)
    assert int(second.quote_no[3:]) == int(first.quote_no[3:]) + 1


def test_the_submitter_of_a_cost_sheet_never_approves_it(quote, finance, second_finance):
    sheet = services.create_cost_sheet(finance, {"quote_id": quote.pk})
    services.submit_cost_sheet(finance, sheet.pk)
    _refused(PermissionDenied, services.approve_cost_sheet, finance, sheet.pk)
    _refused(PermissionDenied, services.reject_cost_sheet, finance, sheet.pk, "no")
    assert services.allowed_sheet_actions(finance, CostSheet.objects.get(pk=sheet.pk)) == []
    assert services.approve_cost_sheet(second_finance, sheet.pk).status == "approved"


def test_the_submitter_of_a_quote_never_approves_it(quote, approved_sheet, manager, finance):
    services.submit_quote(manager, quote.pk)
    _refused(PermissionDenied, services.approve_quote, manager, quote.pk)
    _refused(PermissionDenied, services.reject_quote, manager, quote.pk, "no")
    assert services.approve_quote(finance, quote.pk).status == "approved"


def test_sales_roles_cannot_approve_and_viewers_cannot_build(quote, approved_sheet, sales, users):
    services.submit_quote(sales, quote.pk)
    for role in ("operator", "supervisor", "viewer"):
        _refused(PermissionDenied, services.approve_quote, users[role], quote.pk)
    _refused(PermissionDenied, services.create_quote, users["viewer"], {"customer_id": quote.customer_id})


def test_role_is_checked_before_state(quote, users):
    # A viewer asking to approve a draft is told "forbidden", not "wrong state".
    _refused(PermissionDenied, services.approve_quote, users["viewer"], quote.pk)
    _refused(InvalidTransition, services.approve_quote, users["manager"], quote.pk)


def test_a_corporate_quote_needs_an_approved_current_sheet(quote, sales, finance):
    _refused(ValidationFailed, services.submit_quote, sales, quote.pk)
    sheet = services.create_cost_sheet(sales, {"quote_id": quote.pk})
    _refused(ValidationFailed, services.submit_quote, sales, quote.pk)
    services.submit_cost_sheet(sales, sheet.pk)
    _refused(ValidationFailed, services.submit_quote, sales, quote.pk)
    services.approve_cost_sheet(finance, sheet.pk)
    assert services.submit_quote(sales, quote.pk).status == "pending_approval"


def test_a_personal_customers_quote_needs_no_sheet(sales, person, suv, tax_profile, valid_until):
    quote = services.create_quote(
        sales, {"customer_id": person.pk, "valid_until": valid_until, "lines": suv_lines(suv, quantity=1)}
    )
    assert services.submit_quote(sales, quote.pk).status == "pending_approval"


def test_changing_the_lines_makes_the_sheet_obsolete(quote, approved_sheet, sales):
    line = quote.lines.get()
    services.update_quote(
        sales,
        quote.pk,
        {"lines": [{**suv_lines(quote.lines.get().vehicle_class)[0], "id": str(line.pk), "quantity": 12}]},
    )
    approved_sheet.refresh_from_db()
    assert approved_sheet.status == "obsolete"
    assert services.current_sheet(Quote.objects.get(pk=quote.pk)) is None
    _refused(ValidationFailed, services.submit_quote, sales, quote.pk)


def test_saving_the_same_lines_keeps_the_sheet(quote, approved_sheet, sales):
    line = quote.lines.get()
    same = [{**suv_lines(line.vehicle_class)[0], "id": str(line.pk)}]
    version = Quote.objects.get(pk=quote.pk).version
    services.update_quote(sales, quote.pk, {"lines": same, "notes": ""})
    assert Quote.objects.get(pk=quote.pk).version == version
    approved_sheet.refresh_from_db()
    assert approved_sheet.status == "approved"


def test_a_new_sheet_version_replaces_the_previous_one(quote, approved_sheet, sales):
    second = services.create_cost_sheet(sales, {"quote_id": quote.pk, "target_margin_pct": "20.00"})
    approved_sheet.refresh_from_db()
    assert (second.version, approved_sheet.status) == (2, "obsolete")
    # The new version starts from the previous one's costs.
    assert second.lines.get().acquisition_cost == D("120000.00")


def test_apply_copies_the_suggested_rates_and_keeps_the_sheet_current(quote, approved_sheet, sales):
    services.apply_cost_sheet(sales, approved_sheet.pk)
    quote.refresh_from_db()
    assert quote.lines.get().monthly_rate == D("4106.25")
    assert (quote.subtotal, quote.vat_amount, quote.total) == (D("41062.50"), D("2053.13"), D("43115.63"))
    assert services.current_sheet(quote).pk == approved_sheet.pk


def test_an_unapproved_sheet_cannot_be_applied(quote, sales):
    sheet = services.create_cost_sheet(sales, {"quote_id": quote.pk})
    _refused(InvalidTransition, services.apply_cost_sheet, sales, sheet.pk)


def test_a_submitted_quote_cannot_be_edited_or_repriced(quote, approved_sheet, sales):
    services.submit_quote(sales, quote.pk)
    _refused(InvalidTransition, services.update_quote, sales, quote.pk, {"notes": "late change"})
    _refused(InvalidTransition, services.apply_cost_sheet, sales, approved_sheet.pk)
    _refused(InvalidTransition, services.create_cost_sheet, sales, {"quote_id": quote.pk})


def test_a_stale_version_is_a_conflict(quote, sales):
    from core.errors import Conflict

    _refused(
        Conflict, services.update_quote, sales, quote.pk, {"notes": "x"}, expected_version=quote.version - 1
    )


def test_a_rejected_quote_goes_back_to_draft_with_the_reason(quote, approved_sheet, sales, finance):
    services.submit_quote(sales, quote.pk)
    _refused(ValidationFailed, services.reject_quote, finance, quote.pk, "  ")
    rejected = services.reject_quote(finance, quote.pk, "Margin too thin for a 24-month lease")
    assert (rejected.status, rejected.last_reject_reason) == ("draft", "Margin too thin for a 24-month lease")


def test_a_rejected_sheet_can_be_revised(quote, sales, finance):
    sheet = services.create_cost_sheet(sales, {"quote_id": quote.pk})
    services.submit_cost_sheet(sales, sheet.pk)
    services.reject_cost_sheet(finance, sheet.pk, "Insurance is 450 now")
    revised = services.update_cost_sheet(
        sales,
        sheet.pk,
        {"lines": [{"quote_line_id": str(quote.lines.get().pk), "insurance_monthly": "450.00"}]},
    )
    assert revised.status == "draft"
    assert revised.lines.get().insurance_monthly == D("450.00")


def test_the_daily_job_expires_open_quotes_once(quote, sales, company, valid_until, suv):
    sent_too = services.create_quote(sales, {"customer_id": company.pk, "valid_until": valid_until})
    Quote.objects.filter(pk__in=[quote.pk, sent_too.pk]).update(
        valid_until=timezone.localdate() - timedelta(days=1)
    )
    still_valid = services.create_quote(sales, {"customer_id": company.pk, "valid_until": valid_until})

    assert services.expire_quotes() == {"expired": 2}
    assert services.expire_quotes() == {"expired": 0}
    assert set(Quote.objects.filter(status="expired").values_list("pk", flat=True)) == {quote.pk, sent_too.pk}
    assert Quote.objects.get(pk=still_valid.pk).status == "draft"
    assert OutboxEvent.objects.filter(type="quote.expired").count() == 2


def test_the_expiry_job_is_registered(quote):
    from ops.jobs import all_jobs

    assert "quote_expiry" in {job.name for job in all_jobs()}


def test_lines_are_validated(sales, company, suv, suv_vehicles, valid_until, tax_profile):
    bad = [
        {"quantity": 1, "term_months": 24, "monthly_rate": "100.00"},
        {"vehicle_class_id": str(suv.pk), "quantity": 0, "term_months": 99, "monthly_rate": "-1"},
        {"vehicle_id": str(suv_vehicles[0].pk), "quantity": 2, "term_months": 12, "monthly_rate": "1.234"},
    ]
    before = _state()
    with pytest.raises(ValidationFailed) as exc:
        services.create_quote(sales, {"customer_id": company.pk, "valid_until": valid_until, "lines": bad})
    assert set(exc.value.details) == {
        "lines.0.vehicle_class_id",
        "lines.1.quantity",
        "lines.1.term_months",
        "lines.1.monthly_rate",
        "lines.2.quantity",
        "lines.2.monthly_rate",
    }
    assert _state() == before


def test_a_quote_outside_the_users_branches_does_not_exist_for_them(quote, other_branch):
    from conftest import make_user

    stranger = make_user("manager", other_branch, email="elsewhere@example.com")
    from core.errors import NotFound

    _refused(NotFound, services.update_quote, stranger, quote.pk, {"notes": "x"})
