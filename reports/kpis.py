"""The KPIs of DESIGN §13: one definition each, used by the dashboard, the analytics page, the API and
the exports alike. The formulas are written out in docs/metrics.md; keep the two in step.

Every figure is computed for a `Scope` (the user's branches, optionally narrowed to one branch) and
a `Period` (whole local days). "Now" figures (active, pending, overdue) ignore the period.
A percentage or a duration with nothing to measure is `None`, never 0.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal

from django.db.models import (
    Count,
    DurationField,
    ExpressionWrapper,
    F,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDate
from django.utils import timezone

from accounts.permissions import scope_to_branches
from approvals.models import Approval
from billing.choices import BILLED_STATUSES, ChargeType, Responsibility
from billing.models import Charge, Payment
from billing.money import from_cents, to_money
from core.dates import day_start
from custodies import sla
from custodies.choices import CustodyStatus, SlaState, SlaTarget
from custodies.models import Custody
from custodies.selectors import overdue_q

DEFAULT_DAYS = 30
MAX_DAYS = 731  # two years: beyond that a per-day chart stops being readable and queries get slow
ZERO = Decimal("0")


@dataclass(frozen=True)
class Period:
    """Whole days `start`..`end` (both included) in the active time zone."""

    start: date
    end: date

    @classmethod
    def last_days(cls, days: int = DEFAULT_DAYS, today: date | None = None) -> Period:
        today = today or timezone.localdate()
        return cls(today - timedelta(days=days - 1), today)

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1

    @property
    def since(self) -> datetime:
        return day_start(self.start)

    @property
    def until(self) -> datetime:
        """Exclusive end: midnight after the last day."""
        return day_start(self.end + timedelta(days=1))

    def previous(self) -> Period:
        """The period of the same length just before this one (for trends)."""
        return Period(self.start - timedelta(days=self.days), self.start - timedelta(days=1))

    def contains(self, field: str) -> Q:
        return Q(**{f"{field}__gte": self.since, f"{field}__lt": self.until})


@dataclass(frozen=True)
class Scope:
    """What a user may count: their branches, optionally one of them."""

    user: object
    branch_id: object = None
    # Pass `memo={}` to share what was read between the figures of one page (its charts and KPI
    # cards read each once); without it every call reads afresh.
    memo: dict | None = field(default=None, compare=False, hash=False, repr=False)

    def remember(self, key, read):
        if self.memo is None:
            return read()
        if key not in self.memo:
            self.memo[key] = read()
        return self.memo[key]

    def custodies(self) -> QuerySet[Custody]:
        qs = scope_to_branches(Custody.objects.order_by(), self.user)
        return qs.filter(branch_id=self.branch_id) if self.branch_id else qs

    def charges(self) -> QuerySet[Charge]:
        qs = scope_to_branches(Charge.objects.order_by(), self.user, field="custody__branch")
        return qs.filter(custody__branch_id=self.branch_id) if self.branch_id else qs

    def payments(self) -> QuerySet[Payment]:
        qs = scope_to_branches(Payment.objects.order_by(), self.user, field="custody__branch")
        return qs.filter(custody__branch_id=self.branch_id) if self.branch_id else qs

    def kpi_days(self) -> QuerySet:
        from .models import KpiDay

        qs = scope_to_branches(KpiDay.objects.order_by(), self.user)
        return qs.filter(branch_id=self.branch_id) if self.branch_id else qs


# ---- "now" figures ----------------------------------------------------------------------------------

# The list filters that explain each "now" figure (the dashboard card links there; same count).
ACTIVE_Q = Q(status=CustodyStatus.ACTIVE)
PENDING_Q = Q(status=CustodyStatus.PENDING_APPROVAL)


def open_counts(scope: Scope, now: datetime) -> dict[str, int]:
    """Open custodies now: active, pending approval, overdue, SLA at risk and breached, in one query.
    Each concerns a custody with an SLA target running, so only those statuses are read (the status
    index instead of every custody)."""

    def count() -> dict[str, int]:
        return (
            scope.custodies()
            .filter(status__in=list(sla.STATUS_BY_TARGET.values()))
            .aggregate(
                active=Count("pk", filter=ACTIVE_Q),
                pending=Count("pk", filter=PENDING_Q),
                overdue=Count("pk", filter=overdue_q(now)),
                at_risk=Count("pk", filter=sla.state_q(SlaState.AT_RISK, now)),
                breached=Count("pk", filter=sla.state_q(SlaState.BREACHED, now)),
            )
        )

    return scope.remember(("open", now), count)


def now_counts(scope: Scope, now: datetime) -> dict[str, int]:
    counts = open_counts(scope, now)
    return {
        "active_custodies": counts["active"],
        "pending_approvals": counts["pending"],
        "overdue_custodies": counts["overdue"],
    }


# ---- period figures ---------------------------------------------------------------------------------

# Voided custodies were cancelled (mistakes, duplicates, withdrawn claims): not counted as created.
CREATED_STATUSES = [s for s in CustodyStatus.values if s != CustodyStatus.VOIDED]


def created_q(period: Period) -> Q:
    return period.contains("created_at") & Q(status__in=CREATED_STATUSES)


def custodies_created(scope: Scope, period: Period) -> int:
    return scope.custodies().filter(created_q(period)).count()


def per_day(count: int, period: Period) -> float:
    return round(count / period.days, 2)


def sla_target_q(target: str, period: Period, now: datetime) -> tuple[Q, Q]:
    """(decided, met on time) for one SLA target due in the period: the rule is `custodies.sla`'s."""
    return sla.outcome_q(target, period.since, period.until, now)


