"""Maintenance mode and the new-custodies switch (DESIGN §14, §15.2).

The write table is generated from the URL configuration and the OpenAPI schema, so a write route added
later is covered without editing this file: every POST/PUT/PATCH/DELETE answers 503 MAINTENANCE except
the few listed in `ops.middleware` (signing in/out, the switch itself).
"""

import re
import uuid
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import URLPattern, URLResolver, get_resolver
from django.urls.resolvers import RoutePattern

from accounts.choices import Role
from audit.models import AuditEntry
from config.api import api
from conftest import login_client, run_queued_tasks
from core import switches
from core.errors import Maintenance, NewCustodiesDisabled
from ops import middleware
from ops.models import SystemSettings
from ops.services import set_switches

pytestmark = pytest.mark.django_db

SAMPLE = {"uuid": str(uuid.UUID(int=1)), "int": "1", "str": "x", "slug": "x", "path": "x"}
WRITE_METHODS = ("post", "put", "patch", "delete")


def _page_routes(patterns=None, prefix=""):
    """Every page route as a sample path (the API is covered by its schema below)."""
    for entry in patterns if patterns is not None else get_resolver().url_patterns:
        if isinstance(entry.pattern, RoutePattern):
            part = re.sub(r"<(?:(\w+):)?\w+>", lambda m: SAMPLE[m.group(1) or "str"], str(entry.pattern))
        else:  # a regex route (Django admin): kept when it is a literal
            part = str(entry.pattern).lstrip("^").rstrip("$")
            if re.search(r"[()\[\]?*+\\|]", part):
                continue
        path = prefix + part
        if isinstance(entry, URLResolver):
            if not path.startswith("api/"):
                yield from _page_routes(entry.url_patterns, path)
        elif isinstance(entry, URLPattern):
            yield "/" + path


PAGE_ROUTES = sorted(set(_page_routes()))


def _api_routes():
    schema = api.get_openapi_schema()
    for path, operations in schema["paths"].items():
        sample = re.sub(r"\{\w+\}", SAMPLE["uuid"], path)
        for method in operations:
            if method in WRITE_METHODS:
                yield method, sample


API_WRITES = sorted(set(_api_routes()))


@pytest.fixture
def maintenance(db):
    set_switches(None, maintenance_mode=True, message="Back at 18:00 UTC")
    return SystemSettings.load()


def test_the_tables_are_not_empty():
    """A broken generator must not pass silently."""
    assert len(PAGE_ROUTES) > 50 and "/custodies/new/" in PAGE_ROUTES
    assert ("post", "/api/v1/custodies") in API_WRITES and len(API_WRITES) > 30


@pytest.mark.parametrize("path", PAGE_ROUTES)
def test_every_page_write_is_refused_during_maintenance(maintenance, users, path):
    client = login_client(users[Role.ADMIN])
    response = client.post(path, {"anything": "1"})
    if middleware.write_allowed_in_maintenance("POST", path, users[Role.ADMIN]):
        assert response.status_code != 503, path
        return
    assert response.status_code == 503, path
    assert "Back at 18:00 UTC" in response.content.decode()


@pytest.mark.parametrize(("method", "path"), API_WRITES)
def test_every_api_write_is_refused_during_maintenance(maintenance, users, api_as, method, path):
    client = api_as(users[Role.ADMIN])
    response = client._call(method, path, {})
    if (method.upper(), path) in middleware.ALLOWED_API_WRITES | middleware.ADMIN_API_WRITES:
        assert response.status_code != 503
        return
    assert response.status_code == 503, (method, path)
    assert response.json()["error"]["code"] == "MAINTENANCE"
    assert response.json()["error"]["message"] == "Back at 18:00 UTC"


