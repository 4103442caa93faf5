"""Large exports: over `CUSTODY_EXPORT_SYNC_ROWS` rows a list export is a job for the worker, with a
progress page and a download link in the requester's inbox; below it the file streams at once."""

import csv
import io

import pytest
from django.db import transaction
from django_tasks_db.models import DBTaskResult
from openpyxl import load_workbook

from accounts.choices import Role
from conftest import login_client, make_user, run_queued_tasks
from custodies.models import Custody
from notifications.models import Notification
from reports import services
from reports.models import ExportJob


@pytest.fixture
def small_limit(settings):
    settings.CUSTODY_EXPORT_SYNC_ROWS = 3


def _csv(content: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def test_a_small_export_streams_at_once(kpi_data, users, settings):
    settings.CUSTODY_EXPORT_SYNC_ROWS = 100
    response = login_client(users[Role.SUPERVISOR]).get("/custodies/?format=csv")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/csv")
    assert not ExportJob.objects.exists()


def test_a_large_export_is_queued_with_its_task_and_shows_progress(kpi_data, users, small_limit):
    supervisor = users[Role.SUPERVISOR]
    client = login_client(supervisor)
    response = client.get(
        "/custodies/?format=csv&status=closed&status=active&status=draft&status=voided"
        "&status=pending_approval&status=approved"
    )
    job = ExportJob.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/reports/exports/{job.pk}/"
    assert (job.requested_by, job.status, job.fmt, job.name) == (supervisor, "queued", "csv", "custodies")
    task = DBTaskResult.objects.get(status="READY")
    assert task.args_kwargs["args"] == [str(job.pk)]

    page = client.get(response["Location"])
    assert page.status_code == 200
    html = page.content.decode()
    assert "Queued" in html and 'hx-trigger="every 2s"' in html and "export-download" not in html

    # Half way through (as the worker records it every 1,000 rows): the polled fragment shows it.
    ExportJob.objects.filter(pk=job.pk).update(status="running", rows_total=9, rows_done=4)
    fragment = client.get(response["Location"], HTTP_HX_REQUEST="true").content.decode()
    assert "4 of 9 rows" in fragment and 'aria-valuenow="44"' in fragment
    assert "<html" not in fragment


def test_the_worker_builds_the_file_and_notifies_a_download_link(kpi_data, users, small_limit):
    supervisor = users[Role.SUPERVISOR]
    client = login_client(supervisor)
    client.get(
        "/custodies/?format=csv&status=closed&status=active&status=draft&status=voided"
        "&status=pending_approval&status=approved"
    )
    job = ExportJob.objects.get()
    assert run_queued_tasks() >= 1
    job.refresh_from_db()
    # Scoped like the list: the supervisor of DXB gets the nine DXB custodies, never AUH's C8.
    assert (job.status, job.rows_total, job.rows_done, job.percent) == ("done", 9, 9, 100)

    note = Notification.objects.get(user=supervisor, kind="export_ready")
    assert note.url == f"/reports/exports/{job.pk}/download/"
    assert "custodies" in note.title

    download = client.get(note.url)
    assert download.status_code == 200
    assert download["Content-Disposition"].startswith('attachment; filename="custodies-')
    rows = _csv(b"".join(download.streaming_content))
    numbers = {row[0] for row in rows[1:]}
    assert len(rows) == 10 and kpi_data[8].custody_no not in numbers and kpi_data[1].custody_no in numbers
    assert client.get(f"/reports/exports/{job.pk}/").content.decode().count("export-download") == 1


def test_nobody_else_sees_or_downloads_an_export(kpi_data, users, small_limit, branch):
    owner = users[Role.SUPERVISOR]
    login_client(owner).get("/custodies/?format=xlsx&status=closed&status=active&status=draft")
    run_queued_tasks()
    job = ExportJob.objects.get()
    assert job.status == "done"
    colleague = make_user(Role.SUPERVISOR, branch, email="colleague@example.com")
    for other in (colleague, users[Role.ADMIN]):
        client = login_client(other)
        assert client.get(f"/reports/exports/{job.pk}/download/").status_code == 404
        assert client.get(f"/reports/exports/{job.pk}/").status_code == 404
        assert str(job.pk) not in client.get("/reports/exports/").content.decode()
    mine = login_client(owner)
    assert str(job.pk) in mine.get("/reports/exports/").content.decode()
    workbook = load_workbook(
        io.BytesIO(b"".join(mine.get(f"/reports/exports/{job.pk}/download/").streaming_content))
    )
    sheet = workbook.active
    assert sheet.freeze_panes == "A2" and sheet.auto_filter.ref.startswith("A1:")
    assert (
        sheet.max_row
        == 1 + Custody.objects.filter(branch=branch, status__in=["closed", "active", "draft"]).count()
    )


def test_the_job_and_its_task_commit_together(kpi_data, users):
    supervisor = users[Role.SUPERVISOR]
    with pytest.raises(RuntimeError), transaction.atomic():
        services.queue_export(
            supervisor, Custody.objects.all(), "custodies.views.CUSTODY_EXPORT", "", "custodies", "csv"
        )
        raise RuntimeError("the request failed after queueing")
    assert not ExportJob.objects.exists() and not DBTaskResult.objects.exists()


def test_a_worker_export_neutralises_formulas(kpi_data, users, small_limit, customer):
    customer.full_name = '=HYPERLINK("http://evil.example","x")'
    customer.save()
    client = login_client(users[Role.SUPERVISOR])
    client.get("/custodies/?format=csv&status=closed&status=active&status=draft&status=voided")
    run_queued_tasks()
    job = ExportJob.objects.get()
    rows = _csv(b"".join(client.get(f"/reports/exports/{job.pk}/download/").streaming_content))
    customers = {row[3] for row in rows[1:]}
    assert customers == {"'" + customer.full_name}
