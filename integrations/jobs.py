"""The integrations app's scheduled job and the outbox's poller (run by the worker; core/schedule.py)."""

from datetime import datetime

from audit.context import acting_as
from core import switches
from core.schedule import every, poll

from .services import drain, has_undispatched, lease, retry_due

# How soon a committed event leaves: the worker looks for undispatched events this often. A write
# queues no task of its own (a task row and its claim per write cost more than the event).
OUTBOX_POLL_SECONDS = 0.5


@poll(seconds=OUTBOX_POLL_SECONDS)
def outbox() -> dict:
    """Dispatch what has committed since the last look, and send it (services.drain)."""
    if not has_undispatched():
        return {}
    with acting_as(source="system"):
        return drain()


@every(minutes=1, after_worker_start=lease)  # a killed worker's claimed sends, once their lease ends
def webhook_retries(now: datetime) -> dict:
    if switches.outbound_held():
        return {"held": True}
    return retry_due(now)
