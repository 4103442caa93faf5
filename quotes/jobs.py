"""The quotes app's scheduled job (run by the worker; see core/schedule.py)."""

from datetime import datetime

from core.schedule import every

from .services import expire_quotes


# Daily in effect: a quote expires once the day after valid_until starts; hourly keeps that prompt.
@every(hours=1)
def quote_expiry(now: datetime) -> dict:
    return expire_quotes(now)
