"""Per-user preferences per kind and channel (all on by default) and the generic `notify_users`."""

import pytest
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from accounts.choices import Role
from audit.models import AuditEntry
from conftest import login_client
from notifications.models import Notification, NotificationDelivery, NotificationOptOut
from notifications.services import notify_for_event, notify_users, preference_rows, save_preferences

from .conftest import last_event

pytestmark = pytest.mark.django_db


def test_everything_is_on_by_default(users):
    rows = preference_rows(users[Role.SUPERVISOR])
    assert {row["kind"].code for row in rows} >= {"approval_required", "sla_breached", "custody_approved"}
    assert all(cell["enabled"] for row in rows for cell in row["cells"])
    assert [cell["channel"] for cell in rows[0]["cells"]] == ["in_app", "email"]  # SMS off by default


def test_the_grid_shows_only_what_applies_to_the_role(users):
    # A viewer is asked only about what reaches everyone: their support tickets, announcements and
    # the exports they asked for.
    assert {row["kind"].code for row in preference_rows(users[Role.VIEWER])} == {
        "support_ticket",
        "announcement",
        "export_ready",
    }
    operator_kinds = {row["kind"].code for row in preference_rows(users[Role.OPERATOR])}
    assert "custody_rejected" in operator_kinds and "approval_required" not in operator_kinds
    assert "webhook_endpoint_disabled" in {row["kind"].code for row in preference_rows(users[Role.ADMIN])}


def test_an_e_mail_opt_out_keeps_the_inbox_item(users, make_draft):
    from custodies import services as custodies

    NotificationOptOut.objects.create(user=users[Role.SUPERVISOR], kind="approval_required", channel="email")
    custodies.submit_custody(users[Role.OPERATOR], make_draft().id)
    notify_for_event(last_event("custody.submitted"))
    supervisor = users[Role.SUPERVISOR]
    assert Notification.objects.filter(user=supervisor).count() == 1
    assert not NotificationDelivery.objects.filter(user=supervisor).exists()
    assert NotificationDelivery.objects.filter(user=users[Role.MANAGER], channel="email").count() == 1


def test_an_in_app_opt_out_still_sends_the_e_mail(users):
    NotificationOptOut.objects.create(user=users[Role.MANAGER], kind="sla_at_risk", channel="in_app")
    assert notify_users([users[Role.MANAGER]], "sla_at_risk", "At risk", "Soon") == 1
    assert not Notification.objects.exists()
    delivery = NotificationDelivery.objects.get()
    assert (delivery.channel, delivery.title, delivery.notification) == ("email", "At risk", None)


def test_a_user_who_opted_out_of_everything_for_a_kind_is_not_counted(users):
    for channel in ("in_app", "email"):
        NotificationOptOut.objects.create(user=users[Role.MANAGER], kind="sla_at_risk", channel=channel)
    assert notify_users([users[Role.MANAGER], users[Role.SUPERVISOR]], "sla_at_risk", "At risk", "") == 1


def test_an_opt_out_of_one_kind_does_not_touch_another(users):
    NotificationOptOut.objects.create(user=users[Role.MANAGER], kind="sla_at_risk", channel="email")
    notify_users([users[Role.MANAGER]], "sla_breached", "Breached", "")
    assert NotificationDelivery.objects.filter(kind="sla_breached").count() == 1


def test_saving_the_grid_stores_only_the_boxes_switched_off_and_is_audited(users):
    manager = users[Role.MANAGER]
    shown = [
        f"{row['kind'].code}:{cell['channel']}" for row in preference_rows(manager) for cell in row["cells"]
    ]
    save_preferences(manager, [value for value in shown if value != "sla_at_risk:email"])
    assert list(NotificationOptOut.objects.values_list("kind", "channel")) == [("sla_at_risk", "email")]
    assert AuditEntry.objects.filter(action="notifications.preferences_changed").count() == 1
    save_preferences(manager, shown)  # tick it again
    assert not NotificationOptOut.objects.exists()


def test_saving_keeps_opt_outs_of_kinds_the_role_does_not_see(users):
    operator = users[Role.OPERATOR]
    NotificationOptOut.objects.create(
        user=operator, kind="sla_breached", channel="email"
    )  # not shown to operators
    save_preferences(operator, [])
    kinds = set(NotificationOptOut.objects.filter(user=operator).values_list("kind", flat=True))
    assert "sla_breached" in kinds and "custody_rejected" in kinds