def test_only_sign_in_out_and_the_switch_stay_open():
    assert {("POST", "/api/v1/auth/token"), ("PATCH", "/api/v1/system")} == middleware.ALLOWED_API_WRITES
    assert {
        "accounts:login",
        "accounts:login_verify",
        "accounts:logout",
        "switch_branch",
        "system",
        "support:announcement_dismiss",
        "custodies:export_selected",  # a read sent as a POST (the ticked rows' ids)
    } == middleware.ALLOWED_PAGE_WRITES
    # Administrators only: announcements (the maintenance window, a rollback) and reporting a problem.
    assert {"support:report", "support:announcements", "support:announcement_end"} == (
        middleware.ADMIN_PAGE_WRITES
    )
    assert {("POST", "/api/v1/support-tickets")} == middleware.ADMIN_API_WRITES


@pytest.mark.parametrize("path", PAGE_ROUTES)
def test_non_admins_get_the_notice_on_every_page_write_including_the_admin_only_ones(
    maintenance, users, path
):
    if middleware.write_allowed_in_maintenance("POST", path):
        return  # open to everyone (sign in/out, branch switch, hiding a banner)
    response = login_client(users[Role.OPERATOR]).post(path, {"anything": "1"})
    assert response.status_code == 503, path


def test_reads_login_and_health_keep_working(maintenance, users, api_as, client):
    for path in ("/", "/custodies/", "/vehicles/", "/customers/", "/notifications/"):
        assert login_client(users[Role.OPERATOR]).get(path).status_code == 200, path
    assert client.get("/healthz").status_code == 200
    assert client.get("/accounts/login/").status_code == 200
    user = users[Role.OPERATOR]
    response = client.post("/accounts/login/", {"username": user.email, "password": "pass-Word-123"})
    assert response.status_code in (200, 302)
    token = api_as().post("/api/v1/auth/token", {"email": user.email, "password": "x"})
    assert token.status_code != 503
    assert api_as(user).get("/api/v1/custodies").status_code == 200


def test_pages_show_the_banner_with_the_admins_message(maintenance, users):
    page = login_client(users[Role.OPERATOR]).get("/custodies/").content.decode()
    assert 'id="maintenance-banner"' in page and "Back at 18:00 UTC" in page
    assert "data-read-only=" in page
    assert 'id="new-custody-off"' in page and "Not during maintenance." in page


def test_the_login_page_shows_the_banner_too(maintenance, client):
    assert "Back at 18:00 UTC" in client.get("/accounts/login/").content.decode()


def test_htmx_writes_get_the_notice_partial(maintenance, users):
    response = login_client(users[Role.OPERATOR]).post("/notifications/read-all/", HTTP_HX_REQUEST="true")
    assert response.status_code == 503
    assert 'id="maintenance-notice"' in response.content.decode()
    assert "<html" not in response.content.decode()


def test_services_refuse_too_outside_a_request(maintenance, users, customer, branch):
    from custodies.services import create_custody

    with pytest.raises(Maintenance):
        create_custody(users[Role.OPERATOR], {"branch_id": branch.pk, "customer_id": customer.pk})
    with pytest.raises(Maintenance):
        switches.ensure_writable()


def test_an_admin_ends_maintenance_through_the_api_during_maintenance(maintenance, users, api_as):
    response = api_as(users[Role.ADMIN]).patch("/api/v1/system", {"maintenance_mode": False})
    assert response.status_code == 200
    # The message stays until an admin changes it (it may say what happened).
    assert response.json() == {
        "maintenance_mode": False,
        "new_custodies_enabled": True,
        "message": "Back at 18:00 UTC",
    }
    assert SystemSettings.load().maintenance_mode is False


def test_only_admins_switch(users, api_as):
    response = api_as(users[Role.MANAGER]).patch("/api/v1/system", {"maintenance_mode": True})
    assert response.status_code == 403
    assert SystemSettings.load().maintenance_mode is False
    assert api_as(users[Role.VIEWER]).get("/api/v1/system").json()["maintenance_mode"] is False


def test_the_api_reads_and_patches_the_switches(users, api_as):
    client = api_as(users[Role.ADMIN])
    assert client.get("/api/v1/system").json() == {
        "maintenance_mode": False,
        "new_custodies_enabled": True,
        "message": "",
    }
    response = client.patch("/api/v1/system", {"new_custodies_enabled": False, "message": "Cut-over tonight"})
    assert response.json() == {
        "maintenance_mode": False,
        "new_custodies_enabled": False,
        "message": "Cut-over tonight",
    }


