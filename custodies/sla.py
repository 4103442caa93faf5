"""The SLA rule, in one place: due times from policies, the state users see and the same state as a query.

Each custody has three targets (approve, handover, close); the one that matters is the one of its
status (`TARGET_BY_STATUS`). A target is *at risk* when less than `AT_RISK_SHARE` of its window or
`AT_RISK_MINUTES` are left, whichever comes first. The moment it becomes at risk is stored with the
due time (`sla_<target>_at_risk_at`), so the badge (`state_of`), the list filter, the dashboard
counts and the jobs (`state_q`) read the same two timestamps and always agree.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import cache

from django.conf import settings
from django.db.models import F, Q

from core.kept import Kept

from .choices import CustodyStatus, SlaState, SlaTarget
from .models import Custody, SlaPolicy

AT_RISK_SHARE = Decimal("0.25")
AT_RISK_MINUTES = 60

STATUS_BY_TARGET = {
    SlaTarget.APPROVE: CustodyStatus.PENDING_APPROVAL,
    SlaTarget.HANDOVER: CustodyStatus.APPROVED,
    SlaTarget.CLOSE: CustodyStatus.ACTIVE,
}
TARGET_BY_STATUS = {status: target for target, status in STATUS_BY_TARGET.items()}
POLICY_HOURS = {
    SlaTarget.APPROVE: "approve_within_hours",
    SlaTarget.HANDOVER: "handover_within_hours",
    SlaTarget.CLOSE: "close_within_hours",
}


@cache
def fields(target: str) -> tuple[str, str, str, str]:
    """(due, at risk from, met, breached) column names of a target."""
    return (
        f"sla_{target}_due_at",
        f"sla_{target}_at_risk_at",
        f"sla_{target}_met_at",
        f"sla_{target}_breached_at",
    )


# Every policy by (reason, branch or None), kept per process (core.kept): every submit, approval,
# handover and close reads one. Saving one forgets them (apps.py); other processes within
# CUSTODY_CONFIG_CACHE_SECONDS.
POLICIES = Kept("sla_policies", lambda: settings.CUSTODY_CONFIG_CACHE_SECONDS)


def _policies() -> dict:
    return {(p.reason_code, p.branch_id): p for p in SlaPolicy.objects.order_by()}


def policy_for(reason_code: str, branch_id) -> SlaPolicy | None:
    """The branch override if there is one, else the reason's default (kept rows: do not change it)."""
    policies = POLICIES.get(None, _policies)
    return policies.get((reason_code, branch_id)) or policies.get((reason_code, None))


def add_hours(start: datetime, hours: Decimal) -> datetime:
    return start + timedelta(seconds=float(hours) * 3600)


def at_risk_from(due: datetime, window_start: datetime | None) -> datetime:
    """When a target due at `due` whose clock started at `window_start` becomes at risk."""
    margin = timedelta(minutes=AT_RISK_MINUTES)
    if window_start is not None and due > window_start:
        margin = max(margin, (due - window_start) * float(AT_RISK_SHARE))
    return due - margin


# ---- stamping (called by custodies.services inside its transaction) ---------------------------------


def start_clock(custody: Custody, target: str, start: datetime | None) -> None:
    """Set the target's due time from the custody's policy, counted from `start` (none without policy)."""
    policy = policy_for(custody.reason_code, custody.branch_id)
    due = add_hours(start, getattr(policy, POLICY_HOURS[target])) if (policy and start) else None
    due_name, risk_name, _met, _breached = fields(target)
    setattr(custody, due_name, due)
    setattr(custody, risk_name, at_risk_from(due, start) if due else None)


def clear_clock(custody: Custody, target: str) -> None:
    for name in fields(target):
        setattr(custody, name, None)


def stamp_met(custody: Custody, target: str, now: datetime) -> None:
    """The target was reached now: met, and breached too when it was late."""
    due_name, _risk, met_name, breached_name = fields(target)
    due = getattr(custody, due_name)
    if due is None or getattr(custody, met_name) is not None:
        return
    setattr(custody, met_name, now)
    if now > due and getattr(custody, breached_name) is None:
        setattr(custody, breached_name, due)


# ---- the state, in Python and as a query ------------------------------------------------------------


def _risk_start(due: datetime, at_risk_at: datetime | None) -> datetime:
    # Rows written before the column existed (or by raw loaders) fall back to the minutes rule.
    return at_risk_at or due - timedelta(minutes=AT_RISK_MINUTES)


