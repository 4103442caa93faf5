"""Rollout rollback triggers (issue 9): checked by a job, notified to admins once a day each."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from . import figures
from .models import RollbackThresholds


@dataclass(frozen=True)
class Trigger:
    key: str
    fired: bool
    value: float | None
    threshold: Decimal
    message: object


def evaluate(now: datetime, thresholds: RollbackThresholds | None = None) -> list[Trigger]:
    limits = thresholds or RollbackThresholds.current()
    week = figures.Window.last(now, days=7)
    before = figures.Window(week.since - timedelta(days=7), week.since)
    adoption = figures.active_users(now)["adoption_pct"]
    p95_now = figures.response_times(week)["p95_ms"]
    p95_before = figures.response_times(before)["p95_ms"]
    worsening = round(100 * (p95_now - p95_before) / p95_before, 1) if p95_now and p95_before else None
    errors = figures.error_rates(figures.Window.last(now, days=1))["5xx_pct"]
    return [
        Trigger(
            "adoption",
            adoption is not None and adoption < limits.min_weekly_adoption_pct,
            adoption,
            limits.min_weekly_adoption_pct,
            format_lazy(_("Weekly adoption is {value} % of active users (threshold {limit} %)."), value=adoption,
                        limit=limits.min_weekly_adoption_pct),
        ),
        Trigger(
            "p95",
            worsening is not None and worsening > limits.max_p95_worsening_pct,
            worsening,
            limits.max_p95_worsening_pct,
            format_lazy(_("p95 response time is {value} % worse than the previous week (threshold {limit} %)."),
                        value=worsening, limit=limits.max_p95_worsening_pct),
        ),
        Trigger(
            "errors",
            errors is not None and errors > limits.max_error_rate_pct,
            errors,
            limits.max_error_rate_pct,
            format_lazy(_("Server error rate is {value} % over the last 24 hours (threshold {limit} %)."),
                        value=errors, limit=limits.max_error_rate_pct),
        ),
    ]  # fmt: skip


def check(now: datetime | None = None) -> dict:
    """Notify admins of each fired trigger, once per trigger per day."""
    from notifications.services import admins, notify_users

    now = now or timezone.now()
    fired = [t for t in evaluate(now) if t.fired]
    notified = 0
    for trigger in fired:
        notified += notify_users(
            admins(),
            "rollback_trigger",
            _("Rollback trigger: %(key)s") % {"key": trigger.key},
            trigger.message,
            url="/manage/monitoring/",
            dedupe_key=f"rollback:{trigger.key}:{timezone.localdate(now).isoformat()}",
        )
    return {"fired": len(fired), "notified": notified}
