"""Webhook endpoints, outbox dispatch, deliveries with retries, inbound events (DESIGN §9)."""

import logging
from datetime import datetime, timedelta

from django.apps import apps
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from accounts import permissions
from audit import services as audit
from audit.context import acting_as
from core import switches
from core.errors import ValidationFailed

from . import webhooks
from .choices import DeliveryStatus, IntegrationType
from .events import EVENT_TYPES
from .models import DeliveryAttempt, InboundEvent, OutboxEvent, WebhookDelivery, WebhookEndpoint

logger = logging.getLogger(__name__)


def _lease() -> timedelta:
    """A crashed worker's in-flight attempt becomes due again after this."""
    return timedelta(seconds=int(getattr(settings, "CUSTODY_WEBHOOK_LEASE_SECONDS", 60)))


ENDPOINT_FIELDS = ["name", "integration_type", "url", "events", "active", "disabled_at", "disabled_reason"]


# ---- endpoints -------------------------------------------------------------------------------------


def _clean_endpoint(data: dict) -> dict:
    errors: dict[str, list[str]] = {}
    if "url" in data:
        try:
            webhooks.validate_url(data["url"])
        except webhooks.UnsafeTarget as exc:
            errors["url"] = [str(exc)]
    if "events" in data:
        unknown = sorted(set(data["events"] or []) - EVENT_TYPES)
        if unknown:
            errors["events"] = [_("Unknown event types: %(types)s.") % {"types": ", ".join(unknown)}]
    if "integration_type" in data and data["integration_type"] not in IntegrationType.values:
        errors["integration_type"] = [_("Unknown integration type.")]
    if "name" in data and not (data["name"] or "").strip():
        errors["name"] = [_("Required.")]
    if errors:
        raise ValidationFailed(_("The endpoint is not valid."), errors)
    return data


@transaction.atomic
def create_endpoint(user, data: dict) -> tuple[WebhookEndpoint, str]:
    permissions.require(user, "settings.manage")
    data = _clean_endpoint(data)
    secret = webhooks.new_secret()
    endpoint = WebhookEndpoint.objects.create(
        name=data["name"].strip(),
        integration_type=data.get("integration_type", IntegrationType.CUSTOM),
        url=data["url"],
        events=sorted(set(data.get("events") or [])),
        active=data.get("active", True),
        secret=secret,
    )
    audit.record(
        "webhook_endpoint.created",
        endpoint,
        object_type="webhook_endpoint",
        changes=audit.diff({}, audit.snapshot(endpoint, ENDPOINT_FIELDS)),
    )
    return endpoint, secret


@transaction.atomic
def update_endpoint(user, endpoint_id, data: dict) -> WebhookEndpoint:
    permissions.require(user, "settings.manage")
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    data = _clean_endpoint(data)
    before = audit.snapshot(endpoint, ENDPOINT_FIELDS)
    for name in ("name", "integration_type", "url", "events", "active"):
        if name in data:
            setattr(endpoint, name, sorted(set(data[name] or [])) if name == "events" else data[name])
    if data.get("active"):
        endpoint.disabled_at, endpoint.disabled_reason, endpoint.failing_since = None, "", None
    endpoint.save()
    audit.record(
        "webhook_endpoint.updated",
        endpoint,
        object_type="webhook_endpoint",
        changes=audit.diff(before, audit.snapshot(endpoint, ENDPOINT_FIELDS)),
    )
    return endpoint


def reencrypt_secrets() -> int:
    """Every stored secret encrypted with the newest key (after a key is added to CUSTODY_SECRET_KEYS);
    also encrypts a secret still stored in clear. Not audited: the secrets themselves do not change."""
    count = 0
    with transaction.atomic():
        for endpoint in WebhookEndpoint.objects.select_for_update().only("id", "secret"):
            WebhookEndpoint.objects.filter(pk=endpoint.pk).update(secret=endpoint.secret)  # re-encrypts
            count += 1
    return count


