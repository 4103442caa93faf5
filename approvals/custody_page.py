"""The approvals' part of the custody page: the approvals tab and the decisions on the timeline.

Registered in `custodies.hooks` (`ApprovalChain.rounds`, `ApprovalChain.timeline`) by `apps.py`; the
custody page (`custodies.views`) shows what these return with `approvals/_custody_rounds.html` and
imports nothing from here.
"""

from itertools import groupby

from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from custodies import display

from .choices import APPROVAL_COLOURS
from .models import Approval

_LEVEL_DECISIONS = {
    "approved": gettext_lazy("Level %(level)s (%(role)s) approved"),
    "rejected": gettext_lazy("Level %(level)s (%(role)s) rejected"),
    "escalated": gettext_lazy("Level %(level)s (%(role)s) escalated"),
    "skipped": gettext_lazy("Level %(level)s (%(role)s) skipped"),
}


def rounds(custody, now) -> list[dict]:
    """The approvals tab: each submission round, newest first, with its levels."""
    rows = list(
        Approval.objects.filter(custody=custody).select_related("decided_by").order_by("-round", "level")
    )
    result = []
    for number, levels in groupby(rows, key=lambda a: a.round):
        items = []
        for level in levels:
            items.append(
                {
                    "level": level,
                    "colour": APPROVAL_COLOURS.get(level.status, "secondary"),
                    "role": display.role_label(level.role),
                    "due": display.level_due_badge(level, now)
                    if level.status in ("pending", "escalated")
                    else None,
                }
            )
        result.append({"number": number, "current": number == custody.submission_round, "levels": items})
    return result


def timeline(custody) -> list[dict]:
    """The timeline's entries for decided levels (the audit's `approval.decided` rows, in words)."""
    events = []
    decisions = (
        Approval.objects.filter(custody=custody, decided_at__isnull=False)
        .select_related("decided_by")
        .order_by("decided_at")
    )
    for level in decisions:
        if level.role == "system":
            title = _("Approved automatically")
        else:
            template = _LEVEL_DECISIONS.get(level.status, gettext_lazy("Level %(level)s (%(role)s) decided"))
            title = str(template) % {"level": level.level, "role": display.role_label(level.role)}
        events.append(
            {
                "at": timezone.localtime(level.decided_at),
                "seq": 0,
                "title": title,
                "action": "approval.decided",
                "actor": (level.decided_by.get_full_name() or level.decided_by.email)
                if level.decided_by
                else _("System"),
                "subject": "",
                "changes": [],
                "detail": level.notes,
                "colour": APPROVAL_COLOURS.get(level.status, "secondary"),
            }
        )
    return events
