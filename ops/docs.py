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
    return "\n".join(lines)
