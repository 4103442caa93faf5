"""Data of the Reports & analytics page: one function per chart, each returning the same `Chart`
(labels + datasets for Chart.js, and the table the page shows and exports). All scoped like the KPIs
and computed with grouped queries (no row-by-row work), so a chart costs one or two queries."""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from billing.choices import ChargeType, Responsibility
from billing.money import to_money
from custodies.choices import CustodianType, CustodyStatus, ReasonCode, SlaTarget
from custodies.selectors import out_of_use_since
from fleet.choices import VehicleStatus
from fleet.models import Branch, Customer
from fleet.selectors import vehicles_for

from . import kpis

TOP_CUSTOMERS = 10
OUT_OF_USE = [VehicleStatus.IN_CUSTODY, VehicleStatus.MAINTENANCE, VehicleStatus.OUT_OF_SERVICE]
# Bucket labels are translated (the page and its exports speak the user's language); "d" and "h"
# are the abbreviations the rest of the app uses for days and hours.
AGE_BUCKETS = [
    (0, 2, _("0–2 d")),
    (3, 7, _("3–7 d")),
    (8, 14, _("8–14 d")),
    (15, 30, _("15–30 d")),
    (31, None, _("> 30 d")),
]
TURNAROUND_BUCKETS = [
    (0, 1, _("< 1 h")),
    (1, 2, _("1–2 h")),
    (2, 4, _("2–4 h")),
    (4, 8, _("4–8 h")),
    (8, 24, _("8–24 h")),
    (24, 72, _("1–3 d")),
    (72, None, _("> 3 d")),
]


@dataclass
class Chart:
    key: str
    title: str
    kind: str  # Chart.js type: bar, line, doughnut
    labels: list[str]
    datasets: list[dict]  # {"label", "data"}
    columns: list[str]  # table header: first column = labels, then one per dataset (or custom rows)
    rows: list[list] = field(default_factory=list)
    stacked: bool = False
    horizontal: bool = False
    note: str = ""
    unit: str = ""

    @property
    def empty(self) -> bool:
        return not self.rows

    def as_json(self) -> dict:
        return {
            "key": self.key,
            "kind": self.kind,
            "labels": [str(x) for x in self.labels],
            "datasets": [
                {"label": str(d["label"]), "data": [_num(v) for v in d["data"]]} for d in self.datasets
            ],
            "stacked": self.stacked,
            "horizontal": self.horizontal,
            "unit": self.unit,
        }


def _num(value):
    if value is None:
        return None
    return float(value) if isinstance(value, Decimal) else value


def _series_table(labels, datasets) -> list[list]:
    return [[label, *[d["data"][i] for d in datasets]] for i, label in enumerate(labels)]


def custodies_per_day(scope, period, now=None) -> Chart:
    counts = kpis.created_facets(scope, period).per_day_reason
    days = [period.start + timedelta(days=i) for i in range(period.days)]
    labels = [d.isoformat() for d in days]
    datasets = [
        {"label": label, "data": [counts.get((d, value), 0) for d in days]}
        for value, label in ReasonCode.choices
    ]
    table = _series_table(labels, datasets) if any(counts.values()) else []
    return Chart(
        "per-day", _("Custodies created per day, by reason"), "bar", labels, datasets,
        [_("Day"), *[d["label"] for d in datasets]], table, stacked=True,
    )  # fmt: skip


def _distribution(key, title, counts: dict, choices, kind="doughnut") -> Chart:
    labels = [label for value, label in choices if counts.get(value)]
    data = [counts[value] for value, _label in choices if counts.get(value)]
    datasets = [{"label": _("Custodies"), "data": data}]
    return Chart(
        key, title, kind, labels, datasets, [_("Value"), _("Custodies")], _series_table(labels, datasets)
    )


