import hashlib
import hmac
import json
import time
from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from accounts.choices import Role
from conftest import ApiClient, run_queued_tasks
from core.errors import ValidationFailed
from custodies import services as custody_services
from integrations import services, webhooks
from integrations.models import DeliveryAttempt, OutboxEvent, WebhookDelivery, WebhookEndpoint
from integrations.tests.conftest import attach

pytestmark = pytest.mark.django_db


def endpoint_for(admin_user, url, events=()):
    endpoint, secret = services.create_endpoint(
        admin_user, {"name": "Fleet", "integration_type": "fleet", "url": url, "events": list(events)}
    )
    return endpoint, secret


def run_worker():
    run_queued_tasks()


def test_a_custody_lifecycle_delivers_every_event_signed(users, admin_user, make_draft, receiver):
    _endpoint, secret = endpoint_for(admin_user, receiver.url)
    op, sup = users[Role.OPERATOR], users[Role.SUPERVISOR]
    custody = make_draft()
    custody_services.submit_custody(op, custody.id)
    custody_services.approve_custody(sup, custody.id)
    attach(custody, "handover_checklist")
    custody_services.hand_over_custody(op, custody.id, {"odometer_km": 20000, "fuel_level": 8})
    attach(custody, "return_checklist")
    custody_services.close_custody(
        op, custody.id, {"returned_at": timezone.now(), "odometer_km": 20050, "fuel_level": 8}
    )
    run_worker()
    types = [r["headers"]["X-Custody-Event"] for r in receiver.requests]
    assert sorted(types) == sorted(
        [
            "custody.created",
            "custody.submitted",
            "custody.approval_decided",
            "custody.approved",
            "custody.handed_over",
            "custody.closed",
            "charge.posted",
        ]
    )
    for request in receiver.requests:
        headers, body = request["headers"], request["body"]
        expected = hmac.new(
            secret.encode(), headers["X-Custody-Timestamp"].encode() + b"." + body, hashlib.sha256
        ).hexdigest()
        assert headers["X-Custody-Signature"] == f"sha256={expected}"
        payload = json.loads(body)
        assert set(payload) == {"id", "type", "created_at", "data"}
        assert payload["type"] == headers["X-Custody-Event"]
        assert WebhookDelivery.objects.filter(pk=headers["X-Custody-Delivery"], status="delivered").exists()
    assert abs(int(receiver.requests[0]["headers"]["X-Custody-Timestamp"]) - time.time()) < 60


def test_a_rolled_back_change_leaves_no_event(users, agreement, spare_vehicle):
    from custodies.tests.conftest import draft_data

    with pytest.raises(RuntimeError), transaction.atomic():
        custody_services.create_custody(users[Role.OPERATOR], draft_data(agreement, spare_vehicle))
        raise RuntimeError("boom")
    assert OutboxEvent.objects.count() == 0


def test_failures_are_retried_with_backoff_then_marked_failed(admin_user, receiver):
    endpoint, _ = endpoint_for(admin_user, receiver.url)
    event = OutboxEvent.objects.create(type="custody.updated", data={"x": 1})
    delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint)
    receiver.responses = [(500, {}, 0)] * webhooks.MAX_ATTEMPTS
    now = timezone.now()
    schedule = []
    for _attempt in range(webhooks.MAX_ATTEMPTS):
        services.attempt_delivery(delivery.pk, now)
        delivery.refresh_from_db()
        schedule.append(delivery.next_attempt_at - now)
        now = delivery.next_attempt_at
    assert delivery.status == "failed"
    assert delivery.attempts == webhooks.MAX_ATTEMPTS >= 6
    assert sum((d for d in schedule[:-1]), timedelta()) >= timedelta(hours=24)
    ids = {r["headers"]["X-Custody-Delivery"] for r in receiver.requests}
    assert ids == {str(delivery.pk)}  # the same delivery id across retries
    assert DeliveryAttempt.objects.filter(delivery=delivery).count() == webhooks.MAX_ATTEMPTS


def test_an_attempt_that_is_not_due_does_nothing(admin_user, receiver):
    endpoint, _ = endpoint_for(admin_user, receiver.url)
    event = OutboxEvent.objects.create(type="custody.updated", data={})
    delivery = WebhookDelivery.objects.create(
        event=event, endpoint=endpoint, next_attempt_at=timezone.now() + timedelta(hours=1)
    )
    assert services.attempt_delivery(delivery.pk) is None
    assert receiver.requests == []