def test_the_settings_page_shows_the_grid_and_saves_it(users):
    client = login_client(users[Role.SUPERVISOR])
    page = client.get("/accounts/settings/").content.decode()
    assert "Notification preferences" in page
    assert 'value="approval_required:email" checked' in page
    response = client.post("/notifications/preferences/", {"enabled": ["approval_required:in_app"]})
    assert response.status_code == 302 and response.url.endswith(
        "/accounts/settings/#notification-preferences"
    )
    assert NotificationOptOut.objects.filter(
        user=users[Role.SUPERVISOR], kind="approval_required", channel="email"
    ).exists()
    page = client.get("/accounts/settings/").content.decode()
    assert 'value="approval_required:email" checked' not in page
    assert 'value="approval_required:in_app" checked' in page


def test_a_viewer_is_asked_only_about_support_and_announcements(users):
    page = login_client(users[Role.VIEWER]).get("/accounts/settings/").content.decode()
    assert "Support tickets" in page and "Announcements" in page
    assert "Approval needed" not in page


def test_the_preferences_form_needs_a_post(users):
    client = login_client(users[Role.MANAGER])
    assert client.get("/notifications/preferences/").status_code == 405


def test_sms_is_a_channel_only_when_a_backend_is_configured(users, settings):
    settings.CUSTODY_SMS_BACKEND = "core.sms.LocmemSmsBackend"
    manager = users[Role.MANAGER]
    assert [cell["channel"] for cell in preference_rows(manager)[0]["cells"]] == ["in_app", "email", "sms"]
    manager.phone = "+971501234567"
    manager.save()
    notify_users(
        [manager, users[Role.SUPERVISOR]], "sla_at_risk", "At risk", ""
    )  # the supervisor has no phone
    assert sorted(NotificationDelivery.objects.values_list("user__email", "channel")) == [
        ("manager@example.com", "email"),
        ("manager@example.com", "sms"),
        ("supervisor@example.com", "email"),
    ]


# ---- notify_users -------------------------------------------------------------------------------


def test_a_dedupe_key_notifies_each_user_once(users, make_draft):
    custody = make_draft()
    staff = [users[Role.SUPERVISOR], users[Role.MANAGER]]
    key = f"overdue:{custody.pk}:2026-01-01"
    assert (
        notify_users(staff, "custody_overdue", "Overdue", "Back yesterday", custody=custody, dedupe_key=key)
        == 2
    )
    assert (
        notify_users(
            staff + [users[Role.ADMIN]], "custody_overdue", "Overdue", "", custody=custody, dedupe_key=key
        )
        == 1
    )
    assert Notification.objects.filter(kind="custody_overdue").count() == 3
    assert NotificationDelivery.objects.filter(kind="custody_overdue").count() == 3
    note = Notification.objects.filter(user=users[Role.SUPERVISOR]).get()
    assert note.url == f"/custodies/{custody.pk}/" and note.custody == custody


def test_without_a_key_every_call_notifies(users):
    notify_users([users[Role.ADMIN]], "webhook_endpoint_disabled", "Disabled", "")
    notify_users([users[Role.ADMIN]], "webhook_endpoint_disabled", "Disabled", "")
    assert Notification.objects.count() == 2


def test_an_unknown_kind_is_a_programming_error(users):
    with pytest.raises(ValueError, match="unknown notification kind"):
        notify_users([users[Role.ADMIN]], "sla_breach", "x", "")


def test_lazy_texts_are_rendered_in_each_recipients_language(users):
    arabic = users[Role.MANAGER]
    arabic.language = "ar"
    arabic.save()
    title = format_lazy("{}: {}", gettext_lazy("SLA at risk"), "CST-000001")
    notify_users([arabic, users[Role.SUPERVISOR]], "sla_at_risk", title, gettext_lazy("Custody"))
    assert Notification.objects.get(user=users[Role.SUPERVISOR]).title == "SLA at risk: CST-000001"
    note = Notification.objects.get(user=arabic)
    assert note.title.endswith(": CST-000001") and "SLA" not in note.title
    assert note.body == "العهدة"
