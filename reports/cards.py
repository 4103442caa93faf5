"""Dashboard KPI cards: which KPIs a role sees, their trend against the previous period, and the list
that explains each number (a count card links to a list with exactly that count; tested)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import formats
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from billing.money import currency
from custodies.choices import CustodyStatus

from . import kpis

# Card keys per role, in display order. Everyone sees the custody counts; deciders how fast approvals
# go; managers, finance and admins the money.
ROLE_CARDS = {
    Role.VIEWER: ["active", "approvals", "at_risk", "breached", "overdue", "created", "sla_on_time", "duration"],
    Role.OPERATOR: ["active", "approvals", "at_risk", "breached", "overdue", "created", "sla_on_time", "duration"],
    Role.SUPERVISOR: [
        "active", "approvals", "at_risk", "breached", "overdue", "created", "sla_on_time", "turnaround",
    ],
    Role.MANAGER: [
        "active", "approvals", "at_risk", "breached", "overdue", "created", "sla_on_time", "turnaround",
        "duration", "charges", "outstanding",
    ],
    Role.FINANCE: ["active", "approvals", "at_risk", "breached", "overdue", "created", "charges", "outstanding"],
    Role.ADMIN: [
        "active", "approvals", "at_risk", "breached", "overdue", "created", "sla_on_time", "turnaround",
        "duration", "charges", "outstanding",
    ],
}  # fmt: skip


@dataclass(frozen=True)
class Trend:
    text: str  # signed change, e.g. "+3" or "−4.5 pts"
    direction: str  # "up", "down", "flat"
    tone: str  # "success" (better), "danger" (worse), "secondary" (neutral or flat)


@dataclass(frozen=True)
class Card:
    key: str
    label: str
    value: object  # raw figure (None: no data)
    text: str  # formatted for display
    href: str
    hint: str = ""
    tone: str = ""
    trend: Trend | None = None

    @property
    def dom_id(self) -> str:
        return self.key.replace("_", "-")


def _list_url(name: str, params: dict) -> str:
    query = urlencode([(k, v) for k, values in params.items() for v in _as_list(values)])
    return reverse(name) + (f"?{query}" if query else "")


def _as_list(value):
    return value if isinstance(value, list | tuple) else [value]


def custody_list_params(key: str, scope: kpis.Scope, period: kpis.Period) -> dict:
    """Filters of the custodies list whose count is the card's number."""
    params = {"branch_id": str(scope.branch_id)} if scope.branch_id else {}
    if key == "active":
        params["status"] = CustodyStatus.ACTIVE
    elif key == "approvals":
        params["status"] = CustodyStatus.PENDING_APPROVAL
    elif key in ("at_risk", "breached"):
        params["sla_state"] = key
    elif key == "overdue":
        params["overdue"] = "1"
    elif key == "created":
        params["status"] = kpis.CREATED_STATUSES
        params["date_from"] = period.start.isoformat()
        params["date_to"] = period.end.isoformat()
    return params


def _number(value, decimals=0) -> str:
    if value is None:
        return "—"
    return formats.number_format(value, decimal_pos=decimals, use_l10n=True, force_grouping=True)


def _trend(now_value, before_value, better: str | None, unit: str = "", decimals=0) -> Trend | None:
    """better: "up", "down" or None (neutral: more custodies is neither good nor bad)."""
    if now_value is None or before_value is None:
        return None
    change = Decimal(str(now_value)) - Decimal(str(before_value))
    if change == 0:
        return Trend("±0" + unit, "flat", "secondary")
    direction = "up" if change > 0 else "down"
    sign = "+" if change > 0 else "−"
    tone = "secondary" if better is None else ("success" if direction == better else "danger")
    return Trend(f"{sign}{_number(abs(change), decimals)}{unit}", direction, tone)


PERIOD_CARDS = {"created", "sla_on_time", "turnaround", "duration", "charges", "outstanding"}


