"""After the customer: the daily expiry through the worker's scheduler (quote.expired to the outbox and on
to webhooks), and an accepted quote's lines turned into rental agreements, one per vehicle; every refused
step changes nothing."""

from datetime import datetime, time, timedelta
from decimal import Decimal as D

import pytest
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from audit.models import AuditEntry
from conftest import make_vehicle
from core.errors import Conflict, InvalidTransition, ValidationFailed
from fleet.models import RentalAgreement, Vehicle
from integrations.models import OutboxEvent, WebhookDelivery, WebhookEndpoint
from integrations.services import dispatch_event
from ops.jobs import run_due_jobs
from quotes import services
from quotes.models import Quote, QuoteAssignment

from .conftest import signature_png, suv_lines

pytestmark = pytest.mark.django_db


def _sent(sales, finance, customer, lines, valid_until):
    quote = services.create_quote(
        sales, {"customer_id": customer.pk, "valid_until": valid_until, "lines": lines}
    )
    if customer.kind == "company":
        sheet = services.create_cost_sheet(sales, {"quote_id": quote.pk})
        services.submit_cost_sheet(sales, sheet.pk)
        services.approve_cost_sheet(finance, sheet.pk)
    services.submit_quote(sales, quote.pk)
    services.approve_quote(finance, quote.pk)
    quote, url = services.send_quote(sales, quote.pk)
    return quote, url.rsplit("/q/", 1)[1]


def _local(day, hour=0, minute=0):
    return timezone.make_aware(datetime.combine(day, time(hour, minute)))


# ---- expiry ----------------------------------------------------------------------------------------------


def test_the_scheduled_job_expires_quotes_the_day_after_valid_until_and_emits_quote_expired(
    sales, finance, company, suv, defaults, tax_profile, client
):
    today = timezone.localdate()
    quote, token = _sent(sales, finance, company, suv_lines(suv), today)
    draft = services.create_quote(
        sales, {"customer_id": company.pk, "valid_until": today + timedelta(days=1)}
    )
    hook = WebhookEndpoint.objects.create(
        name="CRM", url="http://127.0.0.1:9/hook", secret="s" * 32, events=["quote.expired"]
    )
    WebhookEndpoint.objects.create(
        name="Other", url="http://127.0.0.1:9/other", secret="s" * 32, events=["x.y"]
    )

    # On its last valid day, even at 23:59, nothing lapses.
    assert run_due_jobs(now=_local(today, 23, 59), only=["quote_expiry"]) == {"quote_expiry": {"expired": 0}}
    assert Quote.objects.get(pk=quote.pk).status == "sent"
    assert client.get(f"/q/{token}").status_code == 200

    # The next day the worker's run expires it, once, with one quote.expired event through the outbox.
    next_day = _local(today + timedelta(days=1), 0, 5)
    result = run_due_jobs(now=next_day, force=True, only=["quote_expiry"])
    assert result == {"quote_expiry": {"expired": 1}}
    stored = Quote.objects.get(pk=quote.pk)
    assert (stored.status, stored.expired_at) == ("expired", next_day)
    assert Quote.objects.get(pk=draft.pk).status == "draft"  # valid through that day
    event = OutboxEvent.objects.get(type="quote.expired")
    assert event.data["quote"]["quote_no"] == quote.quote_no
    assert event.data["quote"]["status"] == "expired"
    assert event.data["changes"]["status"] == ["sent", "expired"]
    assert AuditEntry.objects.filter(object_id=str(quote.pk), action="quote.expired").count() == 1
    assert run_due_jobs(now=next_day, force=True, only=["quote_expiry"]) == {"quote_expiry": {"expired": 0}}
    assert OutboxEvent.objects.filter(type="quote.expired").count() == 1

    # The event goes to the webhook endpoint that subscribed to it, and only to it.
    dispatch_event(event.pk)
    assert list(WebhookDelivery.objects.values_list("endpoint_id", flat=True)) == [hook.pk]
    # The customer's link now says the quote expired.
    assert client.get(f"/q/{token}").status_code == 410


def test_decided_quotes_never_expire(sales, finance, company, suv, defaults, tax_profile, client):
    quote, token = _sent(sales, finance, company, suv_lines(suv), timezone.localdate())
    client.post(f"/q/{token}/accept", {"name": "Fatima", "signature": signature_png()})
    later = _local(timezone.localdate() + timedelta(days=40))
    assert services.expire_quotes(later) == {"expired": 0}
    assert Quote.objects.get(pk=quote.pk).status == "accepted"
    assert not OutboxEvent.objects.filter(type="quote.expired").exists()


# ---- conversion into rental agreements ------------------------------------------------------------------


