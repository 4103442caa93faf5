"""The one place that answers "may this user do X (on this object)?".

Pages and API both call these predicates. Two kinds of refusal:
- an object outside the user's branches is *not found* (selectors filter it away → 404);
- an action the role may not take is *forbidden* (`require` raises PermissionDenied → 403).
"""

from collections.abc import Iterable

from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet

from .choices import Role

ALL_ROLES = frozenset(Role.values)
OPERATORS = frozenset({Role.OPERATOR, Role.SUPERVISOR, Role.MANAGER, Role.ADMIN})
SUPERVISORS = frozenset({Role.SUPERVISOR, Role.MANAGER, Role.ADMIN})
MANAGERS = frozenset({Role.MANAGER, Role.ADMIN})
FINANCE = frozenset({Role.MANAGER, Role.FINANCE, Role.ADMIN})
ADMINS = frozenset({Role.ADMIN})

# action → roles that may take it (DESIGN §2). Reference-data editing is split by who owns
# the data in a rental company: the counter staff keep customers up to date, managers the
# fleet and agreements, admins the rest.
ACTION_ROLES: dict[str, frozenset[str]] = {
    "view": ALL_ROLES,
    "export": ALL_ROLES,
    "customer.create": OPERATORS,
    "customer.edit": OPERATORS,
    "vehicle.create": MANAGERS,
    "vehicle.edit": MANAGERS,
    "agreement.create": MANAGERS,
    "agreement.edit": MANAGERS,
    "branch.edit": ADMINS,
    "vehicle_class.edit": ADMINS,
    "special_rate_code.edit": ADMINS,
    "tax_profile.edit": ADMINS,
    "user.manage": ADMINS,
    "support.manage": ADMINS,
    "announcement.post": ADMINS,
    "faq.edit": ADMINS,
    "settings.manage": ADMINS,
    "audit.view_all": ADMINS,
    "custody.create": OPERATORS,
    "custody.edit": OPERATORS,
    "custody.submit": OPERATORS,
    "custody.handover": OPERATORS,
    "custody.close": OPERATORS,
    "custody.void_draft": OPERATORS,
    "custody.void": MANAGERS,
    "document.upload": OPERATORS,
    "charge.add": OPERATORS | {Role.FINANCE},
    "charge.post": FINANCE,
    "charge.void": FINANCE,
    "charge.invoice": frozenset({Role.FINANCE, Role.ADMIN}),
    "payment.record": OPERATORS | {Role.FINANCE},
    # Quotes and cost sheets (DESIGN §12): sales (operators+) and finance build them; managers and
    # finance approve (never their own submission); conversion creates rental agreements (managers).
    "quote.create": OPERATORS | {Role.FINANCE},
    "quote.edit": OPERATORS | {Role.FINANCE},
    "quote.submit": OPERATORS | {Role.FINANCE},
    "quote.send": OPERATORS | {Role.FINANCE},
    "quote.approve": FINANCE,
    "quote.convert": MANAGERS,
    "cost_sheet.edit": OPERATORS | {Role.FINANCE},
}


def has_role(user, roles: Iterable[str]) -> bool:
    return bool(user and user.is_authenticated and user.is_active and user.role in set(roles))


def may(user, action: str) -> bool:
    """Role check only: may this user take `action` at all?"""
    roles = ACTION_ROLES.get(action)
    if roles is None:
        raise KeyError(f"unknown action {action!r}")
    return has_role(user, roles)


def visible_branch_ids(user) -> set | None:
    """Branch ids the user works in, or None for all branches."""
    if not user or not user.is_authenticated:
        return set()
    if user.all_branches:
        return None
    cached = getattr(user, "_branch_ids_cache", None)
    if cached is None:
        cached = set(user.branches.values_list("id", flat=True))
        user._branch_ids_cache = cached
    return cached


def in_branch(user, branch_id) -> bool:
    ids = visible_branch_ids(user)
    return ids is None or branch_id in ids


def scope_to_branches(queryset: QuerySet, user, field: str = "branch") -> QuerySet:
    """Limit a queryset to the user's branches; outside rows simply do not exist for them."""
    ids = visible_branch_ids(user)
    if ids is None:
        return queryset
    return queryset.filter(**{f"{field}__in": ids})


def can(user, action: str, obj=None) -> bool:
    if not may(user, action):
        return False
    branch_id = getattr(obj, "branch_id", None) if obj is not None else None
    return branch_id is None or in_branch(user, branch_id)


def require(user, action: str, obj=None) -> None:
    if not can(user, action, obj):
        raise PermissionDenied(f"Your role may not do this ({action}).")


def may_change_saved_filter(user, saved_filter) -> bool:
    """A saved filter is renamed, re-shared or deleted by the person who saved it. Others who see it
    (shared with one of their branches) only apply it; one shared with no branch of theirs they do not
    see at all (accounts.selectors.visible_saved_filters: a 404)."""
    return bool(user and user.is_authenticated and saved_filter.owner_id == user.pk)
