"""Approval rules, levels and decisions (DESIGN §5). Called by custodies.services inside its transaction."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db.models import Exists, F, OuterRef, QuerySet

from accounts.choices import Role
from audit import services as audit

from . import eligibility
from .choices import OPEN_STATUSES, ApprovalStatus
from .models import Approval, ApprovalRule


@dataclass(frozen=True)
class RuleMatch:
    rule: ApprovalRule | None
    auto_approve: bool
    levels: list[dict]


def _matches(rule: ApprovalRule, custody, estimated_cost: Decimal) -> bool:
    if rule.reason_codes and custody.reason_code not in rule.reason_codes:
        return False
    if rule.branch_codes and custody.branch.code not in rule.branch_codes:
        return False
    if rule.custodian_types and custody.custodian_type not in rule.custodian_types:
        return False
    if rule.rate_policies and custody.rate_policy not in rule.rate_policies:
        return False
    hold = custody.damage_hold_amount or Decimal("0")
    if rule.min_damage_hold is not None and hold < rule.min_damage_hold:
        return False
    if rule.max_damage_hold is not None and hold > rule.max_damage_hold:
        return False
    return not (rule.min_estimated_cost is not None and estimated_cost < rule.min_estimated_cost)


def match_rule(custody, estimated_cost: Decimal = Decimal("0")) -> RuleMatch:
    for rule in ApprovalRule.objects.filter(active=True).order_by("priority", "name"):
        if _matches(rule, custody, estimated_cost):
            return RuleMatch(rule=rule, auto_approve=rule.auto_approve, levels=list(rule.levels or []))
    # No rule at all: one supervisor level is the safe default.
    return RuleMatch(rule=None, auto_approve=False, levels=[{"role": Role.SUPERVISOR, "due_hours": None}])


def start_round(custody, match: RuleMatch, now: datetime, approve_due_at: datetime | None) -> list[Approval]:
    """Create the level rows of a new submission round; level 1 is due by the SLA approve target."""
    rule_name = match.rule.name if match.rule else ""
    if match.auto_approve:
        return [
            Approval.objects.create(
                custody=custody,
                round=custody.submission_round,
                level=1,
                role="system",
                rule_name=rule_name,
                status=ApprovalStatus.APPROVED,
                decided_at=now,
                notes=f"Approved automatically: {rule_name}",
            )
        ]
    rows = []
    for index, level in enumerate(match.levels, start=1):
        due = approve_due_at if index == 1 else None
        if index == 1 and level.get("due_hours"):
            from custodies.sla import add_hours

            due = add_hours(now, Decimal(str(level["due_hours"])))
        rows.append(
            Approval.objects.create(
                custody=custody,
                round=custody.submission_round,
                level=index,
                role=level["role"],
                rule_name=rule_name,
                due_at=due,
            )
        )
    return rows


def current_level(custody) -> Approval | None:
    return (
        custody.approvals.filter(round=custody.submission_round, status__in=OPEN_STATUSES)
        .order_by("level")
        .first()
    )


def decide(level: Approval, user, *, approve: bool, notes: str, now: datetime) -> None:
    old = level.status
    level.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    level.decided_by = user
    level.decided_at = now
    level.notes = notes
    level.save(update_fields=["status", "decided_by", "decided_at", "notes"])
    audit.record(
        "approval.decided",
        level,
        object_type="approval",
        custody_id=level.custody_id,
        changes={"status": [old, level.status], "level": [None, level.level]},
        message=notes,
    )


def activate_next_level(custody, now: datetime) -> Approval | None:
    """After an approval: the next level (if any) starts its clock."""
    nxt = current_level(custody)
    if nxt is not None and nxt.due_at is None:
        from custodies.sla import add_hours

        hours = _level_hours(custody, nxt)
        nxt.due_at = add_hours(now, hours)
        nxt.save(update_fields=["due_at"])
    return nxt


def _level_hours(custody, level: Approval) -> Decimal:
    from custodies.sla import policy_for

    rule = ApprovalRule.objects.filter(name=level.rule_name).first()
    if rule:
        for index, spec in enumerate(rule.levels or [], start=1):
            if index == level.level and spec.get("due_hours"):
                return Decimal(str(spec["due_hours"]))
    policy = policy_for(custody.reason_code, custody.branch_id)
    return policy.approve_within_hours if policy else Decimal("2")


def skip_open_levels(custody) -> None:
    custody.approvals.filter(round=custody.submission_round, status__in=OPEN_STATUSES).update(
        status=ApprovalStatus.SKIPPED
    )


def inbox_for(user) -> QuerySet[Approval]:
    """Current open levels the user may decide (`eligibility.CONDITIONS`, as a query), most urgent first."""
    from custodies.choices import CustodyStatus

    lower_open = Approval.objects.filter(
        custody=OuterRef("custody"),
        round=OuterRef("round"),
        status__in=OPEN_STATUSES,
        level__lt=OuterRef("level"),
    )
    return (
        Approval.objects.filter(
            custody__status=CustodyStatus.PENDING_APPROVAL,
            status__in=OPEN_STATUSES,
            round=F("custody__submission_round"),
        )
        .filter(~Exists(lower_open))
        .filter(eligibility.decidable_by(user))
        .select_related(
            "custody",
            "custody__branch",
            "custody__customer",
            "custody__original_vehicle",
            "custody__replacement_vehicle",
            "custody__submitted_by",
        )
        .order_by("due_at", "created_at")
    )


def escalate_overdue(now: datetime) -> int:
    """Mark pending levels past their due time as escalated (idempotent: claims each row once)."""
    count = 0
    for level in Approval.objects.filter(status=ApprovalStatus.PENDING, due_at__lt=now).only(
        "id", "custody_id"
    ):
        claimed = Approval.objects.filter(pk=level.pk, status=ApprovalStatus.PENDING).update(
            status=ApprovalStatus.ESCALATED, escalated_at=now
        )
        if claimed:
            count += 1
            audit.record(
                "approval.escalated",
                level,
                object_type="approval",
                custody_id=level.custody_id,
                changes={"status": [ApprovalStatus.PENDING, ApprovalStatus.ESCALATED]},
            )
    return count


def claim_reminder(level: Approval, now: datetime) -> bool:
    """True once per level: the reminder job claims it, so reruns and parallel workers remind once."""
    return bool(Approval.objects.filter(pk=level.pk, reminded_at__isnull=True).update(reminded_at=now))