@pytest.fixture
def accepted(sales, finance, company, suv, defaults, tax_profile, valid_until, branch, client):
    named = make_vehicle(branch, suv, "DXB-N-00001", status="available", make="Toyota", model="Land Cruiser")
    lines = [
        *suv_lines(suv, quantity=3, rate="4106.25"),
        {"vehicle_id": str(named.pk), "quantity": 1, "term_months": 12, "monthly_rate": "5200.00"},
    ]
    quote, token = _sent(sales, finance, company, lines, valid_until)
    assert (
        client.post(f"/q/{token}/accept", {"name": "Fatima", "signature": signature_png()}).status_code == 200
    )
    return Quote.objects.get(pk=quote.pk), named


def _state():
    return (
        list(RentalAgreement.objects.order_by("pk").values_list("pk", "agreement_no")),
        list(Vehicle.objects.order_by("pk").values_list("pk", "status")),
        list(QuoteAssignment.objects.order_by("pk").values_list("pk", "vehicle_id", "agreement_id")),
        AuditEntry.objects.count(),
    )


def _refused(exc_type, fn, *args):
    before = _state()
    with pytest.raises(exc_type):
        fn(*args)
    assert _state() == before


def test_an_accepted_quote_becomes_one_agreement_per_vehicle(accepted, manager, suv_vehicles):
    quote, named = accepted
    class_line, named_line = quote.lines.order_by("position")
    services.assign_vehicles(manager, quote.pk, class_line.pk, [v.pk for v in suv_vehicles])
    start = timezone.now().replace(microsecond=0)
    agreements = services.convert_quote(manager, quote.pk, start)

    assert [a.agreement_no for a in agreements] == [f"{quote.quote_no}-0{n}" for n in range(1, 5)]
    by_vehicle = {a.vehicle_id: a for a in agreements}
    assert set(by_vehicle) == {*(v.pk for v in suv_vehicles), named.pk}
    for vehicle in suv_vehicles:
        agreement = by_vehicle[vehicle.pk]
        assert (agreement.monthly_rate, agreement.customer_id, agreement.status) == (
            D("4106.25"),
            quote.customer_id,
            "active",
        )
        assert agreement.end_at == services.add_months(start, 24)
    assert by_vehicle[named.pk].monthly_rate == D("5200.00")
    assert by_vehicle[named.pk].end_at == services.add_months(start, 12)
    assert set(Vehicle.objects.filter(pk__in=by_vehicle).values_list("status", flat=True)) == {"rented"}
    assert QuoteAssignment.objects.filter(agreement__isnull=True).count() == 0
    # Converting again finds nothing waiting and changes nothing.
    _refused(ValidationFailed, services.convert_quote, manager, quote.pk)
    assert AuditEntry.objects.filter(object_id=str(quote.pk), action="quote.converted").count() == 1


def test_conversion_refusals_change_nothing(accepted, manager, sales, suv_vehicles, branch, suv):
    quote, named = accepted
    class_line = quote.lines.order_by("position").first()
    # A sales role may not convert; more cars than the line's quantity are refused.
    _refused(PermissionDenied, services.assign_vehicles, sales, quote.pk, class_line.pk, [suv_vehicles[0].pk])
    extra = make_vehicle(branch, suv, "DXB-S-00009", status="available")
    _refused(
        ValidationFailed,
        services.assign_vehicles,
        manager,
        quote.pk,
        class_line.pk,
        [*(v.pk for v in suv_vehicles), extra.pk],
    )
    # A car of another class is refused.
    from fleet.models import VehicleClass

    sedan = VehicleClass.objects.create(code="SED", name="Sedan", daily_rate=D("100"), monthly_rate=D("2000"))
    other = make_vehicle(branch, sedan, "DXB-C-00001", status="available")
    _refused(ValidationFailed, services.assign_vehicles, manager, quote.pk, class_line.pk, [other.pk])
    # A car rented meanwhile: the conversion is a conflict and creates no agreement at all.
    services.assign_vehicles(manager, quote.pk, class_line.pk, [suv_vehicles[0].pk])
    Vehicle.objects.filter(pk=named.pk).update(status="rented")
    _refused(Conflict, services.convert_quote, manager, quote.pk)


def test_only_an_accepted_quote_converts(
    sales, finance, manager, company, suv, defaults, tax_profile, valid_until
):
    quote, _token = _sent(sales, finance, company, suv_lines(suv), valid_until)
    _refused(InvalidTransition, services.convert_quote, manager, quote.pk)
    assert "convert" not in services.allowed_quote_actions(manager, Quote.objects.get(pk=quote.pk))
