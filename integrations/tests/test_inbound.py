import json
import time

import pytest
from django.test import Client

from accounts.choices import Role
from billing import services as billing
from custodies import services as custody_services
from custodies.models import Custody
from integrations import services, webhooks
from integrations.models import InboundEvent, OutboxEvent
from integrations.tests.conftest import attach

pytestmark = pytest.mark.django_db


@pytest.fixture
def secrets_by_source(admin_user, settings):
    settings.CUSTODY_WEBHOOK_ALLOW_PRIVATE = "1"
    result = {}
    for source in ("fleet", "billing", "claims"):
        _endpoint, secret = services.create_endpoint(
            admin_user,
            {"name": source, "integration_type": source, "url": "http://127.0.0.1:9/unused", "active": False},
        )
        result[source] = secret
    return result


def send(source, secret, payload, timestamp=None, signature=None):
    body = json.dumps(payload).encode()
    ts = int(timestamp if timestamp is not None else time.time())
    sig = signature or webhooks.signature(secret, ts, body)
    return Client().post(
        f"/api/v1/integrations/{source}/events",
        body,
        content_type="application/json",
        HTTP_X_CUSTODY_TIMESTAMP=str(ts),
        HTTP_X_CUSTODY_SIGNATURE=sig,
    )


@pytest.fixture
def active(users, make_draft):
    custody = make_draft()
    custody_services.submit_custody(users[Role.OPERATOR], custody.id)
    custody_services.approve_custody(users[Role.SUPERVISOR], custody.id)
    attach(custody, "handover_checklist")
    custody_services.hand_over_custody(
        users[Role.OPERATOR], custody.id, {"odometer_km": 20000, "fuel_level": 8}
    )
    custody.refresh_from_db()
    return custody