def sla_counts_by_branch(scope: Scope, period: Period, now: datetime) -> dict[object, dict[str, list[int]]]:
    """Per branch and target, [decided, met on time] of the targets due in the period: the rollup's
    days from `KpiDay`, the rest live (`custodies.sla`'s rule either way)."""
    return scope.remember(("sla", period), lambda: _sla_counts_by_branch(scope, period, now))


def _sla_counts_by_branch(scope: Scope, period: Period, now: datetime) -> dict[object, dict[str, list[int]]]:
    counts: dict = defaultdict(lambda: {t: [0, 0] for t in SlaTarget.values})
    rolled, live = rollup_split(period)
    if rolled is not None:
        for branch_id, day in _rolled_days(scope, rolled).values_list("branch_id", "sla"):
            for target, (decided, met) in day.items():
                counts[branch_id][target][0] += decided
                counts[branch_id][target][1] += met
    if live is not None:
        aggregates = {}
        for target in SlaTarget.values:
            decided, on_time = sla_target_q(target, live, now)
            aggregates[f"{target}_due"] = Count("pk", filter=decided)
            aggregates[f"{target}_met"] = Count("pk", filter=on_time)
        # Only custodies with a target due in the period (index range scans OR-ed, not the table),
        # grouped by the branch id (no join).
        for row in (
            scope.custodies()
            .filter(sla.any_due_q(live.since, live.until))
            .values("branch_id")
            .annotate(**aggregates)
        ):
            for target in SlaTarget.values:
                counts[row["branch_id"]][target][0] += row[f"{target}_due"]
                counts[row["branch_id"]][target][1] += row[f"{target}_met"]
    return {
        branch: by_target for branch, by_target in counts.items() if any(d for d, _m in by_target.values())
    }


def sla_on_time(counts: dict[object, dict[str, list[int]]]) -> dict:
    """SLA on-time % per target and overall (targets met on time ÷ targets decided) of
    `sla_counts_by_branch`'s counts, summed over the branches."""
    by_target = {t: [0, 0] for t in SlaTarget.values}
    for branch_counts in counts.values():
        for target, (decided, met) in branch_counts.items():
            by_target[target][0] += decided
            by_target[target][1] += met
    due = sum(d for d, _m in by_target.values())
    met = sum(m for _d, m in by_target.values())
    return {
        "overall": pct(met, due),
        "by_target": {t: pct(m, d) for t, (d, m) in by_target.items()},
        "due": due,
        "met": met,
    }


def closed_q(period: Period) -> Q:
    return Q(status=CustodyStatus.CLOSED, handed_over_at__isnull=False, returned_at__isnull=False) & (
        period.contains("closed_at")
    )


def approved_q(period: Period) -> Q:
    """Custodies approved in the period (automatic approvals are removed by `approval_seconds`)."""
    return period.contains("approved_at") & Q(submitted_at__isnull=False)


def approval_seconds(scope: Scope, period: Period) -> list[int]:
    """submitted → approved, in whole seconds, of each custody approved by people in the period
    (automatic approvals have no turnaround to steer)."""
    return [seconds for _branch, seconds in approval_seconds_by_branch(scope.custodies(), period)]


