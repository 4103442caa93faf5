"""Webhook endpoints, outbox dispatch, deliveries with retries, inbound events (DESIGN §9)."""

import logging
import time
from datetime import datetime, timedelta
from typing import NamedTuple

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


def lease() -> timedelta:
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


def _fan_out(events: list[OutboxEvent]) -> None:
    """Deliveries for the endpoints that want each event, and the in-app notifications (one home for
    both the single-event and the batch path)."""
    endpoints = list(WebhookEndpoint.objects.filter(active=True).only("id", "events"))  # secrets not needed
    WebhookDelivery.objects.bulk_create(
        [
            WebhookDelivery(event_id=event.pk, endpoint_id=endpoint.pk)
            for event in events
            for endpoint in endpoints
            if endpoint.wants(event.type)
        ],
        ignore_conflicts=True,
    )
    if apps.is_installed("notifications"):
        from notifications.services import notify_for_event

        for event in events:
            notify_for_event(event)


def dispatch_event(event_id) -> list:
    """Fan an outbox event out to endpoints and notifications, exactly once (claimed by dispatched_at)."""
    with transaction.atomic():
        claimed = OutboxEvent.objects.filter(pk=event_id, dispatched_at__isnull=True).update(
            dispatched_at=timezone.now()
        )
        if not claimed:
            return []
        event = OutboxEvent.objects.get(pk=event_id)
        _fan_out([event])
        delivery_ids = list(WebhookDelivery.objects.filter(event=event).values_list("pk", flat=True))
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
    ).update(next_attempt_at=now + lease(), attempts=F("attempts") + 1)
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
        delivery_id=delivery.pk,
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
    """The retry policy, for both the single and the batch path: delivered, retried later, failed, or
    the endpoint disabled (410, or failing for DISABLE_AFTER)."""
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
# The worker's outbox poller (jobs.outbox) drains: claims up to BATCH_SIZE undispatched events
# per transaction (FOR UPDATE SKIP LOCKED, so several workers share the work), fans them out with one
# bulk insert, then claims up to BATCH_SIZE due deliveries, sends them concurrently over keep-alive
# connections per endpoint (sender.Sender) and records the batch's attempts in one transaction.
# Failures go through _apply_result: the retry policy has one home for both paths.

BATCH_SIZE = 200


class _Event(NamedTuple):
    """What webhooks.body_for/headers_for read of an event (a delivery row's event__ columns)."""

    id: object
    type: str
    created_at: datetime
    data: dict


def dispatch_pending(limit: int = BATCH_SIZE, created_before: datetime | None = None) -> int:
    """Fan out up to `limit` undispatched events in one transaction; the sending is deliver_due()'s."""
    with transaction.atomic():
        pending = OutboxEvent.objects.select_for_update(skip_locked=True).filter(dispatched_at__isnull=True)
        if created_before is not None:
            pending = pending.filter(created_at__lt=created_before)
        events = list(pending.order_by("created_at")[:limit])
        if not events:
            return 0
        OutboxEvent.objects.filter(pk__in=[e.pk for e in events]).update(dispatched_at=timezone.now())
        _fan_out(events)
    return len(events)


