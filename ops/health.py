"""What /readyz and the monitoring probe check: each returns None when fine, else what failed."""

import uuid

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import connection


def database() -> str | None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
    except Exception as exc:  # noqa: BLE001 - any failure means not ready
        return f"database: {exc.__class__.__name__}"
    return None


def storage() -> str | None:
    name = f"health/readyz-{uuid.uuid4().hex}.txt"
    try:
        saved = default_storage.save(name, ContentFile(b"ok"))
        default_storage.delete(saved)
    except Exception as exc:  # noqa: BLE001
        return f"storage: {exc.__class__.__name__}"
    return None


def worker() -> str | None:
    """A worker heartbeat within the last 2 minutes (required in production, reported in development)."""
    from datetime import timedelta

    from django.conf import settings
    from django.utils import timezone

    from .models import WorkerHeartbeat

    try:
        fresh = WorkerHeartbeat.objects.filter(seen_at__gte=timezone.now() - timedelta(minutes=2)).exists()
    except Exception as exc:  # noqa: BLE001
        return f"worker: {exc.__class__.__name__}"
    if fresh or not settings.CUSTODY_READYZ_REQUIRE_WORKER:
        return None
    return "worker: no heartbeat in the last 2 minutes"