def approval_seconds_by_branch(custodies: QuerySet, period: Period) -> list[tuple[object, int]]:
    """(branch id, seconds) per custody approved by people in the period. Two indexed queries: the
    approved custodies, then which of their approving rounds were automatic (a correlated NOT EXISTS
    was 30x slower on PostgreSQL)."""
    rows = list(
        custodies.filter(approved_q(period)).values_list(
            "pk", "branch_id", "submission_round", "submitted_at", "approved_at"
        )
    )
    automatic = set(
        Approval.objects.filter(custody_id__in=[r[0] for r in rows], role="system").values_list(
            "custody_id", "round"
        )
    )
    return [
        (branch, round((approved - submitted).total_seconds()))
        for pk, branch, rnd, submitted, approved in rows
        if (pk, rnd) not in automatic
    ]


def posted_charges_q(period: Period) -> Q:
    """Charges recorded (posted) in the period and not voided since."""
    return period.contains("posted_at") & Q(status__in=BILLED_STATUSES)


def outstanding_balance(scope: Scope, period: Period) -> Decimal:
    """What is owed at the end of the period: billed charges posted by then − payments received by
    then (refunds are negative payments), the §8 balance summed over the scope's custodies.
    Days the rollup covers are summed from it; only the days after it are read from the rows."""
    rolled, _live = rollup_split(Period(date.min, period.end))
    since = None
    rolled_balance = ZERO
    if rolled is not None:
        sums = scope.kpi_days().filter(day__lte=rolled.end).aggregate(billed=Sum("billed"), paid=Sum("paid"))
        rolled_balance = (sums["billed"] or ZERO) - (sums["paid"] or ZERO)
        since = rolled.until
    charges = scope.charges().filter(status__in=BILLED_STATUSES, posted_at__lt=period.until)
    payments = scope.payments().filter(received_at__lt=period.until)
    if since is not None:
        charges, payments = charges.filter(posted_at__gte=since), payments.filter(received_at__gte=since)
    billed = charges.aggregate(s=Sum("total"))["s"]
    paid = payments.aggregate(s=Sum("amount"))["s"]
    return to_money(rolled_balance + (billed or ZERO) - (paid or ZERO))


# ---- what the analytics charts group custodies and charges by ----------------------------------


def created_by_facet(custodies: QuerySet, period: Period, *group) -> QuerySet:
    """(*group, status, reason, custodian type, customer id, count) of the custodies created in the
    period, voided ones included (the status chart shows them; every other figure leaves them out)."""
    return (
        custodies.filter(period.contains("created_at"))
        .values_list(*group, "status", "reason_code", "custodian_type", "customer_id")
        .annotate(n=Count("pk"))
    )


@dataclass
class CreatedFacets:
    """Custodies created in a period, counted per facet (see `created_by_facet`)."""

    per_day_reason: dict = field(default_factory=lambda: defaultdict(int))  # (day, reason): n
    by_status: dict = field(default_factory=lambda: defaultdict(int))
    by_reason: dict = field(default_factory=lambda: defaultdict(int))
    by_custodian: dict = field(default_factory=lambda: defaultdict(int))
    by_branch: dict = field(default_factory=lambda: defaultdict(int))
    by_customer: dict = field(default_factory=lambda: defaultdict(int))  # customer id as a string: n

    def add(self, day, branch_id, status, reason, custodian, customer_id, n) -> None:
        self.by_status[status] += n
        if status in CREATED_STATUSES:
            self.per_day_reason[(day, reason)] += n
            self.by_reason[reason] += n
            self.by_custodian[custodian] += n
            self.by_branch[branch_id] += n
            self.by_customer[str(customer_id)] += n


def created_facets(scope: Scope, period: Period) -> CreatedFacets:
    """`CreatedFacets` of the period: the rollup's days from `KpiDay`, the rest live."""
    return scope.remember(("created", period), lambda: _created_facets(scope, period))


