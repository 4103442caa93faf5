"""Background tasks on the django-tasks database queue."""

from django_tasks import task

from audit.context import acting_as


@task(queue_name="default")
def dispatch_event_task(event_id: str) -> int:
    """Dispatches whatever is waiting (services.drain). Writes no longer queue it (the worker's outbox
    poller, jobs.outbox, does this); kept so tasks queued before that change still run."""
    from .services import drain

    with acting_as(source="system"):
        return drain()["events_dispatched"]


@task(queue_name="default")
def attempt_delivery_task(delivery_id: str) -> bool:
    from .services import attempt_delivery

    with acting_as(source="system"):
        return attempt_delivery(delivery_id) is not None
