import uuid

from django.db import models
from django.utils import timezone


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
