"""Emit a domain event into the outbox, inside the caller's transaction (DESIGN §9)."""

import itertools
from datetime import timedelta

from audit.services import _jsonable

from .models import OutboxEvent

EVENT_TYPES = {
    "custody.created",
    "custody.updated",
    "custody.submitted",
    "custody.approval_decided",
    "custody.approved",
    "custody.rejected",
    "custody.handed_over",
    "custody.closed",
    "custody.voided",
    "custody.sla_breached",
    "custody.overdue",
    "document.uploaded",
    "document.signed",
    "charge.posted",
    "charge.voided",
    "payment.recorded",
    "quote.sent",
    "quote.accepted",
    "quote.rejected",
    "quote.expired",
}


def _event(event_type: str, data: dict) -> OutboxEvent:
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    from audit.context import current

    actor = current().user
    payload = _jsonable(data)
    if getattr(actor, "is_authenticated", False):
        payload["actor_id"] = str(actor.pk)
    return OutboxEvent(type=event_type, data=payload)


def emit(event_type: str, data: dict) -> OutboxEvent:
    """Write the event in the caller's transaction: both commit or neither does. The worker's outbox
    poller (jobs.outbox) dispatches it within a second of the commit."""
    event = _event(event_type, data)
    event.save(force_insert=True)
    return event


def emit_many(events: list[tuple[str, dict]]) -> list[OutboxEvent]:
    """emit() for several events of one change, in one INSERT. Each is created a microsecond after the
    one before at least, so they are dispatched in this order (the outbox is read by created_at)."""
    rows = [_event(event_type, data) for event_type, data in events]
    for before, event in itertools.pairwise(rows):
        event.created_at = max(event.created_at, before.created_at + timedelta(microseconds=1))
    OutboxEvent.objects.bulk_create(rows)
    return rows
