"""Background tasks of the reports app (run by `custody worker`)."""

from django_tasks import task

from audit.context import acting_as


@task()
def build_export(job_id: str) -> str:
    """Build one large export and notify its requester with the download link."""
    from .services import run_export

    with acting_as(None, "system"):
        return run_export(job_id)
