from datetime import timedelta

import pytest
from django.utils import timezone

from accounts.choices import Role
from core.schedule import Job
from custodies import jobs as custody_jobs
from custodies import services as custody_services
from custodies.models import Custody
from custodies.tests.conftest import attach, make_draft  # noqa: F401
from documents.models import Document
from integrations.models import OutboxEvent
from integrations.services import dispatch_event
from notifications import jobs as notification_jobs
from notifications.models import Notification
from ops import jobs
from ops.models import JobRun

pytestmark = pytest.mark.django_db


@pytest.fixture
def active(users, make_draft):  # noqa: F811
    custody = make_draft()
    custody_services.submit_custody(users[Role.OPERATOR], custody.id)
    custody_services.approve_custody(users[Role.SUPERVISOR], custody.id)
    attach(custody, "handover_checklist")
    custody_services.hand_over_custody(
        users[Role.OPERATOR], custody.id, {"odometer_km": 20000, "fuel_level": 8}
    )
    return custody


def test_an_overdue_custody_is_reported_once_a_day(users, active):
    # Late morning local time, so "an hour later" is the same day whenever the suite runs.
    now = timezone.localtime().replace(hour=11, minute=0, second=0, microsecond=0)
    Custody.objects.filter(pk=active.pk).update(
        effective_from=now - timedelta(days=3), expected_return_at=now - timedelta(hours=2)
    )
    assert custody_jobs.overdue(now) == {"overdue": 1}
    assert custody_jobs.overdue(now + timedelta(hours=1)) == {"overdue": 0}
    assert OutboxEvent.objects.filter(type="custody.overdue").count() == 1
    dispatch_all()
    supervisor = users[Role.SUPERVISOR]
    assert Notification.objects.filter(user=supervisor, kind="custody_overdue").count() == 1
    assert custody_jobs.overdue(now + timedelta(days=1)) == {"overdue": 1}
    dispatch_all()
    assert Notification.objects.filter(user=supervisor, kind="custody_overdue").count() == 2


def dispatch_all():
    """What the worker does with committed outbox events: webhooks and the notifications they cause."""
    for event_id in OutboxEvent.objects.filter(dispatched_at__isnull=True).values_list("pk", flat=True):
        dispatch_event(event_id)


def test_documents_expiring_alert_seven_days_before_and_on_the_day(users, active):
    document = Document.objects.filter(custody=active).first()
    Document.objects.filter(pk=document.pk).update(uploaded_by=users[Role.OPERATOR])
    document.refresh_from_db()
    Document.objects.filter(pk=document.pk).update(expires_on=timezone.localdate() + timedelta(days=6))
    first = notification_jobs.document_expiry(timezone.now())["notified"]
    again = notification_jobs.document_expiry(timezone.now())["notified"]
    Document.objects.filter(pk=document.pk).update(expires_on=timezone.localdate())
    on_the_day = notification_jobs.document_expiry(timezone.now())["notified"]
    assert first > 0 and again == 0 and on_the_day > 0
    assert Notification.objects.filter(user=document.uploaded_by, kind="document_expiring").count() == 2


def test_sla_breach_notifies_supervisors_once(users, make_draft):  # noqa: F811
    custody = make_draft()
    custody_services.submit_custody(users[Role.OPERATOR], custody.id)
    custody.refresh_from_db()
    later = custody.sla_approve_due_at + timedelta(minutes=1)
    custody_jobs.sla(later)
    dispatch_all()
    custody_jobs.sla(later + timedelta(minutes=5))
    dispatch_all()
    assert Notification.objects.filter(user=users[Role.SUPERVISOR], kind="sla_breached").count() == 1


def test_a_failing_job_is_recorded_and_the_others_still_run(monkeypatch):
    def broken(now):
        raise RuntimeError("database on fire")

    monkeypatch.setattr(jobs, "all_jobs", lambda: [Job("broken", broken), Job("retention", jobs.retention)])
    results = jobs.run_due_jobs(force=True)
    assert results["broken"] == {"error": "RuntimeError: database on fire"}
    assert "task_results" in results["retention"]
    broken_run = JobRun.objects.get(name="broken")
    assert (broken_run.failures, broken_run.runs) == (1, 1)


def test_a_job_runs_again_only_after_its_interval():
    now = timezone.now()
    assert "retention" in jobs.run_due_jobs(now=now, only=["retention"])
    assert jobs.run_due_jobs(now=now + timedelta(minutes=1), only=["retention"]) == {}
    assert "retention" in jobs.run_due_jobs(now=now + timedelta(hours=7), only=["retention"])


def test_the_worker_heartbeat_makes_readyz_ready(client, settings):
    from ops.management.commands.worker import beat

    settings.CUSTODY_READYZ_REQUIRE_WORKER = True
    assert client.get("/readyz").status_code == 503
    beat("test-worker")
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"]["worker"] == "ok"


def test_the_monitoring_page_shows_workers_and_job_runs(admin_user, users):
    from conftest import login_client
    from ops.management.commands.worker import beat

    beat("worker-a")
    jobs.run_due_jobs(force=True, only=["retention"])
    page = login_client(admin_user).get("/manage/monitoring/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "worker-a" in html and "retention" in html
    assert login_client(users[Role.MANAGER]).get("/manage/monitoring/").status_code == 403
