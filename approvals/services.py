"""Approval rules, levels and decisions (DESIGN §5). Called by custodies.services inside its transaction."""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, OuterRef, QuerySet
from django.utils.translation import gettext as _

from accounts import permissions
from accounts.choices import Role
from audit import services as audit
from billing import rental
from core import rawsql
from core.errors import ValidationFailed
from core.kept import Kept

from . import eligibility
from .choices import OPEN_STATUSES, ApprovalStatus
from .eligibility import ROUND_LEVELS
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


# Every rule, active or not, in priority order, kept per process (core.kept): every submission matches
# them and a level's clock reads its rule. Saving or deleting one forgets them (apps.py); other
# processes within CUSTODY_CONFIG_CACHE_SECONDS.
RULES = Kept("approval_rules", lambda: settings.CUSTODY_CONFIG_CACHE_SECONDS)


def _rules() -> tuple[ApprovalRule, ...]:
    """The kept rules (shared by the process's threads: read them, never change them)."""
    return RULES.get(None, lambda: tuple(ApprovalRule.objects.order_by("priority", "name")))


def match_rule(custody, estimated_cost: Decimal = Decimal("0")) -> RuleMatch:
    return _first_match((rule for rule in _rules() if rule.active), custody, estimated_cost)


def _first_match(rules, custody, estimated_cost: Decimal) -> RuleMatch:
    for rule in rules:
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


def start_for_custody(custody, now: datetime, approve_due_at: datetime | None) -> str | None:
    """A submitted custody's new round (`custodies.hooks.ApprovalChain.start`): the first matching rule,
    weighed on the rental estimate, decides its levels. The rule's name when it approves at once, else None."""
    match = match_rule(custody, rental.estimated_cost(custody))
    start_round(custody, match, now, approve_due_at)
    return (match.rule.name if match.rule else "") if match.auto_approve else None


def current_level(custody) -> Approval | None:
    """The current round's first open level. The round's levels, read in the same query, stay on the
    custody object (`ROUND_LEVELS`) for the rest of the action: the one-level-per-user check
    (eligibility) and `activate_next_level` read them there. Every call reads them afresh."""
    # Read on every submit, approve and reject: compiled once per process (rawsql.compiled_once).
    qs = custody.approvals.filter(round=custody.submission_round).order_by("level")
    custody_id = rawsql.db_value(qs, "custody", custody.pk)
    levels = rawsql.compiled_once(qs, "approvals.round_levels", [custody_id, custody.submission_round])
    setattr(custody, ROUND_LEVELS, levels)
    return next((level for level in levels if level.status in OPEN_STATUSES), None)


def decide(
    level: Approval, user, *, approve: bool, notes: str, now: datetime, entries: list | None = None
) -> None:
    """Record the decision on `level`, audited. `entries`: the audit entry is appended there for the
    caller to write with its own (audit.record_many, same transaction) instead of now."""
    old = level.status
    level.status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    level.decided_by = user
    level.decided_at = now
    level.notes = notes
    level.save(update_fields=["status", "decided_by", "decided_at", "notes"])
    entry = audit.entry(
        "approval.decided",
        level,
        object_type="approval",
        custody_id=level.custody_id,
        changes={"status": [old, level.status], "level": [None, level.level]},
        message=notes,
    )
    if entries is None:
        audit.record_many([entry])
    else:
        entries.append(entry)


def activate_next_level(custody, now: datetime) -> Approval | None:
    """After an approval: the next level (if any) starts its clock.

    The custody being locked, its round's levels are those `current_level` read in this action
    (the approval just decided among them, with its new status): the next open one is found there."""
    levels = getattr(custody, ROUND_LEVELS, None)
    if levels is None:
        nxt = current_level(custody)
    else:
        nxt = next((level for level in levels if level.status in OPEN_STATUSES), None)
    if nxt is not None and nxt.due_at is None:
        from custodies.sla import add_hours

        hours = _level_hours(custody, nxt)
        nxt.due_at = add_hours(now, hours)
        nxt.save(update_fields=["due_at"])
    return nxt