def build(user, scope: kpis.Scope, period: kpis.Period, now: datetime, inbox_count=None) -> list[Card]:
    keys = ROLE_CARDS.get(user.role, ROLE_CARDS[Role.VIEWER])
    previous = period.previous()
    counts = kpis.open_counts(scope, now)
    # The period figures come from kpis.compute: the daily rollup plus today, one definition each.
    figures = before_figures = {}
    if set(keys) & PERIOD_CARDS:
        figures, before_figures = kpis.compute(scope, period, now), kpis.compute(scope, previous, now)
    days = _("last %(days)s days") % {"days": period.days}
    analytics = (
        reverse("reports")
        + "?"
        + urlencode(
            {"from": period.start.isoformat(), "to": period.end.isoformat()}
            | ({"branch_id": str(scope.branch_id)} if scope.branch_id else {})
        )
    )

    def count_card(key, label, value, hint="", tone="", trend=None, href=None):
        href = href or _list_url("custodies:list", custody_list_params(key, scope, period))
        return Card(key, label, value, _number(value), href, hint, tone if value else "", trend)

    cards = []
    for key in keys:
        if key == "active":
            cards.append(count_card(key, _("Active custodies"), counts["active"]))
        elif key == "approvals":
            if inbox_count is not None:
                cards.append(
                    count_card(
                        key, _("Waiting for my approval"), inbox_count, href=reverse("approvals:inbox")
                    )
                )
            else:
                cards.append(count_card(key, _("Pending approval"), counts["pending"]))
        elif key == "at_risk":
            cards.append(count_card(key, _("SLA at risk"), counts["at_risk"], tone="warning"))
        elif key == "breached":
            cards.append(count_card(key, _("SLA breached"), counts["breached"], tone="danger"))
        elif key == "overdue":
            cards.append(
                count_card(
                    key, _("Overdue custodies"), counts["overdue"], _("past expected return"), "danger"
                )
            )
        elif key == "created":
            value, before = figures["custodies_created"], before_figures["custodies_created"]
            cards.append(
                count_card(key, _("Custodies created"), value, days, trend=_trend(value, before, None))
            )
        elif key == "sla_on_time":
            value, before = figures["sla_on_time_pct"], before_figures["sla_on_time_pct"]
            text = "—" if value is None else f"{_number(value, 1)} %"
            trend = _trend(value, before, "up", " " + str(_("pts")), 1)
            cards.append(Card(key, _("SLA on time"), value, text, analytics + "#chart-sla", days, "", trend))
        elif key == "turnaround":
            value = figures["approval_turnaround_hours"]["median"]
            before = before_figures["approval_turnaround_hours"]["median"]
            text = "—" if value is None else f"{_number(value, 1)} h"
            trend = _trend(value, before, "down", " h", 1)
            hint = _("median, submitted → approved")
            href = analytics + "#chart-turnaround"
            cards.append(Card(key, _("Approval turnaround"), value, text, href, hint, "", trend))
        elif key == "duration":
            value, before = figures["average_duration_hours"], before_figures["average_duration_hours"]
            text = "—" if value is None else f"{_number(value / 24, 1)} d"
            trend = _trend(
                None if value is None else round(value / 24, 1),
                None if before is None else round(before / 24, 1),
                "down",
                " d",
                1,
            )
            hint = _("average, handover → return")
            cards.append(
                Card(key, _("Custody duration"), value, text, analytics + "#chart-status", hint, "", trend)
            )
        elif key == "charges":
            value, before = figures["charges_total"], before_figures["charges_total"]
            text = f"{currency()} {_number(value, 2)}"
            trend = _trend(value, before, None, "", 2)
            cards.append(
                Card(key, _("Charges posted"), value, text, analytics + "#chart-charges", days, "", trend)
            )
        elif key == "outstanding":
            value, before = figures["outstanding_balance"], before_figures["outstanding_balance"]
            text = f"{currency()} {_number(value, 2)}"
            trend = _trend(value, before, "down", "", 2)
            hint = _("billed − paid, all time")
            cards.append(
                Card(
                    key, _("Outstanding balance"), value, text, analytics + "#chart-recovery", hint, "", trend
                )
            )
    return cards
