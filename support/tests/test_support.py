"""Support: report a problem, tickets and their statuses, comments, the survey, announcements, figures."""

import io
from datetime import timedelta

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from audit.models import AuditEntry
from conftest import ApiClient, login_client, run_queued_tasks
from notifications.models import Notification
from support import selectors, services
from support.models import Announcement, Feedback, SupportTicket

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_banner_cache():
    selectors.forget_current_announcements()


def png_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    return buffer.getvalue()


def ticket_of(user, **extra):
    fields = {"subject": "Cannot print", "description": "The PDF is blank.", "severity": "high"}
    fields.update(extra)
    return services.create_ticket(user, **fields)


def test_reporting_a_problem_from_a_page_keeps_the_page_request_id_and_screenshot(users):
    client = login_client(users["operator"])
    response = client.post(
        "/support/report/",
        {
            "subject": "Save button does nothing",
            "severity": "urgent",
            "description": "On the custody form.",
            "page_url": "/custodies/new/",
            "request_id": "req-123",
            "attachment": SimpleUploadedFile("screen shot.png", png_bytes(), content_type="image/png"),
        },
    )
    ticket = SupportTicket.objects.get()
    assert response["Location"] == f"/support/{ticket.pk}/"
    assert ticket.ticket_no == "SUP-000001"
    assert (ticket.status, ticket.severity, ticket.page_url, ticket.request_id) == (
        "open",
        "urgent",
        "/custodies/new/",
        "req-123",
    )
    assert ticket.attachment_content_type == "image/png"
    assert ticket.attachment_name == "screen shot.png"
    download = client.get(f"/support/{ticket.pk}/attachment/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == png_bytes()
    # The admin hears about it in the inbox and, through the worker, by e-mail.
    assert Notification.objects.filter(user=users["admin"], kind="support_ticket").count() == 1
    run_queued_tasks()
    assert any("SUP-000001" in m.subject for m in mail.outbox)
    assert AuditEntry.objects.filter(action="support_ticket.created").exists()


def test_an_attachment_that_is_not_a_document_or_image_is_refused(users):
    response = login_client(users["operator"]).post(
        "/support/report/",
        {
            "subject": "x",
            "severity": "low",
            "description": "y",
            "attachment": SimpleUploadedFile("a.png", b"MZ\x90\x00 program", content_type="image/png"),
        },
    )
    assert response.status_code == 422
    assert "Windows program" in response.content.decode()
    assert not SupportTicket.objects.exists()


def test_every_page_offers_report_a_problem_with_the_page_filled_in(users):
    html = login_client(users["viewer"]).get("/vehicles/?q=abc", HTTP_X_REQUEST_ID="r-42").content.decode()
    assert 'id="report-problem"' in html
    assert 'name="page_url" value="/vehicles/?q=abc"' in html
    assert 'name="request_id" value="r-42"' in html


def test_users_see_their_own_tickets_and_admins_all(users):
    mine = ticket_of(users["operator"])
    theirs = ticket_of(users["viewer"])
    operator = login_client(users["operator"])
    assert operator.get(f"/support/{mine.pk}/").status_code == 200
    assert operator.get(f"/support/{theirs.pk}/").status_code == 404
    assert ApiClient(users["operator"]).get(f"/api/v1/support-tickets/{theirs.pk}").status_code == 404
    assert ApiClient(users["operator"]).get("/api/v1/support-tickets").json()["count"] == 1
    assert ApiClient(users["admin"]).get("/api/v1/support-tickets").json()["count"] == 2


def test_the_api_creates_a_ticket_and_moves_it_through_its_statuses(users):
    reporter = ApiClient(users["finance"])
    response = reporter.post(
        "/api/v1/support-tickets",
        {
            "subject": "Totals look wrong",
            "description": "VAT twice",
            "severity": "normal",
            "page_url": "/billing/",
        },
        headers={"HTTP_X_REQUEST_ID": "abc-1"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["status"] == "open" and body["ticket_no"].startswith("SUP-") and body["request_id"] == "abc-1"
    assert body["allowed_statuses"] == ["closed"]
    path = f"/api/v1/support-tickets/{body['id']}"

    # Role before state: the reporter may not start work on it.
    assert reporter.patch(path, {"status": "in_progress"}).status_code == 403
    admin = ApiClient(users["admin"])
    assert admin.patch(path, {"status": "closed", "version": 99}).status_code == 409
    assert (
        admin.patch(path, {"status": "in_progress", "assignee_id": str(users["admin"].pk)}).json()["status"]
        == "in_progress"
    )
    assert admin.patch(path, {"status": "open"}).json()["status"] == "open"
    assert admin.patch(path, {"status": "resolved"}).json()["status"] == "resolved"
    assert admin.patch(path, {"status": "in_progress"}).status_code == 409  # not in the table
    done = reporter.patch(path, {"status": "closed"})
    assert done.status_code == 200 and done.json()["closed_at"]
    assert reporter.patch(path, {"status": "open"}).json()["error"]["code"] == "INVALID_TRANSITION"
    assert reporter.patch(path, {"status": "lost"}).status_code == 422
    statuses = list(
        AuditEntry.objects.filter(action="support_ticket.status_changed")
        .order_by("id")
        .values_list("changes", flat=True)
    )
    assert [c["status"][1] for c in statuses] == ["in_progress", "open", "resolved", "closed"]
    # The reporter was told of each change by an admin.
    assert Notification.objects.filter(user=users["finance"], kind="support_ticket").count() == 3


def test_comments_notify_the_other_side(users):
    ticket = ticket_of(users["operator"])
    services.assign(users["admin"], ticket, users["admin"])
    api = ApiClient(users["admin"])
    response = api.post(f"/api/v1/support-tickets/{ticket.pk}/comments", {"body": "Which printer?"})
    assert response.status_code == 201
    assert Notification.objects.filter(user=users["operator"], title__contains="comment").count() == 1
    login_client(users["operator"]).post(
        f"/support/{ticket.pk}/comments/", {"body": "The one at the counter."}
    )
    assert ticket.comments.count() == 2
    assert Notification.objects.filter(user=users["admin"], title__contains="comment").count() == 1
    assert (
        ApiClient(users["viewer"])
        .post(f"/api/v1/support-tickets/{ticket.pk}/comments", {"body": "hi"})
        .status_code
        == 404
    )


def test_after_resolution_the_reporter_rates_the_ticket_once(users):
    ticket = ticket_of(users["operator"])
    client = login_client(users["operator"])
    assert "ticket-survey" not in client.get(f"/support/{ticket.pk}/").content.decode()
    services.change_status(users["admin"], ticket, "resolved")
    assert "ticket-survey" in client.get(f"/support/{ticket.pk}/").content.decode()
    api = ApiClient(users["operator"])
    response = api.post("/api/v1/feedback", {"score": 4, "comment": "Quick", "ticket_id": str(ticket.pk)})
    assert response.status_code == 201
    assert api.post("/api/v1/feedback", {"score": 5, "ticket_id": str(ticket.pk)}).status_code == 409
    assert api.post("/api/v1/feedback", {"score": 6}).status_code == 422
    assert "ticket-survey" not in client.get(f"/support/{ticket.pk}/").content.decode()


def test_the_monthly_survey_shows_after_the_first_week_and_once_a_month(users):
    user = users["viewer"]
    assert not selectors.survey_due(user)  # a new account
    user.date_joined = timezone.now() - timedelta(days=10)
    user.save()
    assert selectors.survey_due(user)
    client = login_client(user)  # the survey date is read at login
    assert "survey-card" in client.get("/").content.decode()
    client.post("/support/feedback/", {"score": "5", "comment": "Great", "next": "/"})
    assert "survey-card" not in client.get("/").content.decode()
    assert not selectors.survey_due(user)
    assert selectors.survey_due(user, now=timezone.now() + timedelta(days=31))
    # "Not now" counts too: the question waits another month.
    Feedback.objects.filter(user=user).delete()
    services.skip_survey(user)
    assert not selectors.survey_due(user)
    assert selectors.survey_due(user, now=timezone.now() + timedelta(days=31))


def test_an_admin_announcement_shows_a_banner_notifies_and_emails_everyone(users):
    client = login_client(users["admin"])
    response = client.post(
        "/support/announcements/",
        {"title": "Go-live on Sunday", "body": "Old system read-only.", "level": "warning"},
    )
    assert response.status_code == 302
    announcement = Announcement.objects.get()
    assert Notification.objects.filter(kind="announcement").count() == len(users)
    run_queued_tasks()
    assert sum("Go-live on Sunday" in m.subject for m in mail.outbox) == len(users)
    viewer = login_client(users["viewer"])
    # Every page loads the banners after itself (HTMX), so the page needs no query for them.
    assert 'hx-get="/support/extras/?next=/vehicles/"' in viewer.get("/vehicles/").content.decode()
    assert "Go-live on Sunday" in viewer.get("/support/extras/?next=/vehicles/").content.decode()
    viewer.post(f"/support/announcements/{announcement.pk}/dismiss/", {"next": "/"})
    assert "Go-live on Sunday" not in viewer.get("/support/extras/").content.decode()
    client.post(f"/support/announcements/{announcement.pk}/end/")
    assert "Go-live on Sunday" not in login_client(users["operator"]).get("/support/extras/").content.decode()
    assert (
        login_client(users["manager"])
        .post("/support/announcements/", {"title": "x", "level": "info"})
        .status_code
        == 403
    )


def test_support_figures_for_the_monitoring_page(users):
    ticket = ticket_of(users["operator"])
    SupportTicket.objects.filter(pk=ticket.pk).update(created_at=timezone.now() - timedelta(hours=5))
    services.change_status(users["admin"], ticket, "resolved")
    ticket_of(users["viewer"])
    Feedback.objects.create(user=users["operator"], score=4)
    Feedback.objects.create(user=users["viewer"], score=2)
    figures = selectors.support_figures_last_days(30)
    assert figures["tickets_opened"] == 2
    assert sum(day["count"] for day in figures["tickets_per_day"]) == 2
    assert figures["open_now"] == 1
    assert figures["resolved"] == 1
    assert figures["resolution_hours"]["median"] == 5.0
    assert figures["satisfaction"] == {"average": 3.0, "responses": 2}
