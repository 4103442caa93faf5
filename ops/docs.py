"""Render docs/state-machines.md from the tables the code runs on: the custody transition table
(`custodies/transitions.py`) and the approval eligibility table (`approvals/eligibility.py`)."""

from django.utils import translation

from accounts.permissions import ACTION_ROLES
from approvals import eligibility
from custodies.transitions import TRANSITIONS


def render_state_machine() -> str:
    with translation.override("en"):
        lines = [
            "# Custody state machine",
            "",
            "Generated from `custodies/transitions.py` and `approvals/eligibility.py` by `custody render-docs`;",
            "a test fails when this file is",
            "out of date. `closed` and `voided` are terminal: every action there is `409 INVALID_TRANSITION`.",
            "",
            "| from | action | to | who | needs |",
            "|---|---|---|---|---|",
        ]
        for (source, action), t in TRANSITIONS.items():
            if t.permission is None:
                who = "a decider of the current approval level (see below)"
            else:
                who = ", ".join(sorted(ACTION_ROLES[t.permission]))
            target = (
                "stays `pending_approval` until the last level, then `approved`"
                if action == "approve"
                else f"`{t.target}`"
            )
            needs = ", ".join(f"`{n}`" for n in t.needs) or "—"
            lines.append(f"| `{source}` | {action} | {target} | {who} | {needs} |")
        lines += ["", "```mermaid", "stateDiagram-v2", "    [*] --> draft: create"]
        for (source, action), t in TRANSITIONS.items():
            if action == "edit":
                continue
            lines.append(f"    {source} --> {t.target}: {action}")
        lines += ["    closed --> [*]", "    voided --> [*]", "```", ""]
        lines += ["## Who may decide an approval level", "", *eligibility.describe(), ""]
        lines += _quote_tables()
    return "\n".join(lines)


def _quote_tables() -> list[str]:
    """The quote and cost-sheet tables (`quotes/transitions.py`, DESIGN §12)."""
    from quotes.transitions import COST_SHEET_TRANSITIONS, CUSTOMER, QUOTE_TRANSITIONS, SEGREGATED, SYSTEM

    lines = []
    for title, table in (
        ("Quote state machine", QUOTE_TRANSITIONS),
        ("Cost sheet state machine", COST_SHEET_TRANSITIONS),
    ):
        lines += [
            f"## {title}",
            "",
            "Generated from `quotes/transitions.py`. Approve and reject are never taken by the user who submitted.",
            "",
            "| from | action | to | who | needs |",
            "|---|---|---|---|---|",
        ]
        for (source, action), t in table.items():
            if t.permission == CUSTOMER:
                who = "the customer, on the public review page"
            elif t.permission == SYSTEM:
                who = "the system"
            else:
                who = ", ".join(sorted(ACTION_ROLES[t.permission]))
                if action in SEGREGATED:
                    who += " (not the submitter)"
            needs = ", ".join(f"`{n}`" for n in t.needs) or "—"
            lines.append(f"| `{source}` | {action} | `{t.target}` | {who} | {needs} |")
        lines.append("")
    return lines
