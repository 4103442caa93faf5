import uuid

from django.db import models
from django.utils import timezone

from core.crypto import EncryptedTextField

from .choices import DeliveryStatus, IntegrationType


class OutboxEvent(models.Model):
    """Events of DESIGN §9, written in the same transaction as the change that causes them.

    The webhook worker delivers them (at least once); `id` is the event id receivers de-duplicate on.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    type = models.CharField(max_length=60, db_index=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    data = models.JSONField(default=dict)
    dispatched_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.type} {self.id}"


class WebhookEndpoint(models.Model):
    """An external system that receives signed events (DESIGN §9)."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=120)
    integration_type = models.CharField(
        max_length=10, choices=IntegrationType.choices, default=IntegrationType.CUSTOM
    )
    url = models.URLField(max_length=500)
    # Needed in clear to sign (and to check inbound signatures); shown to the admin once, then only its
    # prefix; encrypted at rest with CUSTODY_SECRET_KEYS.
    secret = EncryptedTextField()
    events = models.JSONField(default=list, blank=True, help_text="Event types; empty = all events.")
    active = models.BooleanField(default=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    disabled_reason = models.CharField(max_length=200, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self):
        return self.name

    def wants(self, event_type: str) -> bool:
        return not self.events or event_type in self.events


class WebhookDelivery(models.Model):
    """One event to one endpoint; `id` is the X-Custody-Delivery header, the same across retries."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    event = models.ForeignKey(OutboxEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=DeliveryStatus.choices, default=DeliveryStatus.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="delivery_due"),
            models.Index(fields=["endpoint", "-created_at"], name="delivery_endpoint"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="delivery_once_per_endpoint")
        ]

    def __str__(self):
        return f"{self.event.type} → {self.endpoint.name}"


class DeliveryAttempt(models.Model):
    id = models.BigAutoField(primary_key=True)
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    at = models.DateTimeField(default=timezone.now)
    status_code = models.PositiveIntegerField(null=True, blank=True)
    latency_ms = models.PositiveIntegerField(null=True, blank=True)
    response_excerpt = models.TextField(blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self):
        return f"attempt {self.number}: {self.status_code or self.error}"


class InboundEvent(models.Model):
    """Events received from fleet, billing and claims systems; idempotent by (source, event id)."""

    id = models.BigAutoField(primary_key=True)
    source = models.CharField(max_length=10, choices=IntegrationType.choices)
    event_id = models.CharField(max_length=100)
    type = models.CharField(max_length=60)
    payload = models.JSONField(default=dict)
    received_at = models.DateTimeField(default=timezone.now)
    result = models.CharField(max_length=300, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["source", "event_id"], name="inbound_once")]

    def __str__(self):
        return f"{self.source}:{self.type}:{self.event_id}"