def test_new_custodies_off_refuses_creation_only(users, api_as, agreement, spare_vehicle):
    from custodies.models import Custody
    from custodies.tests.test_api import create_body

    set_switches(None, new_custodies_enabled=False)
    client = api_as(users[Role.OPERATOR])
    response = client.post("/api/v1/custodies", create_body(agreement, spare_vehicle))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "NEW_CUSTODIES_DISABLED"
    assert not Custody.objects.exists()
    # Other writes keep working (the switch is not maintenance).
    assert client.post("/api/v1/notifications/read-all").status_code == 200


def test_new_custodies_off_buttons_say_why_and_the_wizard_sends_back(users):
    set_switches(None, new_custodies_enabled=False)
    client = login_client(users[Role.OPERATOR])
    page = client.get("/custodies/").content.decode()
    assert 'id="new-custody-off"' in page and "Switched off by an administrator." in page
    assert 'id="new-custodies-banner"' in page
    response = client.get("/custodies/new/", follow=True)
    assert response.redirect_chain[-1][0].endswith("/custodies/")
    assert "switched off by an administrator" in response.content.decode()
    with pytest.raises(NewCustodiesDisabled):
        switches.ensure_new_custodies_allowed()


def test_every_switch_is_audited_and_everyone_is_told(users):
    from audit.context import acting_as
    from notifications.models import Notification

    with acting_as(users[Role.ADMIN], source="web"):
        set_switches(users[Role.ADMIN], maintenance_mode=True, message="Upgrade")
    entry = AuditEntry.objects.filter(action="system.switches_changed").latest("id")
    assert entry.changes == {"maintenance_mode": [False, True], "message": ["", "Upgrade"]}
    assert entry.actor == users[Role.ADMIN]
    told = set(Notification.objects.filter(kind="system_status").values_list("user_id", flat=True))
    assert told == {u.pk for u in users.values()}


def test_an_unchanged_save_writes_nothing(users):
    set_switches(users[Role.ADMIN], maintenance_mode=False)
    assert not AuditEntry.objects.filter(action="system.switches_changed").exists()


def test_the_cli_switches(users):
    out = StringIO()
    call_command("maintenance", "on", "--message", "Until 6 pm", stdout=out)
    assert out.getvalue().strip() == "maintenance on: Until 6 pm"
    assert switches.state().maintenance_mode
    call_command("maintenance", "off", stdout=StringIO())
    call_command("new_custodies", "off", stdout=StringIO())
    state = switches.state()
    assert not state.maintenance_mode and not state.new_custodies_enabled
    entry = AuditEntry.objects.filter(action="system.switches_changed").latest("id")
    assert entry.source == "system"


def test_the_admin_page_switches_and_shows_the_state(users):
    client = login_client(users[Role.ADMIN])
    assert client.get("/manage/system/").status_code == 200
    response = client.post(
        "/manage/system/", {"maintenance_mode": "on", "new_custodies_enabled": "on", "message": "Hi"}
    )
    assert response.status_code == 302
    assert switches.state().maintenance_mode
    # ... and the same page ends it during maintenance.
    client.post("/manage/system/", {"new_custodies_enabled": "on", "message": ""})
    assert not switches.state().maintenance_mode
    assert login_client(users[Role.MANAGER]).get("/manage/system/").status_code == 403


