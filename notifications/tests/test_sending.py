"""E-mail (and SMS) are sent by the worker's task, in the recipient's language; failures are kept and retried."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.mail import EmailMultiAlternatives
from django.db import transaction
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from accounts.choices import Role
from core.sms import LocmemSmsBackend
from notifications import services
from notifications.models import NotificationDelivery
from notifications.tasks import send_email_notification, send_sms_notification

pytestmark = pytest.mark.django_db

TASK = "notifications.tasks.send_email_notification"


@pytest.fixture
def manager(users):
    return users[Role.MANAGER]


def one_delivery(user, kind="sla_at_risk", title="SLA at risk: CST-000042", body="Due in 30 minutes.", **kw):
    services.notify_users([user], kind, title, body, url="/custodies/", **kw)
    return NotificationDelivery.objects.get(user=user, channel="email")


def test_the_send_is_queued_in_the_same_transaction_not_sent(manager):
    with transaction.atomic():
        delivery = one_delivery(manager)
        task = DBTaskResult.objects.get(task_path=TASK)
    assert task.args_kwargs == {"args": [str(delivery.pk)], "kwargs": {}}
    assert (delivery.status, delivery.attempts) == ("pending", 0)
    assert mail.outbox == []


def test_a_rolled_back_notification_leaves_no_task(manager):
    with pytest.raises(RuntimeError), transaction.atomic():
        one_delivery(manager)
        raise RuntimeError("the dispatcher failed")
    assert not DBTaskResult.objects.filter(task_path=TASK).exists()
    assert not NotificationDelivery.objects.exists()


def test_the_task_sends_plain_text_and_html(manager):
    delivery = one_delivery(manager)
    assert send_email_notification.call(str(delivery.pk)) == "sent"
    [message] = mail.outbox
    assert message.to == ["manager@example.com"]
    assert message.subject == "[Custody] SLA at risk: CST-000042"
    assert "Hello Manager," in message.body and "Due in 30 minutes." in message.body
    assert "https://custody.example.com/custodies/" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html"
    assert '<html lang="en" dir="ltr">' in html and 'href="https://custody.example.com/custodies/"' in html
    assert message.extra_headers["Auto-Submitted"] == "auto-generated"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.recipient, delivery.last_error) == (
        "sent",
        1,
        "manager@example.com",
        "",
    )
    assert delivery.sent_at is not None


def test_the_e_mail_is_in_the_recipients_language(manager, make_draft):
    from custodies import services as custodies
    from notifications.tests.conftest import last_event

    manager.language = "ar"
    manager.save()
    custody = make_draft()
    custodies.submit_custody(manager.__class__.objects.get(email="operator@example.com"), custody.id)
    services.notify_for_event(last_event("custody.submitted"))
    delivery = NotificationDelivery.objects.get(user=manager)
    send_email_notification.call(str(delivery.pk))
    [message] = mail.outbox
    assert custody.custody_no in message.subject
    assert "needs your approval" not in message.subject and "بحاجة إلى موافقتك" in message.subject
    assert "مرحبًا" in message.body and "Hello" not in message.body
    html = message.alternatives[0][0]
    assert '<html lang="ar" dir="rtl">' in html and "فتح في نظام العهدة" in html


def test_html_escapes_what_users_typed(manager):
    delivery = one_delivery(manager, body='<script>alert("x")</script>')
    send_email_notification.call(str(delivery.pk))
    html = mail.outbox[0].alternatives[0][0]
    assert "<script>" not in html and "&lt;script&gt;" in html
    assert '<script>alert("x")</script>' in mail.outbox[0].body  # plain text is not HTML-escaped


def test_a_sent_delivery_is_never_sent_again(manager):
    delivery = one_delivery(manager)
    send_email_notification.call(str(delivery.pk))
    assert send_email_notification.call(str(delivery.pk)) == "sent"
    assert len(mail.outbox) == 1


def test_a_failure_is_recorded_and_retried_with_back_off(manager, monkeypatch):
    delivery = one_delivery(manager)

    def refuse(self, fail_silently=False):
        raise ConnectionRefusedError("SMTP server down")

    monkeypatch.setattr(EmailMultiAlternatives, "send", refuse)
    assert send_email_notification.call(str(delivery.pk)) == "failed"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert "ConnectionRefusedError: SMTP server down" in delivery.last_error
    failed_at = delivery.last_attempt_at
    queued = DBTaskResult.objects.filter(task_path=TASK).count()

    assert services.retry_failed_emails(failed_at + timedelta(minutes=4)) == 0  # not yet: 5 minutes first
    assert services.retry_failed_emails(failed_at + timedelta(minutes=6)) == 1
    assert services.retry_failed_emails(failed_at + timedelta(minutes=7)) == 0  # already queued again
    assert DBTaskResult.objects.filter(task_path=TASK).count() == queued + 1

    monkeypatch.undo()
    assert send_email_notification.call(str(delivery.pk)) == "sent"
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts, delivery.last_error) == ("sent", 2, "")
    assert len(mail.outbox) == 1
    assert services.retry_failed_emails(timezone.now() + timedelta(days=1)) == 0


def test_back_off_doubles_and_stops_after_five_attempts(manager, monkeypatch):
    delivery = one_delivery(manager)
    monkeypatch.setattr(EmailMultiAlternatives, "send", lambda self, fail_silently=False: 1 / 0)
    waits = []
    for _ in range(5):
        assert send_email_notification.call(str(delivery.pk)) == "failed"
        delivery.refresh_from_db()
        waits.append(round((delivery.next_attempt_at - delivery.last_attempt_at).total_seconds() / 60))
    assert waits == [5, 10, 20, 40, 80]
    assert delivery.attempts == 5
    assert services.retry_failed_emails(timezone.now() + timedelta(days=1)) == 0
    assert send_email_notification.call(str(delivery.pk)) == "gave_up"


def test_a_delivery_never_picked_up_is_queued_again_after_five_minutes(manager):
    delivery = one_delivery(manager)
    assert services.retry_failed_emails(delivery.created_at + timedelta(minutes=4)) == 0
    assert services.retry_failed_emails(delivery.created_at + timedelta(minutes=5)) == 1
    assert DBTaskResult.objects.filter(task_path=TASK).count() == 2
    send_email_notification.call(str(delivery.pk))
    send_email_notification.call(str(delivery.pk))  # the duplicate task finds it sent
    assert len(mail.outbox) == 1


def test_a_deactivated_recipient_is_not_written_to(manager):
    delivery = one_delivery(manager)
    manager.is_active = False
    manager.save()
    assert send_email_notification.call(str(delivery.pk)) == "cancelled"
    assert mail.outbox == []
    assert services.retry_failed_emails(timezone.now() + timedelta(days=1)) == 0


def test_sms_goes_through_the_configured_backend(manager, settings):
    settings.CUSTODY_SMS_BACKEND = "core.sms.LocmemSmsBackend"
    LocmemSmsBackend.outbox.clear()
    manager.phone = "+971501234567"
    manager.save()
    services.notify_users([manager], "sla_breached", "SLA breached: CST-000042", "", url="/custodies/")
    sms = NotificationDelivery.objects.get(channel="sms")
    assert DBTaskResult.objects.filter(task_path="notifications.tasks.send_sms_notification").count() == 1
    assert send_sms_notification.call(str(sms.pk)) == "sent"
    assert LocmemSmsBackend.outbox == [
        ("+971501234567", "SLA breached: CST-000042 https://custody.example.com/custodies/")
    ]


def test_the_console_sms_backend_prints(capsys):
    from core.sms import ConsoleSmsBackend

    ConsoleSmsBackend().send("+971500000000", "Hello")
    assert "SMS to +971500000000: Hello" in capsys.readouterr().out


def test_a_send_under_way_is_not_queued_again(manager, monkeypatch):
    """The retry job must not queue a second send while the worker is still talking to the mail server."""
    delivery = one_delivery(manager)
    # The worker was busy: the task runs 10 minutes late, when the delivery already looks stuck.
    NotificationDelivery.objects.filter(pk=delivery.pk).update(
        next_attempt_at=timezone.now() - timedelta(minutes=5)
    )
    seen = {}

    def slow_send(self, fail_silently=False):
        seen["retried"] = services.retry_failed_emails(timezone.now() + timedelta(seconds=30))
        return 1

    monkeypatch.setattr(EmailMultiAlternatives, "send", slow_send)
    assert send_email_notification.call(str(delivery.pk)) == "sent"
    assert seen["retried"] == 0