def _created_facets(scope: Scope, period: Period) -> CreatedFacets:
    facets = CreatedFacets()
    rolled, live = rollup_split(period)
    if rolled is not None:
        fields = ("day", "branch_id", "by_status", "by_reason", "by_custodian", "by_customer")
        for day, branch_id, by_status, by_reason, by_custodian, by_customer in _rolled_days(
            scope, rolled
        ).values_list(*fields):
            for key, n in by_status.items():
                facets.by_status[key] += n
            for key, n in by_reason.items():
                facets.per_day_reason[(day, key)] += n
                facets.by_reason[key] += n
            for key, n in by_custodian.items():
                facets.by_custodian[key] += n
            for key, n in by_customer.items():
                facets.by_customer[key] += n
            facets.by_branch[branch_id] += sum(by_reason.values())
    if live is not None:
        day = TruncDate("created_at", tzinfo=timezone.get_current_timezone())
        for row in created_by_facet(scope.custodies(), live, day, "branch_id"):
            facets.add(*row)
    return facets


def insurer_sums(charges: QuerySet, period: Period, *group) -> QuerySet:
    """(*group, insurer name, billed, paid) of the insurance charges posted in the period."""
    return (
        charges.filter(posted_charges_q(period), responsibility=Responsibility.INSURANCE)
        .values_list(*group, "custody__insurer_name")
        .annotate(billed=Sum("total"), paid=Sum("amount_paid"))
    )


def insurer_recovery(scope: Scope, period: Period) -> dict[str, list[Decimal]]:
    """{insurer name: [billed, paid]} of the period: the rollup's days from `KpiDay`, the rest live."""
    sums: dict[str, list[Decimal]] = defaultdict(lambda: [ZERO, ZERO])
    rolled, live = rollup_split(period)
    if rolled is not None:
        cents: dict[str, list[int]] = defaultdict(lambda: [0, 0])
        for day in _rolled_days(scope, rolled).values_list("insurers", flat=True):
            for name, (billed, paid) in day.items():
                cents[name][0] += billed
                cents[name][1] += paid
        for name, (billed, paid) in cents.items():
            sums[name] = [from_cents(billed), from_cents(paid)]
    if live is not None:
        for name, billed, paid in insurer_sums(scope.charges(), live):
            sums[name][0] += billed
            sums[name][1] += paid
    return dict(sums)


# ---- all of them ----------------------------------------------------------------------------------------


def compute(scope: Scope, period: Period, now: datetime | None = None) -> dict:
    """Every KPI, in the shape of `GET /api/v1/reports/kpis` (money as Decimal, serialised as strings).

    Days the daily rollup covers (`KpiDay`, filled by the `kpi_rollup` job) are read from it; the
    rest of the period (today, or everything before the first rollup) is counted live. Both use the
    definitions above, so the figures are the same either way (reports/tests/test_rollup.py).
    """
    now = now or timezone.now()
    rolled, live = rollup_split(period)
    created, closed, closed_hours = 0, 0, 0.0
    if rolled is not None:
        sums = _rolled_days(scope, rolled).aggregate(
            created=Sum("created"), closed=Sum("closed"), closed_hours=Sum("closed_hours")
        )
        created, closed, closed_hours = sums["created"] or 0, sums["closed"] or 0, sums["closed_hours"] or 0.0
    if live is not None:
        created += custodies_created(scope, live)
        live_closed, live_hours = _closed_totals(scope, live)
        closed, closed_hours = closed + live_closed, closed_hours + live_hours
    on_time = sla_on_time(sla_counts_by_branch(scope, period, now))
    return {
        **now_counts(scope, now),
        "custodies_created": created,
        "custodies_per_day": per_day(created, period),
        "sla_on_time_pct": on_time["overall"],
        "sla_on_time_pct_by_target": on_time["by_target"],
        "average_duration_hours": round(closed_hours / closed, 2) if closed else None,
        "approval_turnaround_hours": turnaround_of(approval_seconds_rolled(scope, period)),
        **_charge_figures(charge_sums(scope, period)),
        "outstanding_balance": outstanding_balance(scope, period),
    }


def _rolled_days(scope: Scope, rolled: Period) -> QuerySet:
    return scope.kpi_days().filter(day__gte=rolled.start, day__lte=rolled.end)


def approval_seconds_rolled(scope: Scope, period: Period) -> list[int]:
    """`approval_seconds` of the period, sorted: the rollup's days from `KpiDay` (each day's list is
    stored sorted, so the sort merges runs), the rest live. Their median and 90th percentile are the
    approval turnaround (after a rejection the clock restarts at the resubmission: the draft was
    back with the operator)."""
    return scope.remember(("turnaround", period), lambda: _approval_seconds_rolled(scope, period))