@transaction.atomic
def rotate_secret(user, endpoint_id) -> tuple[WebhookEndpoint, str]:
    permissions.require(user, "settings.manage")
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint_id)
    endpoint.secret = webhooks.new_secret()
    endpoint.save(update_fields=["secret", "updated_at"])
    audit.record("webhook_endpoint.secret_rotated", endpoint, object_type="webhook_endpoint")
    return endpoint, endpoint.secret


@transaction.atomic
def send_test_event(user, endpoint_id) -> WebhookDelivery:
    permissions.require(user, "settings.manage")
    endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
    event = OutboxEvent.objects.create(
        type="webhook.test",
        data={"message": "Test event from Custody", "endpoint_id": str(endpoint.pk)},
        dispatched_at=timezone.now(),
    )
    delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint)
    _enqueue_attempt(delivery.pk)
    return delivery


@transaction.atomic
def redeliver(user, delivery_id) -> WebhookDelivery:
    permissions.require(user, "settings.manage")
    delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery_id)
    delivery.status, delivery.attempts, delivery.next_attempt_at = DeliveryStatus.PENDING, 0, timezone.now()
    delivery.save(update_fields=["status", "attempts", "next_attempt_at"])
    audit.record("webhook_delivery.redelivered", delivery, object_type="webhook_delivery")
    _enqueue_attempt(delivery.pk)
    return delivery


def _enqueue_attempt(delivery_id) -> None:
    from .tasks import attempt_delivery_task

    attempt_delivery_task.enqueue(str(delivery_id))


# ---- dispatch ---------------------------------------------------------------------------------------


def dispatch_event(event_id) -> list:
    """Fan an outbox event out to endpoints and notifications, exactly once (claimed by dispatched_at)."""
    with transaction.atomic():
        claimed = OutboxEvent.objects.filter(pk=event_id, dispatched_at__isnull=True).update(
            dispatched_at=timezone.now()
        )
        if not claimed:
            return []
        event = OutboxEvent.objects.get(pk=event_id)
        delivery_ids = []
        for endpoint in WebhookEndpoint.objects.filter(active=True):
            if endpoint.wants(event.type):
                delivery, _created = WebhookDelivery.objects.get_or_create(event=event, endpoint=endpoint)
                delivery_ids.append(delivery.pk)
        if apps.is_installed("notifications"):
            from notifications.services import notify_for_event

            notify_for_event(event)
    for delivery_id in delivery_ids:
        attempt_delivery(delivery_id)
    return delivery_ids


def attempt_delivery(delivery_id, now: datetime | None = None) -> WebhookDelivery | None:
    """One attempt, if it is due and nobody else holds it (a lease makes crashed attempts retry)."""
    if switches.outbound_held():
        return None  # maintenance: stays pending, the retry job sends it afterwards
    now = now or timezone.now()
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=now + _lease(), attempts=F("attempts") + 1)
    if not claimed:
        return None
    delivery = WebhookDelivery.objects.select_related("event", "endpoint").get(pk=delivery_id)
    endpoint = delivery.endpoint
    if not endpoint.active:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.CANCELLED, last_error="endpoint disabled"
        )
        return delivery
    body = webhooks.body_for(delivery.event)
    headers = webhooks.headers_for(delivery.event, delivery.pk, endpoint.secret, body)
    result = webhooks.post(endpoint.url, body, headers, now)
    _record_attempt(delivery, result, now)
    return delivery


def _attempt_row(delivery: WebhookDelivery, result: webhooks.SendResult, now: datetime) -> DeliveryAttempt:
    return DeliveryAttempt(
        delivery=delivery,
        number=delivery.attempts,
        at=now,
        status_code=result.status_code,
        latency_ms=result.latency_ms,
        response_excerpt=result.body_excerpt,
        error=result.error,
    )


@transaction.atomic
def _record_attempt(delivery: WebhookDelivery, result: webhooks.SendResult, now: datetime) -> None:
    _attempt_row(delivery, result, now).save()
    _apply_result(delivery, result, now)


