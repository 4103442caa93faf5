"""The audit app's scheduled job (run by the worker; see core/schedule.py)."""

from datetime import datetime

from core.schedule import every

from .services import link_pending


@every(minutes=1)
def audit_link(now: datetime) -> dict:
    return {"linked": link_pending(wait=True)}  # entries whose post-commit linking was skipped
