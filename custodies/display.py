"""Presentation helpers shared by the custody pages, the approvals inbox and the dashboard.

Pure functions over already-loaded objects: no queries, so lists stay N+1-free.
"""

import html
import re

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from .choices import SLA_COLOURS, STATUS_COLOURS, SlaState, SlaTarget
from .sla import SlaView, current_view


class SlaWords:
    """The translated words of SLA badges, looked up once per language (`sla_words()`): a list of 50
    rows would otherwise translate the same few words a hundred times."""

    def __init__(self):
        self.days = _("%(d)s d %(h)s h")
        self.hours = _("%(h)s h %(m)s m")
        self.minutes = _("%(m)s m")
        self.met = _("met")
        self.breached = _("breached")
        self.breached_ago = _("breached %(time)s ago")
        self.left = _("%(time)s left")
        self.due = _("due")
        self.states = {value: str(label) for value, label in SlaState.choices}
        self.targets = {value: str(label) for value, label in SlaTarget.choices}


_sla_words: dict[str, SlaWords] = {}


def sla_words() -> SlaWords:
    """The current language's SlaWords (translations do not change while the process runs)."""
    language = get_language() or ""
    words = _sla_words.get(language)
    if words is None:
        words = _sla_words[language] = SlaWords()
    return words


def duration_text(seconds: float) -> str:
    """A short human duration: '2 d 4 h', '2 h 10 m', '35 m'."""
    words = sla_words()
    seconds = abs(int(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        return words.days % {"d": days, "h": hours}
    if hours:
        return words.hours % {"h": hours, "m": minutes}
    return words.minutes % {"m": minutes}


def sla_badge(view: SlaView | None) -> dict | None:
    """{state, label, colour, text, due_at, target_label} for a coloured SLA badge, or None."""
    if view is None or not view.state:
        return None
    words = sla_words()
    state = view.state
    if state == SlaState.MET:
        text = words.met
    elif state == SlaState.BREACHED:
        if view.seconds_left is not None:
            text = words.breached_ago % {"time": duration_text(min(view.seconds_left, 0))}
        else:
            text = words.breached
    elif view.seconds_left is not None:
        text = words.left % {"time": duration_text(view.seconds_left)}
    else:
        text = words.states[state]
    return {
        "state": state,
        "label": words.states[state],
        "colour": SLA_COLOURS.get(state, "secondary"),
        "text": text,
        "due_at": view.due_at,
        "target": view.target,
        "target_label": words.targets[view.target],
    }


def current_sla_badge(custody, now) -> dict | None:
    return sla_badge(current_view(custody, now))


def role_label(role: str) -> str:
    """The translated name of an approval level's role ("system" for automatic approvals)."""
    from accounts.choices import Role

    if role in Role.values:
        return str(Role(role).label)
    return _("System") if role == "system" else role


def status_colour(status: str) -> str:
    return STATUS_COLOURS.get(status, "secondary")


def level_due_badge(level, now) -> dict | None:
    """When an open approval level escalates. This is the level's own clock, not the custody's SLA
    (that one is `current_sla_badge`, the same on the list, the dashboard and the inbox)."""
    if level.due_at is None or level.status not in ("pending", "escalated"):
        return None
    if level.status == "escalated" or now >= level.due_at:
        return {"colour": "danger", "text": _("escalated"), "due_at": level.due_at}
    left = duration_text((level.due_at - now).total_seconds())
    return {
        "colour": "light border text-dark",
        "text": _("escalates in %(time)s") % {"time": left},
        "due_at": level.due_at,
    }


EVENT_COLOURS = {
    "custody.created": "secondary",
    "custody.submitted": "warning",
    "custody.approved": "info",
    "custody.rejected": "danger",
    "custody.handed_over": "primary",
    "custody.closed": "success",
    "custody.voided": "dark",
    "custody.sla_breached": "danger",
    "approval.escalated": "danger",
}


def event_title(action: str) -> str:
    """One title per action, from the audit log's one list (audit.present.ACTION_TITLES)."""
    from audit.present import action_title

    return action_title(action)


def event_colour(action: str) -> str:
    return EVENT_COLOURS.get(action, "secondary")


class ListRows:
    """The custody list's rows as HTML, built here once per row rather than by the template (~16
    variables a row through the template engine cost ~0.1 ms; 50 rows, ~5 ms of a page's CPU):
    docs/performance.md, issue 14.

    Labels and badge markup per status and reason are made once per page; dates go through
    date_formatter() (Django's dateformat costs ~20 µs a call, ~90 calls a page). The markup is in
    `row()`, the body of custodies/_list_results.html's table: one layout, a table that custodies.css
    turns into cards on a phone.
    """

    def __init__(self, now):
        from django.urls import reverse
        from django.utils import formats
        from django.utils.html import format_html

        from .choices import CustodyStatus, ReasonCode

        self.now = now
        self.created = date_formatter(f"{formats.get_format('SHORT_DATE_FORMAT')} H:i")
        self.due = date_formatter(formats.get_format("SHORT_DATETIME_FORMAT"))
        self.words = sla_words()
        self.status_badges = {
            value: format_html('<span class="badge text-bg-{}">{}</span>', status_colour(value), label)
            for value, label in CustodyStatus.choices
        }
        self.reasons = {value: _escape(label) for value, label in ReasonCode.choices}
        self.no_sla_cell = '<td class="cell-sla cell-empty"><span class="text-muted">—</span></td>'
        # The row checkbox's label (was a {% blocktrans %} per row: ~35 µs each, 50 a page).
        self.select_label = _("Select %(no)s")
        marker = "00000000-0000-0000-0000-000000000000"
        self.detail_url = _escape(reverse("custodies:detail", args=[marker])).replace(marker, "{}")

    def html(self, rows) -> str:
        """The table body's rows (selectors.ListRow each), safe to print."""
        from django.utils.safestring import mark_safe

        return mark_safe("".join(self.row(row) for row in rows))  # noqa: S308 - every value escaped in row()

    def row(self, row) -> str:
        """One row's <tr> (a selectors.ListRow): the body of custodies/_list_results.html's table."""
        status = row["status"]
        sla_info = sla_badge(current_view(row, self.now)) if status in _SLA_STATUSES else None
        if sla_info:
            title = f"{sla_info['target_label']} · {sla_info['label']}"
            if sla_info["due_at"]:
                title = f"{title} · {self.words.due} {self.due(sla_info['due_at'])}"
            sla_cell = (
                f'<td class="cell-sla"><span class="badge text-bg-{sla_info["colour"]} sla-badge"'
                f' title="{_escape(title)}">{_escape(sla_info["text"])}</span></td>'
            )
        else:
            sla_cell = self.no_sla_cell
        pk = str(row["id"])
        no = _escape(row["custody_no"])
        customer = _escape(row["customer__full_name"])
        custodian = _escape(row["custodian_name"])
        return (
            "\n      <tr>\n"
            '        <td class="cell-check"><label class="select-row"><input class="form-check-input"'
            f' type="checkbox" name="id" value="{pk}" form="custody-selection" data-select-row>'
            f'<span class="visually-hidden">{_escape(self.select_label % {"no": row["custody_no"]})}</span></label></td>\n'
            f'        <td class="cell-no"><a href="{self.detail_url.format(pk)}" class="fw-semibold stretched-link-sm">{no}</a></td>\n'
            f'        <td class="cell-status">{self.status_badges[status]}</td>\n'
            f"        {sla_cell}\n"
            f'        <td class="cell-reason">{self.reasons[row["reason_code"]]}</td>\n'
            f'        <td class="text-truncate cell-name" title="{customer}">{customer}</td>\n'
            f'        <td class="text-truncate cell-name cell-xxl" title="{custodian}">{custodian}</td>\n'
            f'        <td class="cell-plate"><bdi dir="ltr">{_escape(row["original_vehicle__plate"] or "—")}</bdi></td>\n'
            f'        <td class="cell-plate cell-to"><bdi dir="ltr">{_escape(row["replacement_vehicle__plate"] or "—")}</bdi></td>\n'
            f'        <td class="cell-lg">{_escape(row["branch__code"])}</td>\n'
            f'        <td class="small"><bdi dir="ltr">{_escape(self.created(row["created_at"]))}</bdi></td>\n'
            "      </tr>\n    "
        )


def _escape(value) -> str:
    """What the template's autoescaping prints for a value (str() of it, HTML-escaped; safe strings as
    they are). Most values have nothing to escape: one search instead of html.escape's five replaces."""
    if hasattr(value, "__html__"):
        return value.__html__()
    text = str(value)
    return html.escape(text) if _SPECIAL.search(text) else text


_SPECIAL = re.compile("[&<>\"']")


# Django date format characters date_formatter() renders itself (the list's formats: d/m/Y H:i).
_FAST_DATE_PARTS = {
    "d": lambda t: f"{t.day:02d}",
    "j": lambda t: str(t.day),
    "m": lambda t: f"{t.month:02d}",
    "n": lambda t: str(t.month),
    "Y": lambda t: str(t.year),
    "y": lambda t: f"{t.year % 100:02d}",
    "H": lambda t: f"{t.hour:02d}",
    "G": lambda t: str(t.hour),
    "i": lambda t: f"{t.minute:02d}",
    "s": lambda t: f"{t.second:02d}",
}


_STRFTIME = {_FAST_DATE_PARTS[char]: f"%{code}" for char, code in zip("dmYyHis", "dmYyHMS", strict=True)}


def date_formatter(fmt: str):
    """A function aware datetime → text in the current time zone, the same as Django's
    dateformat.format(localtime(dt), fmt); numeric formats are rendered directly, anything else falls
    back to Django's formatter. Make it per request (it keeps the request's time zone)."""
    from django.utils import dateformat, timezone

    parts = []
    escaped = False
    for char in fmt:
        if escaped:
            parts.append(char)
            escaped = False
        elif char == "\\":
            escaped = True
        elif char in _FAST_DATE_PARTS:
            parts.append(_FAST_DATE_PARTS[char])
        elif char.isalpha():
            return lambda value: dateformat.format(timezone.localtime(value), fmt)
        else:
            parts.append(char)

    zone = timezone.get_current_timezone()  # once: the lookup costs more than the conversion
    if all(isinstance(part, str) or part in _STRFTIME for part in parts):
        # Zero-padded numbers only (d/m/Y H:i): one strftime() call.
        pattern = "".join(
            part.replace("%", "%%") if isinstance(part, str) else _STRFTIME[part] for part in parts
        )
        return lambda value: value.astimezone(zone).strftime(pattern)

    def format_date(value) -> str:
        local = value.astimezone(zone)
        return "".join(part if isinstance(part, str) else part(local) for part in parts)

    return format_date


_SLA_STATUSES = {"pending_approval", "approved", "active"}
