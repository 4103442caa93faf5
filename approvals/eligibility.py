"""Who may decide an approval level: the one table behind the decide check, the inbox query, the
navigation, the notifications to deciders and the state-machine document.

`CONDITIONS` is read twice: `why_cannot_decide` runs each condition's Python check on one level (the
first failure is the 403 message), `decidable_by` ANDs each condition's query into the inbox. A new
condition is one row here, so the page, the API and the inbox cannot drift apart.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from accounts.permissions import in_branch, visible_branch_ids

# Level role → the roles that may decide it (a higher role may decide a lower level). An escalated level
# keeps its deciders: escalation alerts the managers (ops job); they could already decide it.
DECIDERS: dict[str, frozenset[str]] = {
    Role.SUPERVISOR: frozenset({Role.SUPERVISOR, Role.MANAGER, Role.ADMIN}),
    Role.MANAGER: frozenset({Role.MANAGER, Role.ADMIN}),
    Role.ADMIN: frozenset({Role.ADMIN}),
}
# Levels with an unknown role (a rule edited by hand) fall back to admins only.
FALLBACK = frozenset({Role.ADMIN})

DECIDING_ROLES = frozenset().union(*DECIDERS.values())


def decider_roles(level_role: str) -> frozenset[str]:
    return DECIDERS.get(level_role, FALLBACK)


def may_decide_any(user) -> bool:
    """Does this user's role decide approvals at all (the navigation, the dashboard card)?"""
    return bool(user and user.is_authenticated and user.role in DECIDING_ROLES)


def _role_q(user) -> Q:
    q = Q(role__in=[r for r in DECIDERS if user.role in decider_roles(r)])
    if user.role in FALLBACK:
        q |= ~Q(role__in=list(DECIDERS))
    return q


def _branch_q(user) -> Q:
    ids = visible_branch_ids(user)
    return Q() if ids is None else Q(custody__branch__in=ids)


def _not_decided_by_q(user) -> Q:
    from .models import Approval

    mine = Approval.objects.filter(custody=OuterRef("custody"), round=OuterRef("round"), decided_by=user)
    return ~Exists(mine)


# Where approvals.services.current_level leaves the current round's levels on the custody object.
ROUND_LEVELS = "_approval_round_levels"


def _already_decided(user, custody, level) -> bool:
    levels = getattr(custody, ROUND_LEVELS, None)
    if levels is not None and any(other is level for other in levels):
        # `level` is the one current_level just answered, read with its round's levels: no second query.
        return any(other.decided_by_id == user.pk and other is not level for other in levels)
    return (
        custody.approvals.filter(round=custody.submission_round, decided_by=user)
        .exclude(pk=level.pk)
        .exists()
    )


@dataclass(frozen=True)
class Condition:
    name: str
    rule: str  # one line for the generated document
    check: Callable  # (user, custody, level) -> bool
    query: Callable  # (user) -> Q over Approval rows
    refusal: Callable  # (level) -> message


CONDITIONS: tuple[Condition, ...] = (
    Condition(
        "branch",
        "the custody is in one of the user's branches",
        lambda user, custody, level: in_branch(user, custody.branch_id),
        _branch_q,
        lambda level: _("The custody is outside your branches."),
    ),
    Condition(
        "role",
        "the user's role is a decider of the level's role (table above)",
        lambda user, custody, level: user.role in decider_roles(level.role),
        _role_q,
        lambda level: (
            _("Level %(n)s must be decided by a %(role)s.") % {"n": level.level, "role": level.role}
        ),
    ),
    Condition(
        "not_submitter",
        "the user did not submit the custody (segregation of duties)",
        lambda user, custody, level: custody.submitted_by_id != user.pk,
        lambda user: ~Q(custody__submitted_by=user),
        lambda level: _("You submitted this custody, so you cannot approve it (segregation of duties)."),
    ),
    Condition(
        "one_level_per_user",
        "the user has not decided another level of the same round",
        lambda user, custody, level: not _already_decided(user, custody, level),
        _not_decided_by_q,
        lambda level: _("You already decided another level of this custody."),
    ),
)


def why_cannot_decide(user, custody, level) -> str | None:
    """None when the user may decide `level` (the custody's current level); else the reason."""
    if level is None:
        return str(_("There is no approval level waiting for a decision."))
    for condition in CONDITIONS:
        if not condition.check(user, custody, level):
            return str(condition.refusal(level))
    return None


def decidable_by(user) -> Q:
    """The same conditions as a filter on current open levels (`approvals.services.inbox_for`)."""
    if not may_decide_any(user):
        return Q(pk__in=[])
    q = Q()
    for condition in CONDITIONS:
        q &= condition.query(user)
    return q


def describe() -> list[str]:
    """Markdown lines for the state-machine document."""
    lines = ["| level role | decided by (also once escalated) |", "|---|---|"]
    for role in DECIDERS:
        lines.append(f"| {role} | {', '.join(sorted(decider_roles(role)))} |")
    lines.append(f"| any other | {', '.join(sorted(FALLBACK))} |")
    lines += ["", "A user may decide the current level of a custody when all of these hold:", ""]
    lines += [f"- {c.rule} (`{c.name}`)" for c in CONDITIONS]
    return lines