def _approval_seconds_rolled(scope: Scope, period: Period) -> list[int]:
    rolled, live = rollup_split(period)
    seconds = []
    if rolled is not None:
        for day in _rolled_days(scope, rolled).values_list("turnaround_seconds", flat=True):
            seconds += map(int, day.split())
    if live is not None:
        seconds += approval_seconds(scope, live)
    seconds.sort()
    return seconds


def charge_sums(scope: Scope, period: Period) -> dict[tuple[str, str], Decimal]:
    """Posted charges of the period by (type, responsibility): the rollup's days from `KpiDay`, the
    rest live."""
    return scope.remember(("charges", period), lambda: _charge_sums_rolled(scope, period))


def _charge_sums_rolled(scope: Scope, period: Period) -> dict[tuple[str, str], Decimal]:
    rolled, live = rollup_split(period)
    sums: dict[tuple[str, str], Decimal] = {}
    if rolled is not None:
        cents: dict[str, int] = defaultdict(int)
        for day in _rolled_days(scope, rolled).values_list("charges", flat=True):
            for key, value in day.items():
                cents[key] += value
        for key, value in cents.items():
            charge_type, who = key.split("|")
            sums[(charge_type, who)] = from_cents(value)
    if live is not None:
        for charge_type, who, total in _charge_sums(scope, live):
            sums[(charge_type, who)] = sums.get((charge_type, who), ZERO) + total
    return sums


def rollup_split(period: Period) -> tuple[Period | None, Period | None]:
    """(the days the rollup covers, the days counted live) of a period; either may be None."""
    from .models import KpiRollupState

    covered = KpiRollupState.objects.filter(key="kpi").values_list("covered_until", flat=True).first()
    if covered is None or covered < period.start:
        return None, period
    if covered >= period.end:
        return period, None
    return Period(period.start, covered), Period(covered + timedelta(days=1), period.end)


def _closed_totals(scope: Scope, period: Period) -> tuple[int, float]:
    result = (
        scope.custodies()
        .filter(closed_q(period))
        .aggregate(
            n=Count("pk"),
            total=Sum(
                ExpressionWrapper(F("returned_at") - F("handed_over_at"), output_field=DurationField())
            ),
        )
    )
    return result["n"], _hours(_as_timedelta(result["total"])) if result["total"] is not None else 0.0


def _charge_sums(scope: Scope, period: Period):
    return (
        scope.charges()
        .filter(posted_charges_q(period))
        .values_list("charge_type", "responsibility")
        .annotate(s=Sum("total"))
    )


def turnaround_of(sorted_seconds: list[int]) -> dict[str, float | None]:
    """Median and 90th percentile, in hours, of sorted turnarounds in seconds (None without any)."""
    if not sorted_seconds:
        return {"median": None, "p90": None}
    return {
        "median": round(_percentile(sorted_seconds, 0.5) / 3600, 2),
        "p90": round(_percentile(sorted_seconds, 0.9) / 3600, 2),
    }


def _charge_figures(sums: dict[tuple[str, str], Decimal]) -> dict:
    by_type = dict.fromkeys(ChargeType.values, ZERO)
    by_who = dict.fromkeys(Responsibility.values, ZERO)
    for (charge_type, who), total in sums.items():
        by_type[charge_type] = by_type.get(charge_type, ZERO) + total
        by_who[who] = by_who.get(who, ZERO) + total
    return {
        "charges_total": to_money(sum(by_type.values(), ZERO)),
        "charges_by_type": {t: to_money(v) for t, v in by_type.items()},
        "charges_by_responsibility": {r: to_money(v) for r, v in by_who.items()},
    }


# ---- arithmetic ------------------------------------------------------------------------------------------


def pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 2) if whole else None


def _hours(delta: timedelta) -> float:
    return delta.total_seconds() / 3600


def _as_timedelta(value) -> timedelta:
    # SQLite returns the average of a duration as microseconds; PostgreSQL as an interval.
    return value if isinstance(value, timedelta) else timedelta(microseconds=float(value))


def _percentile(sorted_values: list, share: float) -> float:
    """Linear interpolation between closest ranks (as PostgreSQL's percentile_cont, numpy, and
    `statistics.median` for the median)."""
    position = (len(sorted_values) - 1) * share
    low = int(position)
    high = min(low + 1, len(sorted_values) - 1)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)
