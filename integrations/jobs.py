"""The integrations app's scheduled job (run by the worker; see core/schedule.py)."""

from datetime import datetime

from core import switches
from core.schedule import every

from .services import lease, retry_due


@every(minutes=1, after_worker_start=lease)  # a killed worker's claimed sends, once their lease ends
def webhook_retries(now: datetime) -> dict:
    if switches.outbound_held():
        return {"held": True}
    return retry_due(now)