def test_the_worker_holds_webhooks_and_emails_until_maintenance_ends(users, settings):
    from django.core import mail
    from django.utils import timezone

    from integrations.models import WebhookDelivery, WebhookEndpoint
    from integrations.services import attempt_delivery
    from notifications.models import NotificationDelivery
    from ops.jobs import run_due_jobs

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    endpoint = WebhookEndpoint.objects.create(name="r", url="http://127.0.0.1:9/hook", events=[])
    set_switches(users[Role.ADMIN], maintenance_mode=True)  # notifies everyone: e-mails are queued
    from integrations.models import OutboxEvent

    event = OutboxEvent.objects.create(type="custody.created", data={})
    delivery = WebhookDelivery.objects.create(event=event, endpoint=endpoint)
    assert attempt_delivery(delivery.pk) is None
    run_queued_tasks()
    assert run_due_jobs(force=True, only=["webhook_retries", "email_retries"]) == {
        "webhook_retries": {"held": True},
        "email_retries": {"held": True},
    }
    delivery.refresh_from_db()
    assert delivery.status == "pending" and delivery.attempts == 0
    emails = NotificationDelivery.objects.filter(channel="email")
    assert emails.exists() and not emails.exclude(status="pending").exists()
    assert mail.outbox == []
    # Maintenance ends: what was held goes out (nothing was dropped).
    set_switches(users[Role.ADMIN], maintenance_mode=False)
    NotificationDelivery.objects.update(next_attempt_at=timezone.now())  # as after the retry delay
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    run_due_jobs(force=True, only=["webhook_retries", "email_retries"])
    run_queued_tasks()
    held = emails.count()
    assert NotificationDelivery.objects.filter(channel="email", status="sent").count() == held
    assert len(mail.outbox) >= held
    delivery.refresh_from_db()
    assert delivery.attempts == 1  # attempted (the loopback port refuses; it is retried later)


def test_reporting_a_problem_is_paused_for_non_admins_with_a_clear_message(maintenance, users, api_as):
    from support.models import SupportTicket

    operator = login_client(users[Role.OPERATOR])
    page = operator.get("/custodies/").content.decode()
    # The dialog on every page says so instead of offering a form that would be refused.
    assert 'id="report-paused"' in page
    assert "Reporting a problem is paused during maintenance" in page
    assert "/support/report/" not in page.split('id="report-problem"')[1].split("</div></div>\n</div>")[0]
    assert 'id="report-paused"' in operator.get("/support/report/").content.decode()
    body = {"subject": "Broken", "description": "It broke", "severity": "normal"}
    refused = operator.post("/support/report/", body)
    assert refused.status_code == 503
    text = refused.content.decode()
    assert "Reporting a problem is paused during maintenance" in text and "Back at 18:00 UTC" in text
    api_refused = api_as(users[Role.OPERATOR]).post("/api/v1/support-tickets", body)
    assert api_refused.status_code == 503
    assert api_refused.json()["error"]["code"] == "MAINTENANCE"
    assert "Reporting a problem is paused" in api_refused.json()["error"]["message"]
    assert "Back at 18:00 UTC" in api_refused.json()["error"]["message"]
    assert not SupportTicket.objects.exists()


def test_admins_still_announce_and_report_during_maintenance(maintenance, users, api_as):
    from support.models import Announcement, SupportTicket

    admin = login_client(users[Role.ADMIN])
    page = admin.get("/support/announcements/").content.decode()
    assert 'id="announcement-form" data-maintenance-ok' in page
    posted = admin.post(
        "/support/announcements/", {"title": "Maintenance until 18:00", "body": "", "level": "warning"}
    )
    assert posted.status_code == 302
    announcement = Announcement.objects.get()
    assert admin.post(f"/support/announcements/{announcement.pk}/end/").status_code == 302
    body = {"subject": "Found during cut-over", "description": "Details", "severity": "high"}
    assert admin.post("/support/report/", body).status_code == 302
    assert api_as(users[Role.ADMIN]).post("/api/v1/support-tickets", body).status_code == 201
    assert SupportTicket.objects.count() == 2
    assert 'id="report-paused"' not in admin.get("/custodies/").content.decode()


def test_non_admins_may_hide_a_banner_but_not_post_during_maintenance(maintenance, users):
    from support.models import Announcement
    from support.services import post_announcement

    announcement = post_announcement(users[Role.ADMIN], title="Cut-over tonight")
    operator = login_client(users[Role.OPERATOR])
    hidden = operator.post(f"/support/announcements/{announcement.pk}/dismiss/", {"next": "/"})
    assert hidden.status_code == 302
    refused = operator.post("/support/announcements/", {"title": "x", "level": "info"})
    assert refused.status_code == 503
    assert Announcement.objects.count() == 1


