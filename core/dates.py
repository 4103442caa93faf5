"""Dates and times as people read them: one format per language, in the reader's time zone.

The formats live in `core/formats/<language>/formats.py` (FORMAT_MODULE_PATH): pages use them
through `|date:"SHORT_DATE_FORMAT"` / `"SHORT_DATETIME_FORMAT"`, Python code (exports, PDFs,
messages, the audit log) through these functions, so a date never appears in two shapes.
"""

from datetime import date, datetime, time, timedelta

from django.db.models import Q
from django.utils import formats, timezone

DATE = "SHORT_DATE_FORMAT"
DATETIME = "SHORT_DATETIME_FORMAT"

# Django date-format letters -> Excel number-format codes (for XLSX cells holding real dates).
_EXCEL = {"d": "dd", "j": "d", "m": "mm", "n": "m", "Y": "yyyy", "y": "yy", "H": "hh", "G": "h", "i": "mm"}


def local(value: datetime, tz=None) -> datetime:
    """An aware time in `tz` (default: the active zone, the user's); naive values are left alone."""
    if timezone.is_aware(value):
        return timezone.localtime(value, tz)
    return value


def datetime_text(value: datetime | None, tz=None, empty: str = "") -> str:
    """30/11/2026 14:05 in the reader's zone and language (to the minute)."""
    if value is None:
        return empty
    if not isinstance(value, datetime):
        return date_text(value, empty)
    return formats.date_format(local(value, tz), DATETIME)


def date_text(value: date | None, empty: str = "") -> str:
    if value is None:
        return empty
    if isinstance(value, datetime):
        value = local(value).date()
    return formats.date_format(value, DATE)


def excel_format(which: str = DATETIME) -> str:
    """The language's format as an Excel number format ("dd/mm/yyyy hh:mm")."""
    return "".join(_EXCEL.get(char, char) for char in formats.get_format(which))


def day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the active time zone (the user's)."""
    return timezone.make_aware(datetime.combine(day, time.min))


def on_days(field: str, first: date | None, last: date | None) -> Q:
    """`field` (a time) falls on one of the days `first`..`last`, both included, as the user counts days."""
    q = Q()
    if first:
        q &= Q(**{f"{field}__gte": day_start(first)})
    if last:
        q &= Q(**{f"{field}__lt": day_start(last + timedelta(days=1))})
    return q
