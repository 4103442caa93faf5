"""Notifications (DESIGN §10): the in-app inbox, the outgoing messages per channel, the opt-outs."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .kinds import Channel

USER = settings.AUTH_USER_MODEL


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SENT = "sent", _("Sent")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


class Notification(models.Model):
    """One item of a user's inbox (the in-app channel).

    Idempotency: one row per (event, user) and per (dedupe key, user); the channel is always in-app.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        USER, on_delete=models.CASCADE, related_name="notifications", verbose_name=_("user")
    )
    kind = models.CharField(_("kind"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    custody = models.ForeignKey(
        "custodies.Custody",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="notifications",
        verbose_name=_("custody"),
    )
    event = models.ForeignKey(
        "integrations.OutboxEvent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("event"),
    )
    dedupe_key = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        indexes = [
            models.Index(fields=["user", "-created_at"], name="notification_inbox"),
            models.Index(fields=["user"], condition=Q(read_at__isnull=True), name="notification_unread"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "user"],
                condition=Q(event__isnull=False),
                name="notification_once_per_event_user",
            ),
            models.UniqueConstraint(
                fields=["dedupe_key", "user"],
                condition=~Q(dedupe_key=""),
                name="notification_once_per_key_user",
            ),
        ]

    def __str__(self):
        return self.title

    @property
    def is_read(self) -> bool:
        return self.read_at is not None


class NotificationDelivery(models.Model):
    """One message on an outside channel (e-mail, SMS) to one user; also the send log.

    Created with the notification and sent by a django-tasks task on the worker, never in a request.
    `attempts` counts sends tried; failures keep the error and are retried with back-off.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(
        USER, on_delete=models.CASCADE, related_name="notification_deliveries", verbose_name=_("user")
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    kind = models.CharField(_("kind"), max_length=40)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(_("link"), max_length=500, blank=True)
    custody = models.ForeignKey(
        "custodies.Custody",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("custody"),
    )
    event = models.ForeignKey(
        "integrations.OutboxEvent",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("event"),
    )
    notification = models.ForeignKey(
        Notification, null=True, blank=True, on_delete=models.SET_NULL, related_name="deliveries"
    )
    dedupe_key = models.CharField(max_length=200, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING
    )
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    last_error = models.TextField(_("last error"), blank=True)
    recipient = models.CharField(_("sent to"), max_length=254, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    last_attempt_at = models.DateTimeField(_("last attempt"), null=True, blank=True)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    sent_at = models.DateTimeField(_("sent"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("notification delivery")
        verbose_name_plural = _("notification deliveries")
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notification_delivery_retry"),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "user", "channel"],
                condition=Q(event__isnull=False),
                name="delivery_once_per_event_user_channel",
            ),
            models.UniqueConstraint(
                fields=["dedupe_key", "user", "channel"],
                condition=~Q(dedupe_key=""),
                name="delivery_once_per_key_user_channel",
            ),
        ]

    def __str__(self):
        return f"{self.channel} → {self.user_id}: {self.title}"


class NotificationOptOut(models.Model):
    """A user switched off one kind on one channel; everything else is on (DESIGN §10)."""

    id = models.BigAutoField(primary_key=True)
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="notification_opt_outs")
    kind = models.CharField(max_length=40)
    channel = models.CharField(max_length=10, choices=Channel.choices)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("notification opt-out")
        verbose_name_plural = _("notification opt-outs")
        constraints = [
            models.UniqueConstraint(fields=["user", "kind", "channel"], name="notification_opt_out_once"),
        ]

    def __str__(self):
        return f"{self.user_id} {self.kind}/{self.channel} off"