def _apply_result(delivery: WebhookDelivery, result: webhooks.SendResult, now: datetime) -> None:
    endpoint = WebhookEndpoint.objects.select_for_update().get(pk=delivery.endpoint_id)
    delivery.last_status_code, delivery.last_error = result.status_code, result.error
    if result.status_code is not None and 200 <= result.status_code < 300:
        delivery.status, delivery.delivered_at = DeliveryStatus.DELIVERED, now
        delivery.save(update_fields=["status", "delivered_at", "last_status_code", "last_error"])
        if endpoint.failing_since:
            endpoint.failing_since = None
            endpoint.save(update_fields=["failing_since", "updated_at"])
        return
    if result.status_code == 410:
        delivery.status = DeliveryStatus.FAILED
        delivery.save(update_fields=["status", "last_status_code", "last_error"])
        _disable(endpoint, _("The receiver answered 410 Gone."))
        return
    delay = webhooks.next_delay(delivery.attempts)
    if delay is None:
        delivery.status = DeliveryStatus.FAILED
    else:
        if result.retry_after and result.retry_after > delay:
            delay = result.retry_after
        delivery.next_attempt_at = now + delay
    delivery.save(update_fields=["status", "next_attempt_at", "last_status_code", "last_error"])
    if endpoint.failing_since is None:
        endpoint.failing_since = now
        endpoint.save(update_fields=["failing_since", "updated_at"])
    elif now - endpoint.failing_since >= webhooks.DISABLE_AFTER:
        _disable(endpoint, _("Failing for 3 days."))


def _disable(endpoint: WebhookEndpoint, reason: str) -> None:
    if not endpoint.active:
        return
    endpoint.active, endpoint.disabled_at, endpoint.disabled_reason = False, timezone.now(), reason
    endpoint.save(update_fields=["active", "disabled_at", "disabled_reason", "updated_at"])
    with acting_as(source="system"):
        audit.record(
            "webhook_endpoint.disabled",
            endpoint,
            object_type="webhook_endpoint",
            changes={"active": [True, False]},
            message=reason,
        )
    if not apps.is_installed("notifications"):
        return
    from notifications.services import admins, notify_users

    notify_users(
        admins(),
        "webhook_endpoint_disabled",
        _("Webhook endpoint disabled: %(name)s") % {"name": endpoint.name},
        reason,
        url="/integrations/",
        dedupe_key=f"endpoint-disabled:{endpoint.pk}:{endpoint.disabled_at:%Y%m%d%H%M}",
    )


# ---- batches (the worker) --------------------------------------------------------------------------

BATCH_SIZE = 100


def dispatch_pending(limit: int = BATCH_SIZE) -> int:
    """Fan out up to `limit` undispatched events in one transaction; the sending is deliver_due()'s."""
    with transaction.atomic():
        events = list(
            OutboxEvent.objects.select_for_update(skip_locked=True)
            .filter(dispatched_at__isnull=True)
            .order_by("created_at")[:limit]
        )
        if not events:
            return 0
        OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).update(dispatched_at=timezone.now())
        endpoints = list(WebhookEndpoint.objects.filter(active=True))
        WebhookDelivery.objects.bulk_create(
            [WebhookDelivery(event=e, endpoint=ep) for e in events for ep in endpoints if ep.wants(e.type)],
            ignore_conflicts=True,
        )
        if apps.is_installed("notifications"):
            from notifications.services import notify_for_event

            for event in events:
                notify_for_event(event)
    return len(events)


def deliver_due(sender, now: datetime | None = None, limit: int = BATCH_SIZE) -> int:
    """Claim up to `limit` due deliveries in one transaction, send them concurrently through `sender`
    (an integrations.sender.Sender: pooled keep-alive connections), record the attempts in one more."""
    now = now or timezone.now()
    with transaction.atomic():
        ids = list(
            WebhookDelivery.objects.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
            .order_by("next_attempt_at")
            .values_list("id", flat=True)[:limit]
        )
        if not ids:
            return 0
        WebhookDelivery.objects.filter(pk__in=ids).update(
            next_attempt_at=now + _lease(), attempts=F("attempts") + 1
        )
    deliveries = list(WebhookDelivery.objects.select_related("event", "endpoint").filter(pk__in=ids))
    inactive = [d.pk for d in deliveries if not d.endpoint.active]
    if inactive:
        WebhookDelivery.objects.filter(pk__in=inactive).update(
            status=DeliveryStatus.CANCELLED, last_error="endpoint disabled"
        )
    sending = [d for d in deliveries if d.endpoint.active]
    requests = []
    for delivery in sending:
        body = webhooks.body_for(delivery.event)
        headers = webhooks.headers_for(delivery.event, delivery.pk, delivery.endpoint.secret, body)
        requests.append((delivery.endpoint.url, body, headers))
    results = sender.send_all(requests, now)
    _record_attempts(list(zip(sending, results, strict=True)), now)
    return len(deliveries)


