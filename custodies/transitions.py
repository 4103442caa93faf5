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


# ---- messages: one whole sentence per action (no verb pasted into a sentence; Arabic needs whole
# sentences, and "cannot be approve" was what pasting gave in English) ------------------------------

_STATE_REFUSALS = {
    "edit": _("%(no)s is “%(status)s”: only a draft custody can be edited."),
    "submit": _("%(no)s is “%(status)s”: only a draft custody can be submitted for approval."),
    "approve": _("%(no)s is “%(status)s”: only a custody pending approval can be approved."),
    "reject": _("%(no)s is “%(status)s”: only a custody pending approval can be rejected."),
    "handover": _("%(no)s is “%(status)s”: only an approved custody can be handed over."),
    "close": _("%(no)s is “%(status)s”: only an active custody can be closed."),
    "void": _("%(no)s is “%(status)s” and can no longer be voided."),
}
_ROLE_REFUSALS = {
    "edit": _("Your role may not edit custodies."),
    "submit": _("Your role may not submit custodies for approval."),
    "approve": _("Your role may not approve custodies."),
    "reject": _("Your role may not reject custodies."),
    "handover": _("Your role may not hand over custodies."),
    "close": _("Your role may not close custodies."),
    "void": _("Your role may not void this custody."),
}


def state_refusal(custody, action: str) -> str:
    """Why `action` is impossible in the custody's state (409), as one translated sentence."""
    template = _STATE_REFUSALS.get(action, _("%(no)s is “%(status)s”: this action is not possible now."))
    return str(template) % {"no": custody.custody_no, "status": custody.get_status_display()}


def role_refusal(action: str) -> str:
    """Why the user's role may not take `action` (403), as one translated sentence."""
    return str(_ROLE_REFUSALS.get(action, _("Your role may not do this.")))
