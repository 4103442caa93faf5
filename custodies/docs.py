"""Render the custody state machine as Markdown from the transition table (docs/state-machines.md)."""

from django.utils import translation

from accounts.permissions import ACTION_ROLES

from .transitions import TRANSITIONS


def render_state_machine() -> str:
    with translation.override("en"):
        lines = [
            "# Custody state machine",
            "",
            "Generated from `custodies/transitions.py` by `custody render-docs`; a test fails when this file is",
            "out of date. `closed` and `voided` are terminal: every action there is `409 INVALID_TRANSITION`.",
            "",
            "| from | action | to | who | needs |",
            "|---|---|---|---|---|",
        ]
        for (source, action), t in TRANSITIONS.items():
            if t.permission is None:
                who = "role of the current approval level (not the submitter; one level per user)"
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
    return "\n".join(lines)