def test_retry_after_is_honoured(admin_user, receiver):
    endpoint, _ = endpoint_for(admin_user, receiver.url)
    delivery = WebhookDelivery.objects.create(
        event=OutboxEvent.objects.create(type="custody.updated", data={}), endpoint=endpoint
    )
    receiver.responses = [(503, {"Retry-After": "7200"}, 0)]
    now = timezone.now()
    services.attempt_delivery(delivery.pk, now)
    delivery.refresh_from_db()
    assert delivery.next_attempt_at - now == timedelta(seconds=7200)


def test_410_gone_disables_the_endpoint_at_once(admin_user, receiver):
    endpoint, _ = endpoint_for(admin_user, receiver.url)
    delivery = WebhookDelivery.objects.create(
        event=OutboxEvent.objects.create(type="custody.updated", data={}), endpoint=endpoint
    )
    receiver.responses = [(410, {}, 0)]
    services.attempt_delivery(delivery.pk)
    endpoint.refresh_from_db()
    delivery.refresh_from_db()
    assert (endpoint.active, delivery.status) == (False, "failed")


def test_an_endpoint_failing_for_three_days_is_disabled(admin_user, receiver):
    endpoint, _ = endpoint_for(admin_user, receiver.url)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(days=3, minutes=1)
    )
    delivery = WebhookDelivery.objects.create(
        event=OutboxEvent.objects.create(type="custody.updated", data={}), endpoint=endpoint
    )
    receiver.responses = [(500, {}, 0)]
    services.attempt_delivery(delivery.pk)
    endpoint.refresh_from_db()
    assert endpoint.active is False
    assert "3 days" in endpoint.disabled_reason


def test_a_slow_receiver_times_out_and_is_retried(admin_user, receiver, monkeypatch):
    monkeypatch.setattr(webhooks, "TIMEOUT_SECONDS", 0.3)
    endpoint, _ = endpoint_for(admin_user, receiver.url)
    delivery = WebhookDelivery.objects.create(
        event=OutboxEvent.objects.create(type="custody.updated", data={}), endpoint=endpoint
    )
    receiver.responses = [(200, {}, 1.0)]
    services.attempt_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert delivery.status == "pending"
    assert "timed out" in delivery.last_error.lower() or "timeout" in delivery.last_error.lower()


def test_private_targets_are_refused_unless_allowed(admin_user, settings):
    settings.CUSTODY_WEBHOOK_ALLOW_PRIVATE = "0"
    for url in (
        "http://127.0.0.1:9/x",
        "http://10.1.2.3/x",
        "http://169.254.169.254/latest",
        "http://[::1]/x",
        "ftp://example.com/x",
    ):
        with pytest.raises(ValidationFailed):
            services.create_endpoint(admin_user, {"name": "bad", "url": url})
    assert WebhookEndpoint.objects.count() == 0


def test_a_private_target_is_refused_again_at_send_time(admin_user, receiver, settings):
    endpoint, _ = endpoint_for(admin_user, receiver.url)
    settings.CUSTODY_WEBHOOK_ALLOW_PRIVATE = "0"  # e.g. DNS now points somewhere private
    delivery = WebhookDelivery.objects.create(
        event=OutboxEvent.objects.create(type="custody.updated", data={}), endpoint=endpoint
    )
    services.attempt_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert receiver.requests == []
    assert delivery.last_error.startswith("refused")


def test_subscriptions_filter_events_and_disabled_endpoints_get_nothing(
    users, admin_user, make_draft, receiver
):
    endpoint_for(admin_user, receiver.url, events=["custody.submitted"])
    custody = make_draft()
    custody_services.submit_custody(users[Role.OPERATOR], custody.id)
    run_worker()
    assert [r["headers"]["X-Custody-Event"] for r in receiver.requests] == ["custody.submitted"]


def test_manual_redelivery_and_test_event(admin_user, receiver):
    endpoint, _ = endpoint_for(admin_user, receiver.url)
    services.send_test_event(admin_user, endpoint.pk)
    run_worker()
    assert receiver.requests[-1]["headers"]["X-Custody-Event"] == "webhook.test"
    delivery = WebhookDelivery.objects.get(event__type="webhook.test")
    services.redeliver(admin_user, delivery.pk)
    run_worker()
    assert [r["headers"]["X-Custody-Delivery"] for r in receiver.requests] == [str(delivery.pk)] * 2


