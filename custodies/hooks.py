"""What a custody asks of the apps above it; they answer by registering here at start-up.

`custodies` sits below `approvals`, `documents` and `billing` (docs/architecture.md, "Layers") and
imports none of them. Yet submitting a custody starts its approval chain, changing it re-prices its
replacement rental, closing it checks its documents and posts its charges, and its page shows their
tabs. Each of those needs is one slot below; the app that owns the rule fills it in its
`AppConfig.ready` (`approvals/apps.py`, `billing/apps.py`, `documents/apps.py`). The rules stay in
those apps: this module only names the questions.

Read a slot when you use it (`hooks.billing.sync_rental(custody)`), never `from .hooks import
billing`: registration replaces the module attribute. A slot nobody filled is a configuration error
(the app is not installed, or its `ready` did not run) and says so, rather than skipping a rule.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.core.exceptions import ImproperlyConfigured
from django.db.models import QuerySet

# A custody, a user, an approval level and a charge are passed through as they are: custodies hands
# them to the app that registered the slot and reads back only what the fields below name.
Custody = Any
User = Any


@dataclass(frozen=True)
class ApprovalChain:
    """The approval levels of a custody (`approvals` registers it)."""

    # The role may decide some level (the `approve`/`reject` transitions' role check).
    may_decide_any: Callable[[User], bool]
    # The level waiting for a decision in the current round (an object with `.level`), or None.
    # Reads the round's levels afresh at every call.
    current_level: Callable[[Custody], Any]
    # None when the user may decide that level, else the reason (segregation of duties, role, branch).
    why_cannot_decide: Callable[[User, Custody, Any], str | None]
    # Submission: the levels of a new round, level 1 due at the given time. Answers the name of the
    # rule that approved the custody at once, or None when the levels wait for people.
    start: Callable[[Custody, datetime, datetime | None], str | None]
    # Records the decision on a level (approve=True/False), audited; with entries=[...] the audit entry
    # is appended there for the caller to write with its own.
    decide: Callable[..., None]  # (level, user, *, approve, notes, now, entries=None)
    # After an approval: the next level of the round (its clock started), or None when it was the last.
    # Called after `decide` on the level `current_level` answered, in the same action.
    activate_next_level: Callable[[Custody, datetime], Any]
    # Rejected or voided: the round's open levels are skipped.
    skip_open_levels: Callable[[Custody], None]
    # The SLA job: pending levels past their due time escalate; answers how many did.
    escalate_overdue: Callable[[datetime], int]
    # The detail page: the approvals tab (rounds, newest first, each with its levels) and the
    # timeline's decision entries.
    rounds: Callable[[Custody, datetime], list[dict]]
    timeline: Callable[[Custody], list[dict]]


@dataclass(frozen=True)
class CustodyBilling:
    """The money of a custody (`billing` registers it)."""

    # The system's replacement rental line(s) follow the custody (recomputed until posted).
    # entries=[...]: the caller's audit entries, written first with the lines' (one INSERT);
    # created=True: the custody was created in this transaction (it has no lines to read yet).
    sync_rental: Callable[..., Any]  # (custody, now=None, *, entries=(), created=False)
    # The damage hold follows the custody's damage hold amount.
    sync_hold: Callable[[Custody], Any]
    # Draft charges that block closing (each with `description`, `display_description`, `total`).
    blocking_drafts: Callable[[Custody], list]
    # Fuel and excess-km lines suggested at close (each with a `key` the user accepts).
    close_suggestions: Callable[[Custody, datetime, int | None, int | None], list]
    # At close: the rental finalized for the actual period and posted, the accepted suggestions added;
    # entries=[...]: the caller's audit entries, written first with the settlement's (one INSERT).
    finalize_on_close: Callable[..., Any]  # (custody, now, suggestions, *, entries=())
    # `{"charged", "paid", "outstanding", "by_responsibility"}` (the API's `balance`); created=True: the
    # custody was created in this transaction (nothing can be billed or paid yet: no query).
    balance: Callable[..., dict]  # (custody, *, created=False)
    # The list export: each custody annotated with `export_charged` and `export_paid`.
    with_amounts: Callable[[QuerySet], QuerySet]


@dataclass(frozen=True)
class CustodyDocuments:
    """The documents of a custody (`documents` registers it)."""

    # (custody, stage) → the required document types it lacks at `submit`, `handover` or `close`.
    missing: Callable[[Custody, str], list[str]]
    # The current (not superseded) document types.
    present: Callable[[Custody], set[str]]
    # A document type's label.
    label: Callable[[str], str]
    # The documents tab and the wizard's documents step: context for `documents/_panel.html`.
    panel: Callable[[User, Custody], dict]
    # (custody, "handover" | "return") → (odometer_km, fuel_level) typed on the condition page.
    readings: Callable[[Custody, str], tuple[int | None, int | None]]


class _Unfilled:
    def __init__(self, slot: str, app: str):
        self._slot, self._app = slot, app

    def __getattr__(self, name):
        raise ImproperlyConfigured(
            f"custodies.hooks.{self._slot}.{name}: no app registered it ({self._app!r} fills it in "
            "its AppConfig.ready; is it in INSTALLED_APPS?)"
        )


approvals: ApprovalChain = _Unfilled("approvals", "approvals")  # type: ignore[assignment]
billing: CustodyBilling = _Unfilled("billing", "billing")  # type: ignore[assignment]
documents: CustodyDocuments = _Unfilled("documents", "documents")  # type: ignore[assignment]


def register_approvals(chain: ApprovalChain) -> None:
    global approvals
    approvals = chain


def register_billing(custody_billing: CustodyBilling) -> None:
    global billing
    billing = custody_billing


def register_documents(custody_documents: CustodyDocuments) -> None:
    global documents
    documents = custody_documents