def state_of(due_at, met_at, breached_at, at_risk_at, now: datetime) -> str | None:
    if due_at is None:
        return None
    if met_at is not None:
        return SlaState.MET if met_at <= due_at else SlaState.BREACHED
    if breached_at is not None or now >= due_at:
        return SlaState.BREACHED
    if now >= _risk_start(due_at, at_risk_at):
        return SlaState.AT_RISK
    return SlaState.ON_TRACK


def _target_state_q(target: str, state: str, now: datetime) -> Q:
    due, risk, met, breached = fields(target)
    status = Q(status=STATUS_BY_TARGET[target], **{f"{due}__isnull": False})
    still_open = Q(**{f"{met}__isnull": True})
    not_late = Q(**{f"{due}__gt": now, f"{breached}__isnull": True})
    risk_reached = Q(**{f"{risk}__lte": now}) | Q(
        **{f"{risk}__isnull": True, f"{due}__lte": now + timedelta(minutes=AT_RISK_MINUTES)}
    )
    risk_not_reached = Q(**{f"{risk}__gt": now}) | Q(
        **{f"{risk}__isnull": True, f"{due}__gt": now + timedelta(minutes=AT_RISK_MINUTES)}
    )
    if state == SlaState.MET:
        return status & Q(**{f"{met}__isnull": False, f"{met}__lte": F(due)})
    if state == SlaState.BREACHED:
        late = Q(**{f"{due}__lte": now}) | Q(**{f"{breached}__isnull": False})
        return status & ((still_open & late) | Q(**{f"{met}__gt": F(due)}))
    if state == SlaState.AT_RISK:
        return status & still_open & not_late & risk_reached
    if state == SlaState.ON_TRACK:
        return status & still_open & not_late & risk_not_reached
    raise ValueError(state)


def state_q(state: str, now: datetime) -> Q:
    """Custodies whose current target is in `state` at `now`: the query form of `current_view`."""
    result = Q(pk__in=[])
    for target in STATUS_BY_TARGET:
        result |= _target_state_q(target, state, now)
    return result


def any_due_q(since: datetime, until: datetime) -> Q:
    """Custodies with at least one target due in `[since, until)`: every row `outcome_q` can count
    (a cheap WHERE before its per-target FILTERs)."""
    result = Q(pk__in=[])
    for target in STATUS_BY_TARGET:
        due = fields(target)[0]
        result |= Q(**{f"{due}__gte": since, f"{due}__lt": until})
    return result


def outcome_q(target: str, since: datetime, until: datetime, now: datetime) -> tuple[Q, Q]:
    """(decided, met on time) for one target due in `[since, until)`: the query form of `state_of`
    for reports (SLA on-time % = met on time ÷ decided).

    A target is met when `met_at <= due_at` and breached when it was met late, stamped breached, or is
    past due unmet (`state_of`). Targets not yet due are undecided and not counted; so are targets of
    a custody voided before it met them (the void cancelled them). Unlike `state_q` this does not
    look at the custody's current status: a closed custody's approve target still counts.
    """
    due, _risk, met, breached = fields(target)
    in_window = Q(**{f"{due}__gte": since, f"{due}__lt": until})
    cancelled = Q(voided_at__isnull=False, **{f"{met}__isnull": True, "voided_at__lt": F(due)})
    decided = (
        in_window
        & ~cancelled
        & (Q(**{f"{met}__isnull": False}) | Q(**{f"{breached}__isnull": False}) | Q(**{f"{due}__lte": now}))
    )
    on_time = decided & Q(**{f"{met}__isnull": False, f"{met}__lte": F(due)})
    return decided, on_time


@dataclass(frozen=True)
class SlaView:
    target: str
    state: str
    due_at: datetime | None
    seconds_left: int | None


def target_view(custody: Custody, target: str, now: datetime) -> SlaView:
    due_name, risk_name, met_name, breached_name = fields(target)
    due, met = getattr(custody, due_name), getattr(custody, met_name)
    state = state_of(due, met, getattr(custody, breached_name), getattr(custody, risk_name), now)
    left = int((due - now).total_seconds()) if due and not met else None
    return SlaView(target=target, state=state, due_at=due, seconds_left=left)


def current_view(custody: Custody, now: datetime) -> SlaView | None:
    """The target that matters now (approval while pending, handover once approved, close while active)."""
    target = TARGET_BY_STATUS.get(custody.status)
    if target is None:
        return None
    view = target_view(custody, target, now)
    return view if view.state else None


def all_views(custody: Custody, now: datetime) -> list[SlaView]:
    return [target_view(custody, t, now) for t in SlaTarget.values]