def _level_hours(custody, level: Approval) -> Decimal:
    from custodies.sla import policy_for

    rule = next((rule for rule in _rules() if rule.name == level.rule_name), None)
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


# ---- editing the rules (admin configuration page) ---------------------------------------------------

LEVEL_ROLES = (Role.SUPERVISOR, Role.MANAGER, Role.ADMIN)  # the roles eligibility.DECIDERS knows
MAX_LEVELS = 4
MAX_DUE_HOURS = Decimal("720")
RULE_FIELDS = (
    "name",
    "priority",
    "active",
    "reason_codes",
    "branch_codes",
    "custodian_types",
    "rate_policies",
    "min_damage_hold",
    "max_damage_hold",
    "min_estimated_cost",
    "auto_approve",
    "levels",
)


def build_rule(data: dict, rule: ApprovalRule | None = None) -> ApprovalRule:
    """An unsaved copy of `rule` (or a new rule) with `data` applied and checked: what the page previews
    and what `save_rule` stores. Raises ValidationFailed with one message per field."""
    from custodies.choices import CustodianType, RatePolicy, ReasonCode
    from fleet.models import Branch

    errors: dict[str, list[str]] = {}
    draft = ApprovalRule(pk=rule.pk) if rule is not None else ApprovalRule()
    for name in RULE_FIELDS:
        setattr(draft, name, getattr(rule, name) if rule is not None else getattr(draft, name))
    for name, value in data.items():
        if name in RULE_FIELDS:
            setattr(draft, name, value)
    draft.name = str(draft.name or "").strip()
    if not draft.name:
        errors.setdefault("name", []).append(_("Give the rule a name."))
    elif ApprovalRule.objects.filter(name=draft.name).exclude(pk=draft.pk).exists():
        errors.setdefault("name", []).append(
            _("Another rule has this name; names identify rules on approvals.")
        )
    allowed = {
        "reason_codes": set(ReasonCode.values),
        "custodian_types": set(CustodianType.values),
        "rate_policies": set(RatePolicy.values),
        "branch_codes": set(Branch.objects.values_list("code", flat=True)),
    }
    for name, values in allowed.items():
        chosen = [str(v) for v in (getattr(draft, name) or [])]
        unknown = sorted(set(chosen) - values)
        if unknown:
            errors.setdefault(name, []).append(_("Unknown: %(values)s.") % {"values": ", ".join(unknown)})
        setattr(draft, name, sorted(set(chosen)))
    for name in ("min_damage_hold", "max_damage_hold", "min_estimated_cost"):
        value = getattr(draft, name)
        if value is not None and (not isinstance(value, Decimal) or value < 0 or not value.is_finite()):
            errors.setdefault(name, []).append(_("Enter an amount of 0 or more."))
    if (
        draft.min_damage_hold is not None
        and draft.max_damage_hold is not None
        and "min_damage_hold" not in errors
        and "max_damage_hold" not in errors
        and draft.min_damage_hold > draft.max_damage_hold
    ):
        errors.setdefault("max_damage_hold", []).append(_("The upper limit is below the lower limit."))
    levels = []
    for index, level in enumerate(draft.levels or [], start=1):
        role = str(level.get("role") or "")
        hours = level.get("due_hours")
        if role not in LEVEL_ROLES:
            errors.setdefault("levels", []).append(
                _("Level %(n)s: choose supervisor, manager or admin.") % {"n": index}
            )
            continue
        if hours is not None:
            hours = Decimal(str(hours))
            if not (Decimal("0") < hours <= MAX_DUE_HOURS):
                errors.setdefault("levels", []).append(
                    _("Level %(n)s: the due time is between 0 and %(max)s hours.") % {"n": index, "max": 720}
                )
                continue
            hours = float(hours) if hours != hours.to_integral_value() else int(hours)
        levels.append({"role": role, "due_hours": hours})
    if len(levels) > MAX_LEVELS:
        errors.setdefault("levels", []).append(_("At most %(n)s levels.") % {"n": MAX_LEVELS})
    draft.levels = [] if draft.auto_approve else levels
    if draft.auto_approve and levels:
        errors.setdefault("levels", []).append(
            _("A rule either approves automatically or lists levels, not both.")
        )
    if not draft.auto_approve and not levels and "levels" not in errors:
        errors.setdefault("levels", []).append(
            _("Add at least one approval level, or approve automatically.")
        )
    if errors:
        raise ValidationFailed(_("The approval rule is not valid."), errors)
    return draft


