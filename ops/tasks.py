"""Background tasks of ops."""

from django_tasks import task

from audit.context import acting_as


@task(queue_name="default")
def release_held_outbound() -> dict:
    """After maintenance: send the webhook deliveries and e-mails the worker held."""
    from .jobs import run_due_jobs

    with acting_as(source="system"):
        return run_due_jobs(force=True, only=["webhook_retries", "email_retries"])


@task(queue_name="default")
def backup_now() -> dict:
    """A backup asked for on the admin page (same as the scheduled one, with the same retention)."""
    from django.utils import timezone

    from .backup import scheduled_backup

    return scheduled_backup(timezone.now())


@task(queue_name="default")
def run_import_job(run_id: str) -> dict:
    """A dry run or an import started on the admin page's import wizard."""
    from .services import execute_import_run

    return execute_import_run(run_id)
