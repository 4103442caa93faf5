"""Issue 12: invoice numbers under concurrent invoicing (PostgreSQL: real row locks between
connections). Finance users invoicing different custodies at the same instant never get the same
number, and the numbers that commit leave no gap (a tax invoice series must be continuous)."""

import re

import pytest
from django.db import connection

from accounts.choices import Role
from audit.context import acting_as
from billing import services
from billing.models import Invoice
from custodies import services as custody_services
from custodies.tests.conftest import attach, draft_data
from custodies.tests.test_concurrency import fresh_user, run_in_threads, seeded_defaults  # noqa: F401

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        connection.vendor != "postgresql", reason="needs PostgreSQL (row locks between connections)"
    ),
    pytest.mark.django_db(transaction=True),
]

WORKERS = 6


def _invoiceable_custody(users, agreement, tax_profile):
    operator, finance = users[Role.OPERATOR], users[Role.FINANCE]
    data = draft_data(
        agreement, None, reason_code="maintenance", reason_subcode="regular_service", rate_policy="free"
    )
    with acting_as(operator, "web"):
        custody = custody_services.create_custody(operator, data)
    attach(custody, "customer_acknowledgment", "incident_report", "photos")
    with acting_as(operator, "web"):
        custody_services.submit_custody(operator, custody.pk)  # maintenance, free: approved by the rules
    custody.refresh_from_db()
    with acting_as(finance, "web"):
        for payer in ("customer", "insurance"):
            charge = services.add_charge(
                finance,
                custody.pk,
                {
                    "charge_type": "damage",
                    "description": "Scratch",
                    "quantity": "1",
                    "unit_price": "100.00",
                    "responsibility": payer,
                },
            )
            services.post_charge(finance, charge.pk)
    return custody


def test_concurrent_invoicing_gives_unique_gapless_numbers(users, agreement, tax_profile):
    custodies = [_invoiceable_custody(users, agreement, tax_profile) for _ in range(WORKERS)]
    finance = users[Role.FINANCE]

    def invoice(index):
        user = fresh_user(finance)
        with acting_as(user, "web"):
            return [i.invoice_no for i in services.issue_invoices(user, custodies[index].pk)]

    outcomes = run_in_threads(WORKERS, invoice)
    errors = [error for _i, _result, error in outcomes if error is not None]
    assert errors == []
    numbers = [n for _i, result, _e in outcomes for n in result]
    assert len(numbers) == 2 * WORKERS == len(set(numbers))  # one per payer per custody, never twice
    values = sorted(int(re.fullmatch(r"INV-(\d+)", n).group(1)) for n in numbers)
    assert values == list(range(values[0], values[0] + len(values)))  # no gap
    assert Invoice.objects.count() == 2 * WORKERS
