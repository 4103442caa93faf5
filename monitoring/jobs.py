"""Monitoring's scheduled jobs (run by the worker; see core/schedule.py): flush, probe, retention, triggers."""

from datetime import datetime, timedelta

from core.schedule import every

from . import collector, triggers
from .figures import RETENTION_DAYS
from .models import Probe, RequestRollup, SlowQuery, UserActivity


@every("monitoring_probe", minutes=1)
def flush_and_probe(now: datetime) -> dict:
    """Flush this process's counts and record the app's own probe for this minute (uptime)."""
    rows = collector.flush(now)
    ok, detail = True, ""
    try:
        from ops.health import database

        problem = database()
        ok, detail = problem is None, problem or ""
    except Exception as exc:  # noqa: BLE001 - a failed probe is the figure, not an error
        ok, detail = False, exc.__class__.__name__
    Probe.objects.update_or_create(
        minute=collector.minute_of(now), defaults={"ok": ok, "detail": detail[:200]}
    )
    return {"rows": rows, "probe_ok": ok}


@every("monitoring_retention", hours=6)
def retention(now: datetime) -> dict:
    cutoff = now - timedelta(days=RETENTION_DAYS)
    rollups, _ = RequestRollup.objects.filter(minute__lt=cutoff).delete()
    probes, _ = Probe.objects.filter(minute__lt=cutoff).delete()
    activity, _ = UserActivity.objects.filter(day__lt=cutoff.date()).delete()
    slow, _ = SlowQuery.objects.filter(minute__lt=cutoff).delete()
    return {"rollups": rollups, "probes": probes, "activity": activity, "slow_queries": slow}


@every(hours=1)
def rollback_triggers(now: datetime) -> dict:
    return triggers.check(now)
