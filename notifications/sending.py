"""Send one delivery (run by the worker through `notifications.tasks`, never in a web request)."""

import logging

from django.conf import settings
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db.models import F
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from core import switches
from core.sms import get_sms_backend

from .kinds import Channel
from .models import DeliveryStatus, NotificationDelivery
from .services import MAX_ATTEMPTS, backoff

logger = logging.getLogger(__name__)

SMTP_TIMEOUT = 30  # seconds; Django's default is to wait for ever


def base_url() -> str:
    """Where links in e-mails and SMS point: the project's public URL (CUSTODY_PUBLIC_URL)."""
    return (getattr(settings, "CUSTODY_PUBLIC_URL", "") or "http://127.0.0.1:8000").rstrip("/")


def absolute(url: str) -> str:
    if not url:
        return ""
    if url.startswith(("http://", "https://")):
        return url
    return base_url() + (url if url.startswith("/") else "/" + url)


def deliver(delivery_id) -> str:
    """Try to send one delivery once; returns what happened (sent, failed, or why nothing was done)."""
    delivery = NotificationDelivery.objects.select_related("user").filter(pk=delivery_id).first()
    if delivery is None:
        return "missing"
    if delivery.status in (DeliveryStatus.SENT, DeliveryStatus.CANCELLED):
        return str(delivery.status)
    if delivery.attempts >= MAX_ATTEMPTS:
        return "gave_up"
    if switches.outbound_held():
        return "held"  # maintenance: stays pending, `retry_failed_emails` sends it afterwards
    now = timezone.now()
    user = delivery.user
    if not user.is_active:
        NotificationDelivery.objects.filter(
            pk=delivery.pk, status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED]
        ).update(status=DeliveryStatus.CANCELLED, last_error="The recipient's account is deactivated.")
        return "cancelled"
    # Claim this attempt: a concurrent duplicate task finds `attempts` changed and stops, and the retry job
    # leaves the delivery alone while the send is under way (next_attempt_at moves past it).
    attempt = delivery.attempts + 1
    claimed = NotificationDelivery.objects.filter(
        pk=delivery.pk,
        attempts=delivery.attempts,
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED],
    ).update(attempts=F("attempts") + 1, last_attempt_at=now, next_attempt_at=now + backoff(attempt))
    if not claimed:
        return "busy"
    try:
        recipient = send_sms(delivery) if delivery.channel == Channel.SMS else send_email(delivery)
    except Exception as exc:  # any backend failure is recorded and retried later
        error = f"{type(exc).__name__}: {exc}"[:2000]
        NotificationDelivery.objects.filter(pk=delivery.pk, attempts=attempt).update(
            status=DeliveryStatus.FAILED, last_error=error, next_attempt_at=now + backoff(attempt)
        )
        logger.warning(
            "notification %s (%s to user %s) failed, attempt %s: %s",
            delivery.pk,
            delivery.channel,
            user.pk,
            attempt,
            error,
        )
        return "failed"
    NotificationDelivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENT,
        sent_at=timezone.now(),
        last_error="",
        recipient=recipient[:254],
        next_attempt_at=None,
    )
    logger.info(
        "notification %s (%s, %s) sent to user %s, attempt %s",
        delivery.pk,
        delivery.channel,
        delivery.kind,
        user.pk,
        attempt,
    )
    return "sent"


def render_email(delivery: NotificationDelivery) -> tuple[str, str, str]:
    """(subject, plain text, HTML) in the recipient's language."""
    user = delivery.user
    with translation.override(user.language or settings.LANGUAGE_CODE):
        context = {
            "user": user,
            "title": delivery.title,
            "body": delivery.body,
            "url": absolute(delivery.url),
            "settings_url": absolute(reverse("accounts:settings")),
            "language": translation.get_language(),
            "rtl": translation.get_language_bidi(),
        }
        subject = _("[Custody] %(title)s") % {"title": delivery.title}
        text = render_to_string("notifications/email/notification.txt", context)
        html = render_to_string("notifications/email/notification.html", context)
    return " ".join(subject.split()), text, html


def send_email(delivery: NotificationDelivery) -> str:
    subject, text, html = render_email(delivery)
    to = delivery.user.email
    connection = get_connection(fail_silently=False)
    if hasattr(connection, "timeout") and connection.timeout is None:
        connection.timeout = SMTP_TIMEOUT
    message = EmailMultiAlternatives(
        subject,
        text,
        settings.DEFAULT_FROM_EMAIL,
        [to],
        connection=connection,
        headers={"Auto-Submitted": "auto-generated", "X-Custody-Notification": delivery.kind},
    )
    message.attach_alternative(html, "text/html")
    message.send()
    return to


def send_sms(delivery: NotificationDelivery) -> str:
    backend = get_sms_backend()
    if backend is None:
        raise RuntimeError("SMS is not configured (CUSTODY_SMS_BACKEND).")
    to = delivery.user.phone
    if not to:
        raise RuntimeError("The recipient has no phone number.")
    backend.send(to, f"{delivery.title} {absolute(delivery.url)}".strip()[:320])
    return to
