"""Emit a domain event into the outbox, inside the caller's transaction (DESIGN §9)."""

import itertools
from datetime import timedelta

from django.db import connection, transaction

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
    """Write the event (and, once per transaction, the dispatch job) in the caller's transaction: both
    commit or neither does."""
    event = _event(event_type, data)
    event.save(force_insert=True)
    _enqueue_dispatch(event.id)
    return event


def emit_many(events: list[tuple[str, dict]]) -> list[OutboxEvent]:
    """emit() for several events of one change, in one INSERT. Each is created a microsecond after the
    one before at least, so they are dispatched in this order (the outbox is read by created_at)."""
    rows = [_event(event_type, data) for event_type, data in events]
    for before, event in itertools.pairwise(rows):
        event.created_at = max(event.created_at, before.created_at + timedelta(microseconds=1))
    OutboxEvent.objects.bulk_create(rows)
    if rows:
        _enqueue_dispatch(rows[0].id)
    return rows


# One dispatch task per transaction, not per event: the task drains every undispatched event in
# batches (services.drain), so a second task queued by the same transaction would only find nothing
# left — and cost the worker a claim and a finish each (docs/performance.md, issue 14).
# The marker is a no-op on_commit callback: Django drops it with the savepoint or transaction it was
# registered in when that rolls back (as it drops the task row queued there), and runs it at commit.


def _dispatch_queued() -> None:
    """Marker: a dispatch task is queued in the current transaction."""


def _enqueue_dispatch(event_id) -> None:
    from .tasks import dispatch_event_task

    if connection.in_atomic_block:
        if any(entry[1] is _dispatch_queued for entry in connection.run_on_commit):
            return
        transaction.on_commit(_dispatch_queued)
    dispatch_event_task.enqueue(str(event_id))


def forget_queued_dispatch() -> None:
    """The events emitted so far on this connection are being dispatched now (services.drain, in
    the emitting transaction: tests and in-process callers); a later emit queues a new task."""
    if connection.in_atomic_block:
        connection.run_on_commit[:] = [e for e in connection.run_on_commit if e[1] is not _dispatch_queued]
