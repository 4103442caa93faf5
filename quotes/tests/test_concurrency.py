"""Races only a real database shows (PostgreSQL): quote numbers drawn at the same instant never repeat, a
cost sheet is decided once by two approvers clicking together, and a quote is accepted once when the
customer's link is used twice at the same time."""

import re

import pytest
from django.db import connection

from core.errors import InvalidTransition
from custodies.tests.test_concurrency import run_in_threads
from integrations.models import OutboxEvent
from quotes import services
from quotes.models import CostSheet, Quote

from .conftest import signature_png, suv_lines

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (concurrent writers)"),
    pytest.mark.django_db(transaction=True),
]


def test_quote_numbers_drawn_together_are_unique(sales, company, tax_profile, valid_until):
    def create(_index):
        return services.create_quote(sales, {"customer_id": company.pk, "valid_until": valid_until}).quote_no

    outcomes = run_in_threads(8, create)
    assert [error for _i, _r, error in outcomes if error] == []
    numbers = [result for _i, result, _e in outcomes]
    assert all(re.fullmatch(r"QT-\d{6,}", n) for n in numbers)
    assert len(set(numbers)) == 8 == Quote.objects.count()


def test_two_approvers_at_once_decide_a_sheet_once(
    sales, finance, second_finance, company, suv, defaults, tax_profile, valid_until
):
    quote = services.create_quote(
        sales, {"customer_id": company.pk, "valid_until": valid_until, "lines": suv_lines(suv)}
    )
    sheet = services.create_cost_sheet(sales, {"quote_id": quote.pk})
    services.submit_cost_sheet(sales, sheet.pk)
    approvers = [finance, second_finance]

    outcomes = run_in_threads(2, lambda i: str(services.approve_cost_sheet(approvers[i], sheet.pk).status))
    assert sorted(r for _i, r, _e in outcomes if r) == ["approved"]
    assert [type(e).__name__ for _i, _r, e in outcomes if e] == [InvalidTransition.__name__]
    assert CostSheet.objects.get(pk=sheet.pk).status == "approved"


def test_a_link_used_twice_at_once_accepts_once(
    sales, finance, company, suv, defaults, tax_profile, valid_until
):
    quote = services.create_quote(
        sales, {"customer_id": company.pk, "valid_until": valid_until, "lines": suv_lines(suv)}
    )
    sheet = services.create_cost_sheet(sales, {"quote_id": quote.pk})
    services.submit_cost_sheet(sales, sheet.pk)
    services.approve_cost_sheet(finance, sheet.pk)
    services.submit_quote(sales, quote.pk)
    services.approve_quote(finance, quote.pk)
    _quote, url = services.send_quote(sales, quote.pk)
    token, png = url.rsplit("/q/", 1)[1], signature_png()

    outcomes = run_in_threads(
        2, lambda i: str(services.accept_quote(token, f"Signer {i}", png, "10.0.0.1").status)
    )
    assert sorted(r for _i, r, _e in outcomes if r) == ["accepted"]
    assert [type(e).__name__ for _i, _r, e in outcomes if e] == [InvalidTransition.__name__]
    assert OutboxEvent.objects.filter(type="quote.accepted").count() == 1
