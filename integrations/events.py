"""Emit a domain event into the outbox, inside the caller's transaction (DESIGN §9)."""

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


def emit(event_type: str, data: dict) -> OutboxEvent:
    """Write the event and its dispatch job in the caller's transaction: both commit or neither does."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    from audit.context import current

    actor = current().user
    payload = _jsonable(data)
    if getattr(actor, "is_authenticated", False):
        payload["actor_id"] = str(actor.pk)
    event = OutboxEvent.objects.create(type=event_type, data=payload)
    from .tasks import dispatch_event_task

    dispatch_event_task.enqueue(str(event.id))
    return event
