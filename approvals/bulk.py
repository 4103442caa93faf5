"""Approving several levels at once from the inbox (issue 12, "bulk actions where staff expect them").

Each ticked level is one decision, in its own transaction, through the same service as a single
approval (custodies.services.approve_custody), so one refusal never undoes or blocks the others. The
order of the checks is the one every approval follows:

1. the role first, for the whole request: a role that decides no approvals is refused (403) before any
   level is looked at;
2. a level outside the user's branches is not there for them (left out, like a 404);
3. per level, under the custody's row lock: who may decide it (approvals.eligibility: branch, the
   level's role, segregation of duties, one level per person), then its state (still the custody's
   current level: a level decided by someone else meanwhile is not silently replaced by the next one),
   then the service's own checks (the replacement still available).

The result says per level what was done, or what was refused and why.
"""

import uuid
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.utils.translation import gettext as _

from accounts.permissions import scope_to_branches
from core.errors import DomainError, InvalidTransition
from core.pagination import MAX_LIMIT
from custodies import selectors, services
from custodies.choices import CustodyStatus
from custodies.transitions import role_refusal

from . import eligibility
from . import services as approvals
from .models import Approval

MAX_LEVELS = MAX_LIMIT  # one inbox page at most


@dataclass
class Outcome:
    level: Approval
    custody: object  # the custody after the decision (as it was loaded, when refused)
    approved: bool
    message: str


def _ids(values) -> list[uuid.UUID]:
    found: dict[uuid.UUID, None] = {}
    for value in values:
        try:
            found[uuid.UUID(str(value))] = None
        except ValueError:
            continue  # a malformed id names no level
    return list(found)


def approve_levels(user, approval_ids, notes: str = "") -> list[Outcome]:
    """Approve each level in `approval_ids` the user may approve now; one Outcome per level found."""
    if not eligibility.may_decide_any(user):
        raise PermissionDenied(role_refusal("approve"))
    ids = _ids(approval_ids)[:MAX_LEVELS]
    levels = scope_to_branches(
        Approval.objects.select_related("custody", "custody__branch"), user, field="custody__branch"
    ).in_bulk(ids)
    notes = (notes or "").strip()
    return [_approve_one(user, levels[pk], notes) for pk in ids if pk in levels]


def _approve_one(user, level: Approval, notes: str) -> Outcome:
    try:
        with transaction.atomic():
            custody = selectors.lock_custody(level.custody_id, user)
            reason = eligibility.why_cannot_decide(user, custody, level)
            if reason:
                raise PermissionDenied(reason)
            current = (
                approvals.current_level(custody) if custody.status == CustodyStatus.PENDING_APPROVAL else None
            )
            if current is None or current.pk != level.pk:
                raise InvalidTransition(_("This level was already decided or is no longer waiting."))
            result = services.approve_custody(user, custody.pk, notes=notes)
    except PermissionDenied as exc:
        return Outcome(level, level.custody, False, str(exc) or _("You may not decide this level."))
    except DomainError as exc:
        return Outcome(level, level.custody, False, " ".join(exc.messages()))
    if result.custody.status == CustodyStatus.APPROVED:
        message = _("Approved — the custody is ready for handover.")
    else:
        message = _("Level %(n)s approved — the next level decides now.") % {"n": level.level}
    return Outcome(level, result.custody, True, message)
