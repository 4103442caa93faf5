"""The custodies app's scheduled jobs (run by the worker; see core/schedule.py)."""

from datetime import datetime

from django.utils import timezone

from core.events import emit
from core.schedule import every, first_time

from .models import Custody
from .services import check_sla, event_payload


@every(minutes=5)
def sla(now: datetime) -> dict:
    """Stamp breached SLA targets (one `custody.sla_breached` event each) and escalate overdue levels."""
    return check_sla(now)


@every(minutes=5)
def overdue(now: datetime) -> dict:
    """Active custodies past their expected return: one `custody.overdue` event per custody per day."""
    today = timezone.localdate(now).isoformat()
    count = 0
    late = Custody.objects.filter(status="active", expected_return_at__lt=now).select_related("branch")
    for custody in late[:2000]:
        if first_time(f"overdue:{custody.pk}:{today}", now):
            emit(
                "custody.overdue",
                {**event_payload(custody), "expected_return_at": custody.expected_return_at, "day": today},
            )
            count += 1
    return {"overdue": count}