@transaction.atomic
def _record_attempts(pairs: list[tuple[WebhookDelivery, webhooks.SendResult]], now: datetime) -> None:
    """All attempts of a batch in one transaction: successes as one UPDATE per status code."""
    DeliveryAttempt.objects.bulk_create([_attempt_row(d, r, now) for d, r in pairs])
    delivered: dict[int, list] = {}
    recovered = set()
    for delivery, result in pairs:
        if result.status_code is not None and 200 <= result.status_code < 300:
            delivered.setdefault(result.status_code, []).append(delivery.pk)
            if delivery.endpoint.failing_since:
                recovered.add(delivery.endpoint_id)
        else:
            _apply_result(delivery, result, now)
    for status_code, ids in delivered.items():
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.DELIVERED, delivered_at=now, last_status_code=status_code, last_error=""
        )
    if recovered:
        WebhookEndpoint.objects.filter(pk__in=recovered).update(failing_since=None, updated_at=now)


def drain(seconds: float = 30.0) -> dict[str, int]:
    """Dispatch and deliver in batches until nothing is due (or `seconds` have passed)."""
    import time

    from .sender import Sender

    deadline = time.monotonic() + seconds
    dispatched = delivered = 0
    sender = Sender()
    try:
        while time.monotonic() < deadline:
            events = dispatch_pending()
            sent = deliver_due(sender)
            dispatched, delivered = dispatched + events, delivered + sent
            if not events and not sent:
                break
    finally:
        sender.close()
    return {"events_dispatched": dispatched, "attempts": delivered}


def retry_due(now: datetime | None = None, limit: int = 500) -> dict[str, int]:
    """Scheduled: dispatch events whose task was lost, and attempt every due delivery."""
    now = now or timezone.now()
    stale_events = list(
        OutboxEvent.objects.filter(
            dispatched_at__isnull=True, created_at__lt=now - timedelta(seconds=30)
        ).values_list("id", flat=True)[:limit]
    )
    for event_id in stale_events:
        dispatch_event(event_id)
    due = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=now)
        .order_by("next_attempt_at")
        .values_list("id", flat=True)[:limit]
    )
    for delivery_id in due:
        attempt_delivery(delivery_id, now)
    return {"events_dispatched": len(stale_events), "attempts": len(due)}


# ---- inbound ---------------------------------------------------------------------------------------------

INBOUND_TYPES = {
    IntegrationType.FLEET: {"vehicle.ready", "vehicle.status_changed"},
    IntegrationType.BILLING: {"invoice.created", "invoice.paid"},
    IntegrationType.CLAIMS: {"claim.updated"},
}


def endpoint_for_inbound(source: str) -> list[WebhookEndpoint]:
    """Endpoints of this integration type hold the shared secret the sender signs with."""
    return list(WebhookEndpoint.objects.filter(integration_type=source))


def record_inbound(source: str, event_id: str, event_type: str, payload: dict) -> tuple[InboundEvent, bool]:
    try:
        with transaction.atomic():
            return InboundEvent.objects.create(
                source=source, event_id=event_id, type=event_type, payload=payload
            ), True
    except IntegrityError:
        return InboundEvent.objects.get(source=source, event_id=event_id), False


def record_inbound_result(record, result: str) -> None:
    """What applying an inbound event did, kept for the duplicate answer and the admin."""
    record.result = result[:300]
    record.save(update_fields=["result"])
