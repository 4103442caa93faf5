"""SLA arithmetic (DESIGN §6): due times from policies, and the state shown to users."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from .choices import CustodyStatus, SlaState, SlaTarget
from .models import Custody, SlaPolicy

AT_RISK_SHARE = Decimal("0.25")
AT_RISK_MINUTES = 60


def policy_for(reason_code: str, branch_id) -> SlaPolicy | None:
    """The branch override if there is one, else the reason's default."""
    policies = {p.branch_id: p for p in SlaPolicy.objects.filter(reason_code=reason_code)}
    return policies.get(branch_id) or policies.get(None)


def add_hours(start: datetime, hours: Decimal) -> datetime:
    return start + timedelta(seconds=float(hours) * 3600)


@dataclass(frozen=True)
class SlaView:
    target: str
    state: str
    due_at: datetime | None
    seconds_left: int | None


def state_of(due_at, met_at, breached_at, window_start, now: datetime) -> str | None:
    if due_at is None:
        return None
    if met_at is not None:
        return SlaState.MET if met_at <= due_at else SlaState.BREACHED
    if breached_at is not None or now >= due_at:
        return SlaState.BREACHED
    left = (due_at - now).total_seconds()
    window = (due_at - window_start).total_seconds() if window_start else None
    if left < AT_RISK_MINUTES * 60 or (window and left < window * float(AT_RISK_SHARE)):
        return SlaState.AT_RISK
    return SlaState.ON_TRACK


def _window_start(custody: Custody, target: str):
    if target == SlaTarget.APPROVE:
        return custody.submitted_at
    if target == SlaTarget.HANDOVER:
        return custody.approved_at
    return custody.original_ready_at or custody.expected_return_at


TARGET_BY_STATUS = {
    CustodyStatus.PENDING_APPROVAL: SlaTarget.APPROVE,
    CustodyStatus.APPROVED: SlaTarget.HANDOVER,
    CustodyStatus.ACTIVE: SlaTarget.CLOSE,
}


def target_view(custody: Custody, target: str, now: datetime) -> SlaView:
    due = getattr(custody, f"sla_{target}_due_at")
    met = getattr(custody, f"sla_{target}_met_at")
    breached = getattr(custody, f"sla_{target}_breached_at")
    state = state_of(due, met, breached, _window_start(custody, target), now)
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