def deliver_due(sender, now: datetime | None = None, limit: int = BATCH_SIZE) -> int:
    """Claim up to `limit` due deliveries in one transaction, send them concurrently through `sender`
    (an integrations.sender.Sender: pooled keep-alive connections), record the attempts in one more.

    Sends that could not start within the claim's lease are released unattempted (due again at once),
    so a slow receiver never lets the lease of a claimed delivery run out while it waits its turn."""
    if switches.outbound_held():
        return 0  # maintenance: stays pending, the retry job sends it afterwards
    now = now or timezone.now()
    lease_time = lease()
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
            next_attempt_at=now + lease_time, attempts=F("attempts") + 1
        )
    rows = list(
        WebhookDelivery.objects.filter(pk__in=ids).values(
            "id", "attempts", "endpoint_id", "event_id", "event__type", "event__created_at", "event__data"
        )
    )
    endpoints = {e.pk: e for e in WebhookEndpoint.objects.filter(pk__in={r["endpoint_id"] for r in rows})}
    inactive = [r["id"] for r in rows if not endpoints[r["endpoint_id"]].active]
    if inactive:
        WebhookDelivery.objects.filter(pk__in=inactive).update(
            status=DeliveryStatus.CANCELLED, last_error="endpoint disabled"
        )
    sending, requests = [], []
    for row in rows:
        endpoint = endpoints[row["endpoint_id"]]
        if not endpoint.active:
            continue
        event = _Event(row["event_id"], row["event__type"], row["event__created_at"], row["event__data"])
        body = webhooks.body_for(event)
        headers = webhooks.headers_for(event, row["id"], endpoint.secret, body)
        requests.append((endpoint.url, body, headers))
        delivery = WebhookDelivery(
            id=row["id"],
            event_id=row["event_id"],
            endpoint_id=row["endpoint_id"],
            attempts=row["attempts"],
            status=DeliveryStatus.PENDING,
            next_attempt_at=now + lease_time,
        )
        delivery._state.adding, delivery._state.db = False, "default"  # an existing row: save() updates
        sending.append(delivery)
    # Start no send later than this: a send takes at most webhooks.TIMEOUT_SECONDS.
    start_by = max(lease_time.total_seconds() - webhooks.TIMEOUT_SECONDS - 1, lease_time.total_seconds() / 2)
    results = sender.send_all(requests, now, start_within=start_by)
    attempted = [(d, r) for d, r in zip(sending, results, strict=True) if r is not None]
    released = [d.pk for d, r in zip(sending, results, strict=True) if r is None]
    if released:
        WebhookDelivery.objects.filter(pk__in=released).update(
            next_attempt_at=now, attempts=F("attempts") - 1
        )
    _record_attempts(attempted, endpoints, now)
    return len(rows) - len(released)


@transaction.atomic
def _record_attempts(pairs: list[tuple[WebhookDelivery, webhooks.SendResult]], endpoints: dict, now) -> None:
    """All attempts of a batch in one transaction: successes as one UPDATE per status code."""
    DeliveryAttempt.objects.bulk_create([_attempt_row(d, r, now) for d, r in pairs])
    delivered: dict[int, list] = {}
    recovered = set()
    for delivery, result in pairs:
        if result.status_code is not None and 200 <= result.status_code < 300:
            delivered.setdefault(result.status_code, []).append(delivery.pk)
            if endpoints[delivery.endpoint_id].failing_since:
                recovered.add(delivery.endpoint_id)
        else:
            _apply_result(delivery, result, now)
    for status_code, ids in delivered.items():
        WebhookDelivery.objects.filter(pk__in=ids).update(
            status=DeliveryStatus.DELIVERED, delivered_at=now, last_status_code=status_code, last_error=""
        )
    if recovered:
        WebhookEndpoint.objects.filter(pk__in=recovered).update(failing_since=None, updated_at=now)


def has_undispatched() -> bool:
    """Whether an event waits for dispatch (the worker's poller asks this twice a second: one read of
    the dispatched_at index)."""
    return OutboxEvent.objects.filter(dispatched_at__isnull=True).exists()


def drain(seconds: float = 30.0) -> dict[str, int]:
    """Dispatch and deliver in batches until nothing is due (or `seconds` have passed)."""
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
    """Scheduled: dispatch events no poller has taken for 30 s, and attempt every due delivery (the
    same batches as drain: claimed with SKIP LOCKED, sent concurrently over kept-alive connections)."""
    from .sender import Sender

    now = now or timezone.now()
    dispatched = attempts = 0
    while dispatched < limit:
        events = dispatch_pending(
            min(BATCH_SIZE, limit - dispatched), created_before=now - timedelta(seconds=30)
        )
        dispatched += events
        if not events:
            break
    due_by = max(now, timezone.now())  # includes the deliveries just fanned out
    sender = Sender()
    try:
        while attempts < limit:
            sent = deliver_due(sender, due_by, min(BATCH_SIZE, limit - attempts))
            attempts += sent
            if not sent:
                break
    finally:
        sender.close()
    return {"events_dispatched": dispatched, "attempts": attempts}


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
