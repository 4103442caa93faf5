"""The quote and cost-sheet state machines (DESIGN §12): one table each, read by services, pages, API, docs."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .choices import CostSheetStatus as C
from .choices import QuoteStatus as Q

# Who acts: a permission of accounts.permissions, or CUSTOMER (the public review page, no account)
# or SYSTEM (the daily expiry job). Approvals also require "not the submitter" (segregation of duties).
CUSTOMER = "customer"
SYSTEM = "system"


@dataclass(frozen=True)
class Transition:
    source: str
    action: str
    target: str
    permission: str
    label: object
    needs: tuple[str, ...] = ()


QUOTE_TRANSITIONS: dict[tuple[str, str], Transition] = {
    (t.source, t.action): t
    for t in [
        Transition(Q.DRAFT, "edit", Q.DRAFT, "quote.edit", _("Edit")),
        Transition(Q.DRAFT, "submit", Q.PENDING_APPROVAL, "quote.submit", _("Submit for approval")),
        Transition(Q.PENDING_APPROVAL, "approve", Q.APPROVED, "quote.approve", _("Approve")),
        Transition(Q.PENDING_APPROVAL, "reject", Q.DRAFT, "quote.approve", _("Reject"), ("reason",)),
        Transition(Q.APPROVED, "send", Q.SENT, "quote.send", _("Send to the customer")),
        # Sending again e-mails a fresh link (the old one stops working).
        Transition(Q.SENT, "send", Q.SENT, "quote.send", _("Send again")),
        Transition(Q.SENT, "accept", Q.ACCEPTED, CUSTOMER, _("Accept"), ("name", "signature")),
        Transition(Q.SENT, "decline", Q.REJECTED, CUSTOMER, _("Reject"), ("reason",)),
        Transition(Q.ACCEPTED, "convert", Q.ACCEPTED, "quote.convert", _("Create rental agreements")),
        *(
            Transition(s, "expire", Q.EXPIRED, SYSTEM, _("Expire"))
            for s in (Q.DRAFT, Q.PENDING_APPROVAL, Q.APPROVED, Q.SENT)
        ),
    ]
}

COST_SHEET_TRANSITIONS: dict[tuple[str, str], Transition] = {
    (t.source, t.action): t
    for t in [
        Transition(C.DRAFT, "edit", C.DRAFT, "cost_sheet.edit", _("Edit")),
        Transition(C.REJECTED, "edit", C.DRAFT, "cost_sheet.edit", _("Revise")),
        Transition(C.DRAFT, "submit", C.PENDING_APPROVAL, "cost_sheet.edit", _("Submit for approval")),
        Transition(C.PENDING_APPROVAL, "approve", C.APPROVED, "quote.approve", _("Approve")),
        Transition(C.PENDING_APPROVAL, "reject", C.REJECTED, "quote.approve", _("Reject"), ("reason",)),
        Transition(C.APPROVED, "apply", C.APPROVED, "quote.edit", _("Apply suggested rates")),
        *(
            Transition(s, "obsolete", C.OBSOLETE, SYSTEM, _("Obsolete"))
            for s in (C.DRAFT, C.PENDING_APPROVAL, C.APPROVED, C.REJECTED)
        ),
    ]
}

# Actions that need a decider other than the one who submitted.
SEGREGATED = {"approve", "reject"}


def quote_transition(status: str, action: str) -> Transition | None:
    return QUOTE_TRANSITIONS.get((status, action))


def cost_sheet_transition(status: str, action: str) -> Transition | None:
    return COST_SHEET_TRANSITIONS.get((status, action))
