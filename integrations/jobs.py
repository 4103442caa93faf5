"""The integrations app's scheduled job (run by the worker; see core/schedule.py)."""

from datetime import datetime

from core import switches
from core.schedule import every

from .services import retry_due


@every(minutes=1)
def webhook_retries(now: datetime) -> dict:
    if switches.outbound_held():
        return {"held": True}
    return retry_due(now)
