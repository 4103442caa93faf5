"""Background tasks on the django-tasks database queue."""

from django_tasks import task

from audit.context import acting_as


@task(queue_name="default")
def dispatch_event_task(event_id: str) -> int:
    from .services import dispatch_event

    with acting_as(source="system"):
        return len(dispatch_event(event_id))


@task(queue_name="default")
def attempt_delivery_task(delivery_id: str) -> bool:
    from .services import attempt_delivery

    with acting_as(source="system"):
        return attempt_delivery(delivery_id) is not None