def test_the_login_forms_stay_usable_in_the_browser_during_maintenance(maintenance, client):
    """app.js turns every POST form of a read-only page into a notice unless it is marked as allowed;
    found by trying it in a browser: nobody could log in during maintenance."""
    page = client.get("/accounts/login/").content.decode()
    assert "data-read-only=" in page
    assert "data-maintenance-ok" in page.split("<form", 1)[1].split(">", 1)[0]
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    template = (root / "accounts/templates/accounts/login_verify.html").read_text(encoding="utf-8")
    assert "data-maintenance-ok" in template.split("<form", 1)[1].split(">", 1)[0]


@pytest.mark.parametrize(
    "stored", [None, (False, True, ""), (True, True, "Back at 6"), (False, False, "Switched off: ü & <b>")]
)
def test_the_switches_are_read_as_stored(stored):
    """switches.state() (the hand-written read) answers what the row holds, booleans as booleans."""
    SystemSettings.objects.all().delete()
    if stored is not None:
        SystemSettings.objects.create(
            pk=1, maintenance_mode=stored[0], new_custodies_enabled=stored[1], message=stored[2]
        )
    state = switches.state()
    expected = stored or (False, True, "")
    assert (state.maintenance_mode, state.new_custodies_enabled, state.message) == expected
    assert type(state.maintenance_mode) is bool and type(state.new_custodies_enabled) is bool


# ---- one read of the switches per request (core.switches.one_read_per_request) ---------------------------


def _switch_reads(queries) -> int:
    return sum('"ops_systemsettings"' in q["sql"] and q["sql"].startswith("SELECT") for q in queries)


def test_a_create_reads_the_switches_once_and_the_next_request_sees_a_flip_at_once(
    users, api_as, agreement, spare_vehicle, tax_profile
):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from custodies.tests.test_api import create_body

    SystemSettings.load()
    client = api_as(users[Role.OPERATOR])
    with CaptureQueriesContext(connection) as queries:
        assert client.post("/api/v1/custodies", create_body(agreement, spare_vehicle)).status_code == 201
    assert _switch_reads(queries) == 1  # the middleware's; the service's check answered from it

    # Flipped behind this process's back (another server process): the next request sees it.
    SystemSettings.objects.filter(pk=1).update(new_custodies_enabled=False)
    response = client.post("/api/v1/custodies", create_body(agreement, spare_vehicle))
    assert (response.status_code, response.json()["error"]["code"]) == (503, "NEW_CUSTODIES_DISABLED")
    SystemSettings.objects.filter(pk=1).update(maintenance_mode=True)
    response = client.post("/api/v1/custodies", create_body(agreement, spare_vehicle))
    assert (response.status_code, response.json()["error"]["code"]) == (503, "MAINTENANCE")


def test_outside_a_request_every_read_goes_to_the_database(db):
    set_switches(None, maintenance_mode=False)
    assert switches.state().maintenance_mode is False
    SystemSettings.objects.filter(pk=1).update(maintenance_mode=True)
    assert switches.state().maintenance_mode is True


def test_a_request_keeps_its_first_read_until_it_flips_the_switches_itself(db):
    set_switches(None, maintenance_mode=False)
    with switches.one_read_per_request():
        assert switches.state().maintenance_mode is False
        SystemSettings.objects.filter(pk=1).update(maintenance_mode=True)
        assert switches.state().maintenance_mode is False  # kept for the rest of the request
        set_switches(None, maintenance_mode=False, message="Soon")
        assert switches.state().message == "Soon"  # its own flip: read again
    assert switches.state().maintenance_mode is False
    SystemSettings.objects.filter(pk=1).update(maintenance_mode=True)
    assert switches.state().maintenance_mode is True
