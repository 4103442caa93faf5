"""Background tasks (django-tasks, database queue; run by `manage.py db_worker`)."""

from django_tasks import task

from . import sending


@task()
def send_email_notification(delivery_id: str) -> str:
    """Send one e-mail delivery; a failure is recorded on the delivery and retried by `retry_failed_emails`."""
    return sending.deliver(delivery_id)


@task()
def send_sms_notification(delivery_id: str) -> str:
    """Send one SMS delivery (only when an SMS backend is configured)."""
    return sending.deliver(delivery_id)
