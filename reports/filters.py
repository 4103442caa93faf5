"""Period and branch of a report, read from a query string the same way by the API and the pages."""

from datetime import date

from django.http import Http404
from django.utils.translation import gettext as _

from core.errors import ValidationFailed
from fleet.selectors import branches_for

from .kpis import MAX_DAYS, Period, Scope


def report_scope(user, date_from: date | None, date_to: date | None, branch_id=None) -> tuple[Scope, Period]:
    """Default: the last 30 days ending today (or ending `to`), all of the user's branches.

    A branch the user does not work in does not exist for them (404), as everywhere else.
    """
    if date_to is None and date_from is None:
        period = Period.last_days()
    elif date_from is None:
        period = Period.last_days(today=date_to)
    elif date_to is None:
        period = Period(date_from, max(date_from, Period.last_days().end))
    else:
        period = Period(date_from, date_to)
    if period.end < period.start:
        raise ValidationFailed(
            _("The period is not valid."), {"to": [_("Must not be before the start date.")]}
        )
    if period.days > MAX_DAYS:
        raise ValidationFailed(
            _("The period is not valid."),
            {"from": [_("A period is at most %(days)s days.") % {"days": MAX_DAYS}]},
        )
    if branch_id and not branches_for(user).filter(pk=branch_id).exists():
        raise Http404("branch")
    return Scope(user, branch_id or None), period
