"""Invoice numbers under concurrent finance users (PostgreSQL: real concurrent connections).

Tax invoices must be numbered without duplicates or gaps: eight finance sessions invoicing eight
custodies at the same instant get sixteen distinct, consecutive numbers (one per payer each).
"""

import re
import threading
from decimal import Decimal

import pytest
from django.db import connection

from accounts.choices import Role
from accounts.models import User
from audit.context import acting_as
from billing import services
from billing.models import Invoice
from custodies import services as custody_services
from custodies.tests.conftest import attach, draft_data

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(connection.vendor != "postgresql", reason="needs PostgreSQL (concurrent connections)"),
    pytest.mark.django_db(transaction=True),
]

THREADS = 8


def charge(user, custody, amount: str, who: str):
    data = {
        "charge_type": "damage",
        "description": "Scratched bumper",
        "quantity": "1",
        "unit_price": amount,
        "responsibility": who,
    }
    return services.post_charge(user, services.add_charge(user, custody.id, data).id)


def test_concurrent_invoices_get_distinct_consecutive_numbers(users, agreement, tax_profile):
    finance = users[Role.FINANCE]
    custodies = []
    with acting_as(users[Role.OPERATOR], "web"):
        for _ in range(THREADS):
            custody = custody_services.create_custody(users[Role.OPERATOR], draft_data(agreement, None))
            attach(custody, "incident_report", "photos", "customer_acknowledgment", "police_report")
            custody_services.submit_custody(users[Role.OPERATOR], custody.id)
            charge(finance, custody, "100.00", "customer")
            charge(finance, custody, "250.00", "insurance")
            custodies.append(custody)

    barrier = threading.Barrier(THREADS)
    results, errors = [None] * THREADS, []

    def invoice(index):
        user = User.objects.get(pk=finance.pk)  # one instance per thread
        try:
            barrier.wait(timeout=30)
            with acting_as(user, "api"):
                results[index] = [i.invoice_no for i in services.issue_invoices(user, custodies[index].id)]
        except Exception as exc:  # collected and asserted below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=invoice, args=(i,), daemon=True) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)

    assert errors == []
    numbers = [n for result in results for n in result]
    assert len(numbers) == 2 * THREADS
    assert all(re.fullmatch(r"INV-\d{6}", n) for n in numbers), numbers
    values = sorted(int(n.removeprefix("INV-")) for n in numbers)
    assert values == list(range(values[0], values[0] + 2 * THREADS))  # no duplicate, no gap
    assert Invoice.objects.count() == 2 * THREADS
    totals = sorted(Invoice.objects.values_list("total", flat=True))
    assert totals == [Decimal("105.00")] * THREADS + [Decimal("262.50")] * THREADS
