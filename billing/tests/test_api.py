import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from accounts.choices import Role
from billing.models import Payment
from billing.tests.conftest import close
from conftest import ApiClient, make_user

pytestmark = pytest.mark.django_db


def test_finance_settles_a_closed_custody_to_zero_through_the_api(users, active_custody):
    close(active_custody, users[Role.OPERATOR])
    finance = ApiClient(users[Role.FINANCE])
    base = f"/api/v1/custodies/{active_custody.id}"
    damage = finance.post(
        f"{base}/charges",
        {
            "charge_type": "damage",
            "description": "Dent on the door",
            "quantity": "1",
            "unit_price": "300.00",
            "responsibility": "customer",
        },
    )
    assert damage.status_code == 201, damage.json()
    assert (damage.json()["subtotal"], damage.json()["tax_amount"], damage.json()["total"]) == (
        "300.00",
        "15.00",
        "315.00",
    )
    posted = finance.post(f"/api/v1/charges/{damage.json()['id']}/post")
    assert posted.json()["status"] == "posted"
    balance = finance.get(f"/api/v1/custodies/{active_custody.id}").json()["balance"]
    assert balance["outstanding"] == "472.50"  # rental 150 + 5 % = 157.50, damage 315.00
    payment = finance.post(
        f"{base}/payments",
        {"amount": "472.50", "method": "card", "payer": "customer", "reference": "POS-991"},
    )
    assert payment.status_code == 201, payment.json()
    balance = finance.get(f"{base}/balance").json()
    assert (balance["charged"], balance["paid"], balance["outstanding"]) == ("472.50", "472.50", "0.00")
    statuses = {c["status"] for c in finance.get(f"{base}/charges").json()["items"]}
    assert statuses == {"paid"}


def test_charge_errors_have_the_error_shape(users, active_custody):
    client = ApiClient(users[Role.OPERATOR])
    base = f"/api/v1/custodies/{active_custody.id}"
    bad = client.post(
        f"{base}/charges",
        {
            "charge_type": "damage",
            "description": "x",
            "quantity": "0",
            "unit_price": "-1",
            "responsibility": "customer",
        },
    )
    assert bad.status_code == 422
    assert set(bad.json()["error"]["details"]) >= {"quantity", "unit_price"}
    draft = client.post(
        f"{base}/charges",
        {
            "charge_type": "damage",
            "description": "x",
            "quantity": "1",
            "unit_price": "10",
            "responsibility": "customer",
        },
    ).json()
    forbidden = client.post(f"/api/v1/charges/{draft['id']}/post")
    assert forbidden.status_code == 403
    assert forbidden.json()["error"]["code"] == "PERMISSION_DENIED"
    no_reason = ApiClient(users[Role.FINANCE]).post(f"/api/v1/charges/{draft['id']}/void", {})
    assert no_reason.status_code == 422


def test_a_retried_payment_with_the_same_key_is_recorded_once(users, active_custody):
    client = ApiClient(users[Role.FINANCE])
    body = {"amount": "50.00", "method": "cash", "payer": "customer", "as_credit": True}
    url = f"/api/v1/custodies/{active_custody.id}/payments"
    first = client.post(url, body, HTTP_IDEMPOTENCY_KEY="pay-1")
    second = client.post(url, body, HTTP_IDEMPOTENCY_KEY="pay-1")
    assert first.status_code == second.status_code == 201
    assert first.json()["id"] == second.json()["id"]
    assert Payment.objects.filter(custody=active_custody).count() == 1


class _ProcessKilled(BaseException):
    """Stands in for SIGKILL mid-request: no except/finally of the app's own code gets to clean up."""


def test_a_payment_killed_mid_flight_can_be_retried_after_the_lease(users, active_custody, monkeypatch):
    from billing import services as billing_services
    from ops.idempotency import LEASE
    from ops.models import IdempotencyRecord

    client = ApiClient(users[Role.FINANCE])
    body = {"amount": "40.00", "method": "cash", "payer": "customer", "as_credit": True}
    url = f"/api/v1/custodies/{active_custody.id}/payments"
    real = billing_services.record_payment

    def dies(*args, **kwargs):
        raise _ProcessKilled

    monkeypatch.setattr(billing_services, "record_payment", dies)
    with pytest.raises(_ProcessKilled):
        client.post(url, body, HTTP_IDEMPOTENCY_KEY="pay-crash")
    monkeypatch.setattr(billing_services, "record_payment", real)
    record = IdempotencyRecord.objects.get(key="pay-crash")
    assert record.status_code is None  # what the dead process left behind

    still_running = client.post(url, body, HTTP_IDEMPOTENCY_KEY="pay-crash")
    assert still_running.status_code == 409  # within the lease the first attempt may still be alive

    IdempotencyRecord.objects.filter(pk=record.pk).update(created_at=timezone.now() - LEASE - LEASE / 60)
    retried = client.post(url, body, HTTP_IDEMPOTENCY_KEY="pay-crash")
    assert retried.status_code == 201, retried.content
    replay = client.post(url, body, HTTP_IDEMPOTENCY_KEY="pay-crash")
    assert replay.status_code == 201 and replay.json()["id"] == retried.json()["id"]
    assert Payment.objects.filter(custody=active_custody).count() == 1