def status_distribution(scope, period, now=None) -> Chart:
    chart = _distribution(
        "status", _("Custodies created, by current status"),
        kpis.created_facets(scope, period).by_status, CustodyStatus.choices,
    )  # fmt: skip
    chart.note = _("Voided custodies appear here only; the other figures leave them out.")
    return chart


def branch_distribution(scope, period, now=None) -> Chart:
    counts = kpis.created_facets(scope, period).by_branch
    branches = list(Branch.objects.filter(pk__in=list(counts)).values_list("pk", "code"))
    return _distribution("branch", _("Custodies created, by branch"), counts, branches, kind="bar")


def custodian_types(scope, period, now=None) -> Chart:
    return _distribution(
        "custodian", _("Custodian types"), kpis.created_facets(scope, period).by_custodian,
        CustodianType.choices,
    )  # fmt: skip


def turnaround_distribution(scope, period, now=None) -> Chart:
    every = kpis.approval_seconds_rolled(scope, period)  # sorted: each bucket is a slice
    edges = [bisect_left(every, low * 3600) for low, _high, _label in TURNAROUND_BUCKETS] + [len(every)]
    counts = [edges[i + 1] - edges[i] for i in range(len(TURNAROUND_BUCKETS))]
    labels = [str(label) for _low, _high, label in TURNAROUND_BUCKETS]
    datasets = [{"label": _("Approvals"), "data": counts}]
    table = _series_table(labels, datasets) if any(counts) else []
    turnaround = kpis.turnaround_of(every)
    chart = Chart(
        "turnaround", _("Approval turnaround (submitted → approved)"), "bar", labels, datasets,
        [_("Turnaround"), _("Approvals")], table,
    )  # fmt: skip
    if turnaround["median"] is not None:
        chart.note = _("Median %(median)s h, 90th percentile %(p90)s h.") % turnaround
    return chart


def sla_by_branch(scope, period, now=None) -> Chart:
    counts = kpis.sla_counts_by_branch(scope, period, now or timezone.now())
    codes = dict(Branch.objects.filter(pk__in=list(counts)).values_list("pk", "code"))
    branches = sorted(counts, key=lambda branch: codes.get(branch, ""))
    labels = [codes.get(branch, "") for branch in branches]
    datasets = [
        {"label": label, "data": [kpis.pct(counts[b][target][1], counts[b][target][0]) for b in branches]}
        for target, label in SlaTarget.choices
    ]
    chart = Chart(
        "sla", _("SLA on time, by target and branch (%)"), "bar", labels, datasets,
        [_("Branch"), *[d["label"] for d in datasets]], _series_table(labels, datasets), unit="%",
    )  # fmt: skip
    overall = kpis.sla_on_time(counts)
    if overall["overall"] is not None:
        chart.note = _("Overall %(pct)s %% (%(met)s of %(due)s targets met on time).") % {
            "pct": overall["overall"],
            "met": overall["met"],
            "due": overall["due"],
        }
    return chart


def charges_by_type(scope, period, now=None) -> Chart:
    sums = defaultdict(lambda: Decimal("0"), kpis.charge_sums(scope, period))
    types = [
        (value, label) for value, label in ChargeType.choices if any(sums[(value, r)] for r in Responsibility)
    ]
    labels = [label for _value, label in types]
    datasets = [
        {"label": label, "data": [to_money(sums[(t, who)]) for t, _l in types]}
        for who, label in Responsibility.choices
    ]
    table = [[*row, to_money(sum(row[1:], Decimal("0")))] for row in _series_table(labels, datasets)]
    return Chart(
        "charges", _("Charges posted, by type and responsibility"), "bar", labels, datasets,
        [_("Type"), *[d["label"] for d in datasets], _("Total")], table, stacked=True, horizontal=True,
    )  # fmt: skip