def test_signature_verification_rejects_tampering_and_replays():
    body = b'{"a":1}'
    now = time.time()
    good = webhooks.signature("s3cret", int(now), body)
    assert webhooks.verify("s3cret", str(int(now)), body, good, now)
    assert not webhooks.verify("s3cret", str(int(now)), body + b" ", good, now)
    assert not webhooks.verify("other", str(int(now)), body, good, now)
    assert not webhooks.verify("s3cret", str(int(now)), body, good, now + 301)


@pytest.mark.parametrize(
    "address",
    [
        "100.64.0.1",  # carrier-grade NAT
        "100.100.100.200",  # a cloud metadata address inside CGNAT
        "2002:7f00:1::1",  # 6to4 wrapping 127.0.0.1
        "2002:a9fe:a9fe::1",  # 6to4 wrapping 169.254.169.254
        "fec0::1",  # site-local
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo
        "64:ff9b::7f00:1",  # NAT64 of 127.0.0.1
        "64:ff9b::a00:1",  # NAT64 of 10.0.0.1
        "64:ff9b:1::808:808",  # local-use NAT64
        "::127.0.0.1",  # IPv4-compatible loopback
        "::ffff:169.254.169.254",  # IPv4-mapped link-local
        "192.0.2.10",  # documentation
        "198.18.0.1",  # benchmarking
        "224.0.0.1",
        "ff02::1",
        "0.0.0.0",
        "::",
    ],
)
def test_non_public_addresses_in_any_disguise_are_refused(address):
    assert not webhooks.is_public_address(address)


@pytest.mark.parametrize("address", ["8.8.8.8", "2606:4700::1111", "2002:808:808::1", "64:ff9b::808:808"])
def test_public_addresses_are_accepted(address):
    assert webhooks.is_public_address(address)


@pytest.mark.parametrize(
    "url",
    [
        "http://100.100.100.200/latest/meta-data",
        "http://[2002:7f00:1::1]/x",
        "http://[fec0::1]/x",
        "http://[64:ff9b::7f00:1]/x",
    ],
)
def test_disguised_private_targets_are_refused_at_save_time(admin_user, settings, url):
    settings.CUSTODY_WEBHOOK_ALLOW_PRIVATE = "0"
    with pytest.raises(ValidationFailed):
        services.create_endpoint(admin_user, {"name": "bad", "url": url})


def test_a_disguised_private_target_is_refused_at_send_time(admin_user, receiver, settings, monkeypatch):
    endpoint, _ = endpoint_for(admin_user, receiver.url)
    settings.CUSTODY_WEBHOOK_ALLOW_PRIVATE = "0"
    # DNS for the saved host now answers a 6to4 address wrapping the metadata service
    monkeypatch.setattr(
        webhooks.socket,
        "getaddrinfo",
        lambda *a, **k: [(None, None, None, "", ("2002:a9fe:a9fe::1", 80, 0, 0))],
    )
    delivery = WebhookDelivery.objects.create(
        event=OutboxEvent.objects.create(type="custody.updated", data={}), endpoint=endpoint
    )
    services.attempt_delivery(delivery.pk)
    delivery.refresh_from_db()
    assert receiver.requests == []
    assert delivery.last_error.startswith("refused")


def test_an_allow_list_admits_only_its_networks(admin_user, settings):
    settings.CUSTODY_WEBHOOK_ALLOWED_NETWORKS = "127.0.0.0/8,::1/128"
    settings.CUSTODY_WEBHOOK_ALLOW_PRIVATE = "1"  # the allow-list wins over the blanket switch
    services.create_endpoint(admin_user, {"name": "local", "url": "http://127.0.0.1:9/x"})
    for url in ("http://8.8.8.8/x", "http://10.0.0.1/x", "http://[2606:4700::1111]/x"):
        with pytest.raises(ValidationFailed):
            services.create_endpoint(admin_user, {"name": "elsewhere", "url": url})


def test_a_port_out_of_range_is_a_422_not_a_500(admin_user):
    response = ApiClient(admin_user).post(
        "/api/v1/webhook-endpoints", {"name": "x", "url": "https://example.com:70000/hook"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["details"]["url"]