def test_a_payment_killed_after_its_write_but_before_its_result_is_not_recorded_twice(
    users, active_custody, monkeypatch
):
    """The write and the stored result commit together: a process killed between them (after
    record_payment returned, before the key got its result) leaves neither, so the retry after the
    lease records the payment once."""
    from ops import idempotency
    from ops.models import IdempotencyRecord

    client = ApiClient(users[Role.FINANCE])
    body = {"amount": "40.00", "method": "cash", "payer": "customer", "as_credit": True}
    url = f"/api/v1/custodies/{active_custody.id}/payments"
    real_save = IdempotencyRecord.save

    def dies_while_storing_the_result(self, *args, **kwargs):
        if kwargs.get("update_fields"):
            raise _ProcessKilled
        return real_save(self, *args, **kwargs)

    monkeypatch.setattr(IdempotencyRecord, "save", dies_while_storing_the_result)
    with pytest.raises(_ProcessKilled):
        client.post(url, body, HTTP_IDEMPOTENCY_KEY="pay-late-crash")
    monkeypatch.setattr(IdempotencyRecord, "save", real_save)
    assert Payment.objects.filter(custody=active_custody).count() == 0  # rolled back with the result
    record = IdempotencyRecord.objects.get(key="pay-late-crash")
    assert record.status_code is None
    IdempotencyRecord.objects.filter(pk=record.pk).update(
        created_at=timezone.now() - idempotency.lease() - timedelta(seconds=1)
    )
    retried = client.post(url, body, HTTP_IDEMPOTENCY_KEY="pay-late-crash")
    assert retried.status_code == 201, retried.content
    assert client.post(url, body, HTTP_IDEMPOTENCY_KEY="pay-late-crash").json()["id"] == retried.json()["id"]
    assert Payment.objects.filter(custody=active_custody).count() == 1


def test_charges_of_another_branch_are_not_found(users, active_custody, other_branch):
    charge = (
        ApiClient(users[Role.OPERATOR])
        .post(
            f"/api/v1/custodies/{active_custody.id}/charges",
            {
                "charge_type": "other",
                "description": "x",
                "quantity": "1",
                "unit_price": "1",
                "responsibility": "customer",
            },
        )
        .json()
    )
    outsider = ApiClient(make_user(Role.FINANCE, other_branch, email="fin-auh@example.com"))
    assert outsider.get(f"/api/v1/charges/{charge['id']}").status_code == 404
    assert outsider.post(f"/api/v1/charges/{charge['id']}/post").status_code == 404
    assert outsider.get("/api/v1/charges").json()["count"] == 0


def test_the_finance_list_filters(users, active_custody):
    client = ApiClient(users[Role.FINANCE])
    drafts = client.get("/api/v1/charges?status=draft&charge_type=replacement_rental").json()
    assert drafts["count"] == 1
    assert client.get("/api/v1/charges?status=posted").json()["count"] == 0
    assert client.get("/api/v1/charges?status=bogus").status_code == 422


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_simultaneous_payments_with_one_key_record_one_payment(users, active_custody):
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (concurrent connections)")
    client_a, client_b = ApiClient(users[Role.FINANCE]), ApiClient(users[Role.FINANCE])
    url = f"/api/v1/custodies/{active_custody.id}/payments"
    body = {
        "amount": "25.00",
        "method": "card",
        "payer": "customer",
        "received_at": timezone.now().isoformat(),
        "as_credit": True,
    }
    barrier = threading.Barrier(2)
    codes = []

    def pay(client):
        try:
            barrier.wait()
            codes.append(client.post(url, body, HTTP_IDEMPOTENCY_KEY="same-key").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=pay, args=(c,)) for c in (client_a, client_b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert Payment.objects.filter(custody=active_custody).count() == 1
    assert sorted(codes) in ([201, 201], [201, 409])
    assert sum(Payment.objects.values_list("amount", flat=True), Decimal("0")) == Decimal("25.00")


# ---- statements per write (issue #14; custodies/tests/test_write_cost.py has the custody's own) -------


@pytest.fixture
def warm_operator(users):
    api = ApiClient(users[Role.OPERATOR])
    api.get("/api/v1/custodies?limit=1")  # the token's first use: its lookup and last-used stamp
    return api


def test_adding_a_charge_runs_a_fixed_number_of_statements(
    warm_operator, active_custody, django_assert_num_queries
):
    body = {
        "charge_type": "damage",
        "description": "Dent",
        "unit_price": "100.00",
        "responsibility": "customer",
    }
    # The default tax rate is kept per process (core.kept) since the handover's rental line read it.
    with django_assert_num_queries(6):
        response = warm_operator.post(f"/api/v1/custodies/{active_custody.id}/charges", body)
    assert response.status_code == 201, response.json()


def test_recording_a_payment_runs_a_fixed_number_of_statements(
    users, warm_operator, active_custody, django_assert_num_queries
):
    from billing import services

    charge = services.add_charge(
        users[Role.OPERATOR],
        active_custody.id,
        {
            "charge_type": "damage",
            "description": "Dent",
            "unit_price": "100.00",
            "responsibility": "customer",
        },
    )
    services.post_charge(users[Role.FINANCE], charge.pk)
    body = {"amount": "50.00", "method": "cash", "payer": "customer"}
    with django_assert_num_queries(11):
        response = warm_operator.post(f"/api/v1/custodies/{active_custody.id}/payments", body)
    assert response.status_code == 201, response.json()