def top_customers(scope, period, now=None) -> Chart:
    counts = kpis.created_facets(scope, period).by_customer
    # Ties are ordered by name: read the names of every customer that could make the top ten.
    cutoff = sorted(counts.values(), reverse=True)[TOP_CUSTOMERS - 1] if len(counts) >= TOP_CUSTOMERS else 0
    candidates = [pk for pk, n in counts.items() if n >= cutoff]
    names = dict(Customer.objects.filter(pk__in=candidates).values_list("pk", "full_name"))
    ranked = sorted(((counts[str(pk)], name, pk) for pk, name in names.items()), key=lambda r: (-r[0], r[1]))
    rows = ranked[:TOP_CUSTOMERS]
    charged = dict(
        scope.charges()
        .filter(kpis.posted_charges_q(period), custody__customer_id__in=[pk for _n, _name, pk in rows])
        .values_list("custody__customer_id")
        .annotate(s=Sum("total"))
    )
    labels = [name for _n, name, _pk in rows]
    datasets = [{"label": _("Custodies"), "data": [n for n, _name, _pk in rows]}]
    table = [[name, n, to_money(charged.get(pk) or 0)] for n, name, pk in rows]
    return Chart(
        "customers", _("Top customers by custodies"), "bar", labels, datasets,
        [_("Customer"), _("Custodies"), _("Charges posted")], table, horizontal=True,
    )  # fmt: skip


def out_of_use_vehicles(scope, period, now=None) -> Chart:
    """Vehicles out of use now, by status and how long (since the custody that took them, or their last change)."""
    now = now or timezone.now()
    vehicles = vehicles_for(scope.user).filter(status__in=OUT_OF_USE)
    if scope.branch_id:
        vehicles = vehicles.filter(branch_id=scope.branch_id)
    since = out_of_use_since(vehicles).values_list("status", "since")
    counts = defaultdict(int)
    for status, started in since:
        age = max(0, (now - started).days)
        for bucket, (low, high, _label) in enumerate(AGE_BUCKETS):
            if age >= low and (high is None or age <= high):
                counts[(status, bucket)] += 1
                break
    labels = [str(label) for _low, _high, label in AGE_BUCKETS]
    datasets = [
        {"label": VehicleStatus(status).label, "data": [counts[(status, b)] for b in range(len(AGE_BUCKETS))]}
        for status in OUT_OF_USE
    ]
    table = _series_table(labels, datasets) if any(counts.values()) else []
    return Chart(
        "vehicles", _("Vehicles out of use now, by age"), "bar", labels, datasets,
        [_("Age"), *[d["label"] for d in datasets]], table, stacked=True,
    )  # fmt: skip


def insurer_recovery(scope, period, now=None) -> Chart:
    sums = kpis.insurer_recovery(scope, period)
    rows = sorted(sums.items(), key=lambda item: -item[1][0])
    unknown = str(_("(no insurer recorded)"))
    labels = [name or unknown for name, _sums in rows]
    billed = [to_money(b) for _name, (b, _p) in rows]
    paid = [to_money(p) for _name, (_b, p) in rows]
    datasets = [{"label": _("Billed"), "data": billed}, {"label": _("Paid"), "data": paid}]
    table = [[labels[i], billed[i], paid[i], to_money(billed[i] - paid[i])] for i in range(len(rows))]
    return Chart(
        "recovery", _("Insurer recovery: insurance charges billed vs paid"), "bar", labels, datasets,
        [_("Insurer"), _("Billed"), _("Paid"), _("Outstanding")], table,
    )  # fmt: skip


CHARTS = {
    "per-day": custodies_per_day,
    "status": status_distribution,
    "branch": branch_distribution,
    "custodian": custodian_types,
    "turnaround": turnaround_distribution,
    "sla": sla_by_branch,
    "charges": charges_by_type,
    "customers": top_customers,
    "vehicles": out_of_use_vehicles,
    "recovery": insurer_recovery,
}


def build(scope: kpis.Scope, period: kpis.Period, now: datetime | None = None, only: str | None = None):
    now = now or timezone.now()
    keys = [only] if only else list(CHARTS)
    return [CHARTS[key](scope, period, now) for key in keys]