@transaction.atomic
def save_rule(user, rule: ApprovalRule | None, data: dict) -> ApprovalRule:
    """Create or change an approval rule (admins); audited before → after."""
    permissions.require(user, "settings.manage")
    if rule is not None:
        rule = ApprovalRule.objects.select_for_update().get(pk=rule.pk)
    before = audit.snapshot(rule, RULE_FIELDS) if rule is not None else {}
    draft = build_rule(data, rule)
    if rule is None:
        draft.save(force_insert=True)
    else:
        draft.save(force_update=True)
    draft.refresh_from_db()  # stored values (amounts with 2 places), so the audit shows only real changes
    audit.record(
        "approvalrule.created" if rule is None else "approvalrule.updated",
        draft,
        object_type="approval_rule",
        changes=audit.diff(before, audit.snapshot(draft, RULE_FIELDS)),
    )
    return draft


def describe_levels(match: RuleMatch) -> str:
    """ "supervisor, then manager" / "approved automatically" — what a custody needs, in words."""
    if match.auto_approve:
        return str(_("approved automatically"))
    names = [
        str(Role(level["role"]).label) if level["role"] in Role.values else level["role"]
        for level in match.levels
    ]
    return str(_(", then ")).join(names)


@dataclass(frozen=True)
class PreviewRow:
    custody: object
    estimated_cost: Decimal
    now: RuleMatch
    after: RuleMatch
    by_this_rule: bool

    @property
    def changed(self) -> bool:
        return (self.now.auto_approve, self.now.levels) != (self.after.auto_approve, self.after.levels)

    @property
    def needs_now(self) -> str:
        return describe_levels(self.now)

    @property
    def needs_after(self) -> str:
        return describe_levels(self.after)


@dataclass(frozen=True)
class Preview:
    rows: list
    checked: int
    matched: int
    changed: int
    more_auto: int
    more_levels: int


PREVIEW_LIMIT = 200
PREVIEW_RECENT_DAYS = 30


def preview_rule(user, draft: ApprovalRule) -> Preview:
    """The effect of saving `draft` (a new or edited rule, unsaved): for the open custodies and those of the
    last 30 days (at most 200, newest first, in the user's branches), which levels each needs under the
    saved rules and under the rules with this edit — the same `_matches` the submission uses."""
    from datetime import timedelta

    from django.db.models import Q
    from django.utils import timezone

    from custodies.choices import TERMINAL_STATUSES
    from custodies.selectors import custodies_for

    saved = list(ApprovalRule.objects.filter(active=True).order_by("priority", "name"))
    edited = [r for r in saved if r.pk != draft.pk]
    if draft.active:
        edited.append(draft)
    edited.sort(key=lambda r: (r.priority, r.name))
    since = timezone.now() - timedelta(days=PREVIEW_RECENT_DAYS)
    custodies = list(
        custodies_for(user)
        .filter(~Q(status__in=TERMINAL_STATUSES) | Q(created_at__gte=since))
        .select_related("special_rate_code", "replacement_vehicle__vehicle_class")
        .order_by("-created_at")[:PREVIEW_LIMIT]
    )
    rows = []
    for custody in custodies:
        cost = rental.estimated_cost(custody)
        now = _first_match(saved, custody, cost)
        after = _first_match(edited, custody, cost)
        rows.append(PreviewRow(custody, cost, now, after, after.rule is draft))
    changed = [r for r in rows if r.changed]
    return Preview(
        rows=rows,
        checked=len(rows),
        matched=sum(1 for r in rows if r.by_this_rule),
        changed=len(changed),
        more_auto=sum(1 for r in changed if r.after.auto_approve),
        more_levels=sum(
            1 for r in changed if len(r.after.levels) > len(r.now.levels) and not r.after.auto_approve
        ),
    )