def test_fleet_vehicle_ready_sets_original_ready_and_starts_the_close_clock(
    secrets_by_source, active, vehicle
):
    response = send(
        "fleet",
        secrets_by_source["fleet"],
        {
            "id": "evt-1",
            "type": "vehicle.ready",
            "data": {"plate": vehicle.plate, "ready_at": "2026-11-25T10:00:00Z"},
        },
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "applied"
    active.refresh_from_db()
    assert active.original_ready_at.isoformat() == "2026-11-25T10:00:00+00:00"
    assert active.sla_close_due_at is not None
    from audit.models import AuditEntry

    assert AuditEntry.objects.filter(custody_id=active.pk, source="integration").exists()


def test_the_same_event_twice_is_applied_once(secrets_by_source, active, vehicle):
    payload = {"id": "evt-2", "type": "vehicle.ready", "data": {"plate": vehicle.plate}}
    first = send("fleet", secrets_by_source["fleet"], payload)
    version = Custody.objects.get(pk=active.pk).version
    second = send("fleet", secrets_by_source["fleet"], payload)
    assert (first.json()["status"], second.json()["status"]) == ("applied", "duplicate")
    assert Custody.objects.get(pk=active.pk).version == version
    assert InboundEvent.objects.count() == 1


@pytest.mark.parametrize("case", ["bad_signature", "other_secret", "replayed", "missing"])
def test_bad_or_replayed_signatures_are_401_and_change_nothing(secrets_by_source, active, vehicle, case):
    payload = {"id": f"evt-{case}", "type": "vehicle.ready", "data": {"plate": vehicle.plate}}
    if case == "bad_signature":
        response = send("fleet", secrets_by_source["fleet"], payload, signature="sha256=" + "0" * 64)
    elif case == "other_secret":
        response = send("fleet", secrets_by_source["billing"], payload)
    elif case == "replayed":
        response = send("fleet", secrets_by_source["fleet"], payload, timestamp=time.time() - 600)
    else:
        response = Client().post(
            "/api/v1/integrations/fleet/events", json.dumps(payload), content_type="application/json"
        )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "AUTH_ERROR"
    active.refresh_from_db()
    assert active.original_ready_at is None
    assert InboundEvent.objects.count() == 0


def test_billing_invoice_created_and_paid(secrets_by_source, users, active):
    fin = users[Role.FINANCE]
    charge = billing.add_charge(
        fin,
        active.id,
        {
            "charge_type": "damage",
            "description": "Door",
            "quantity": "1",
            "unit_price": "100",
            "responsibility": "customer",
            "tax_rate": "0",
        },
    )
    billing.post_charge(fin, charge.id)
    created = send(
        "billing",
        secrets_by_source["billing"],
        {
            "id": "inv-1",
            "type": "invoice.created",
            "data": {"invoice_ref": "INV-2026-0042", "charge_ids": [str(charge.id)]},
        },
    )
    assert created.status_code == 200, created.content
    charge.refresh_from_db()
    assert (charge.status, charge.invoice_ref) == ("invoiced", "INV-2026-0042")
    paid = send(
        "billing",
        secrets_by_source["billing"],
        {
            "id": "inv-1-paid",
            "type": "invoice.paid",
            "data": {"custody_id": str(active.id), "amount": "100.00", "invoice_ref": "INV-2026-0042"},
        },
    )
    assert paid.status_code == 200, paid.content
    charge.refresh_from_db()
    assert charge.status == "paid"


def test_claims_update_the_custody(secrets_by_source, active):
    response = send(
        "claims",
        secrets_by_source["claims"],
        {
            "id": "clm-1",
            "type": "claim.updated",
            "data": {"custody_no": active.custody_no, "claim_no": "CLM-77", "claim_status": "approved"},
        },
    )
    assert response.status_code == 200, response.content
    active.refresh_from_db()
    assert (active.claim_no, active.claim_status) == ("CLM-77", "approved")
    # A claim update is a custody change like any other: new version, custody.updated event.
    event = OutboxEvent.objects.filter(type="custody.updated").latest("created_at")
    assert event.data["custody"]["custody_no"] == active.custody_no


def test_unknown_types_and_bad_bodies_are_validation_errors(secrets_by_source):
    unknown = send("fleet", secrets_by_source["fleet"], {"id": "x", "type": "invoice.paid", "data": {}})
    assert unknown.status_code == 422
    no_id = send("fleet", secrets_by_source["fleet"], {"type": "vehicle.ready", "data": {}})
    assert no_id.status_code == 422
    unknown_vehicle = send(
        "fleet", secrets_by_source["fleet"], {"id": "v", "type": "vehicle.ready", "data": {"plate": "NOPE"}}
    )
    assert unknown_vehicle.status_code == 422
    assert InboundEvent.objects.count() == 0  # a failed application can be retried with the same id


def test_the_endpoint_api_shows_the_secret_once(admin_user, settings):
    from conftest import ApiClient

    settings.CUSTODY_WEBHOOK_ALLOW_PRIVATE = "1"
    client = ApiClient(admin_user)
    created = client.post(
        "/api/v1/webhook-endpoints",
        {
            "name": "Claims",
            "integration_type": "claims",
            "url": "http://127.0.0.1:9/in",
            "events": ["custody.closed"],
        },
    )
    assert created.status_code == 201, created.json()
    assert created.json()["secret"].startswith("whsec_")
    listed = client.get("/api/v1/webhook-endpoints").json()
    assert "secret" not in listed[0]
    assert listed[0]["secret_prefix"].endswith("…")
    bad = client.post(
        "/api/v1/webhook-endpoints", {"name": "x", "url": "http://127.0.0.1/x", "events": ["nope"]}
    )
    assert bad.status_code == 422
    assert client.get("/api/v1/webhook-deliveries").json()["count"] == 0


def test_non_admins_cannot_manage_endpoints(users):
    from conftest import ApiClient

    response = ApiClient(users[Role.MANAGER]).get("/api/v1/webhook-endpoints")
    assert response.status_code == 403
