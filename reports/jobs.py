"""The reports app's scheduled jobs (run by the worker; see core/schedule.py)."""

from datetime import datetime

from core.schedule import every

from . import services


@every("kpi_rollup", hours=1)
def kpi_rollup(now: datetime) -> dict:
    """Roll up finished days of KPIs (yesterday again, and past days changed since the last run)."""
    return services.kpi_rollup(now)


@every("export_cleanup", hours=6)
def export_cleanup(now: datetime) -> dict:
    """Delete worker-built export files older than CUSTODY_EXPORT_KEEP_DAYS."""
    return services.delete_old_exports(now)
