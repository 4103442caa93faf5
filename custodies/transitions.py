"""The custody state machine (DESIGN §4.1): one table read by services, pages, API and docs."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .choices import CustodyStatus as S


@dataclass(frozen=True)
class Transition:
    source: str
    action: str
    target: str
    # Permission action of accounts.permissions; None = decided by the current approval level.
    permission: str | None
    label: object
    needs: tuple[str, ...] = ()


TRANSITIONS: dict[tuple[str, str], Transition] = {
    (t.source, t.action): t
    for t in [
        Transition(S.DRAFT, "edit", S.DRAFT, "custody.edit", _("Edit")),
        Transition(S.DRAFT, "submit", S.PENDING_APPROVAL, "custody.submit", _("Submit for approval")),
        Transition(S.DRAFT, "void", S.VOIDED, "custody.void_draft", _("Void"), ("reason",)),
        # approve stays pending until the last level, then goes to approved.
        Transition(S.PENDING_APPROVAL, "approve", S.APPROVED, None, _("Approve"), ("notes?",)),
        Transition(S.PENDING_APPROVAL, "reject", S.DRAFT, None, _("Reject"), ("reason",)),
        Transition(S.PENDING_APPROVAL, "void", S.VOIDED, "custody.void", _("Void"), ("reason",)),
        Transition(
            S.APPROVED,
            "handover",
            S.ACTIVE,
            "custody.handover",
            _("Hand over"),
            ("odometer_km", "fuel_level"),
        ),
        Transition(S.APPROVED, "void", S.VOIDED, "custody.void", _("Void"), ("reason",)),
        Transition(
            S.ACTIVE,
            "close",
            S.CLOSED,
            "custody.close",
            _("Close"),
            ("returned_at", "odometer_km", "fuel_level"),
        ),
        Transition(S.ACTIVE, "void", S.VOIDED, "custody.void", _("Void"), ("reason",)),
    ]
}

ACTIONS = ("edit", "submit", "approve", "reject", "handover", "close", "void")


def transition_for(status: str, action: str) -> Transition | None:
    return TRANSITIONS.get((status, action))


# approve/reject are decided by the approval level (approvals.eligibility), not by a permission.
APPROVAL_DECIDERS = "approval.decide"


def permissions_for(action: str) -> set[str]:
    """Every permission that allows `action` from some state (APPROVAL_DECIDERS for approve/reject):
    a role with none of them is refused before the state is looked at (403 before 409, so the
    state is not revealed)."""
    found: set[str] = set()
    for (_source, name), transition in TRANSITIONS.items():
        if name == action:
            found.add(transition.permission or APPROVAL_DECIDERS)
    return found
