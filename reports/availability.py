"""Availability calendar (issue 12 item 5): a branch's vehicles as rows, days as columns, each cell
showing what holds the car that day — a rental agreement (rented), a custody's replacement
(reserved once approved, out with the customer once handed over), the original of a custody (in
custody) or the workshop — with two holds on one day highlighted as a conflict. A click on a
custody's cell opens it. The wizard's replacement step shows the same calendar for its branch and
period (replacement_calendar, loaded by URL: custodies does not import reports), where a car the
booking rule allows can be picked.

Read-only and bounded: one branch (of the user's), optionally one vehicle class, 14 days, at most
ROWS vehicles per page with a keyset "next" link on the plate; four queries whatever the fleet size.
"""

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import Case, IntegerField, Q, Value, When
from django.http import QueryDict
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from custodies.choices import CustodyStatus
from custodies.selectors import custodies_for
from fleet.choices import AgreementStatus, VehicleStatus
from fleet.models import RentalAgreement
from fleet.selectors import branches_for, vehicle_classes, vehicles_for

ROWS = 40
DAYS = 14

# state -> (short text in the cell, colour); one home for the legend and the cells.
STATES = {
    "rented": (_("Rented"), "primary", _("Rent")),
    "reserved": (_("Reserved"), "info", _("Res.")),
    "replacement": (_("Out as replacement"), "success", _("Repl.")),
    "in_custody": (_("In custody"), "warning", _("Cust.")),
    "workshop": (_("Workshop"), "secondary", _("Shop")),
}


@dataclass
class Hold:
    state: str
    start: datetime
    end: datetime
    label: str = ""
    url: str = ""

    @property
    def text(self) -> str:
        return str(STATES[self.state][0])

    @property
    def colour(self) -> str:
        return STATES[self.state][1]

    @property
    def short(self) -> str:
        return str(STATES[self.state][2])


@dataclass
class Cell:
    day: date
    holds: list = field(default_factory=list)
    in_period: bool = False

    @property
    def conflict(self) -> bool:
        # A car in custody or at the workshop is also "rented" on its agreement: that is expected.
        active = [h for h in self.holds if h.state in ("reserved", "replacement", "rented")]
        return len(active) > 1

    @property
    def main(self):
        return self.holds[0] if self.holds else None


class CalendarForm(forms.Form):
    branch = forms.ChoiceField(label=_("Branch"), required=False)
    vehicle_class = forms.ChoiceField(label=_("Vehicle class"), required=False)
    start = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, user, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.branches = list(branches_for(user).order_by("code"))
        self.fields["branch"].choices = [(str(b.pk), f"{b.code} · {b.name}") for b in self.branches]
        self.fields["vehicle_class"].choices = [("", _("Every class"))] + [
            (str(c.pk), c.name) for c in vehicle_classes()
        ]


def _window(start: date, zone) -> tuple[datetime, datetime]:
    begin = datetime.combine(start, time.min, tzinfo=zone)
    return begin, begin + timedelta(days=DAYS)


def _holds(user, vehicles, begin, end, now) -> dict:
    ids = [v.pk for v in vehicles]
    holds: dict = {pk: [] for pk in ids}
    open_end = end + timedelta(days=1)
    custodies = custodies_for(user).filter(
        Q(replacement_vehicle_id__in=ids) | Q(original_vehicle_id__in=ids),
        status__in=[CustodyStatus.APPROVED, CustodyStatus.ACTIVE, CustodyStatus.CLOSED],
    )
    custodies = custodies.filter(
        Q(returned_at__isnull=True) | Q(returned_at__gt=begin),
        Q(handed_over_at__lt=end) | Q(handed_over_at__isnull=True, effective_from__lt=end),
    )
    for c in custodies:
        url = f"/custodies/{c.pk}/"
        if c.replacement_vehicle_id in holds:
            # The replacement's hold is the period the booking rule checks (custodies.rules.overlapping_holds):
            # [reserved_from, reserved_until), kept by the custody services; open-ended until it is known.
            kind = "reserved" if c.status == CustodyStatus.APPROVED else "replacement"
            start = c.reserved_from or c.handed_over_at or c.effective_from
            stop = c.reserved_until or (now if c.status == CustodyStatus.CLOSED else open_end)
            holds[c.replacement_vehicle_id].append(Hold(kind, start, stop, c.custody_no, url))
        if c.original_vehicle_id in holds and c.status != CustodyStatus.APPROVED:
            start = c.handed_over_at or c.effective_from
            stop = c.returned_at or c.original_ready_at or (c.closed_at if c.closed_at else open_end)
            holds[c.original_vehicle_id].append(Hold("in_custody", start, stop, c.custody_no, url))
    agreements = RentalAgreement.objects.filter(
        vehicle_id__in=ids, status=AgreementStatus.ACTIVE, start_at__lt=end, end_at__gt=begin
    ).only("pk", "vehicle_id", "start_at", "end_at", "agreement_no")
    for a in agreements:
        holds[a.vehicle_id].append(Hold("rented", a.start_at, a.end_at, a.agreement_no, ""))
    for v in vehicles:
        if v.status in (VehicleStatus.MAINTENANCE, VehicleStatus.OUT_OF_SERVICE):
            holds[v.pk].append(Hold("workshop", min(now, v.updated_at), open_end, "", ""))
    return holds


_ORDER = {"in_custody": 0, "workshop": 1, "replacement": 2, "reserved": 3, "rented": 4}


def _rows(user, vehicles, days, zone, now, period=None) -> list[dict]:
    """One row per vehicle, one cell per day with the holds on it; `period` ([start, end), end None for
    open-ended) marks the days it covers."""
    begin = _window(days[0], zone)[0]
    holds = _holds(user, vehicles, begin, begin + timedelta(days=len(days)), now)
    rows = []
    for v in vehicles:
        cells = []
        for day in days:
            day_begin = _window(day, zone)[0]
            day_end = day_begin + timedelta(days=1)
            cell = Cell(day)
            cell.holds = sorted(
                (h for h in holds[v.pk] if h.start < day_end and h.end > day_begin),
                key=lambda h: _ORDER[h.state],
            )
            if period is not None:
                cell.in_period = period[0] < day_end and (period[1] is None or period[1] > day_begin)
            cells.append(cell)
        rows.append({"vehicle": v, "cells": cells, "conflicts": sum(c.conflict for c in cells)})
    return rows


def calendar(user, params, now=None) -> dict:
    now = now or timezone.now()
    form = CalendarForm(user, params or None)
    form.is_valid()
    data = getattr(form, "cleaned_data", {}) or {}
    branch = next((b for b in form.branches if str(b.pk) == data.get("branch")), None)
    branch = branch or (form.branches[0] if form.branches else None)
    if branch is None:
        return {"form": form, "rows": [], "days": [], "branch": None, "states": STATES}
    zone = ZoneInfo(branch.timezone or "Asia/Dubai")
    start = data.get("start") or timezone.localtime(now, zone).date()
    days = [start + timedelta(days=i) for i in range(DAYS)]
    vehicles = vehicles_for(user).filter(branch=branch).select_related("vehicle_class").order_by("plate")
    if data.get("vehicle_class"):
        vehicles = vehicles.filter(vehicle_class_id=data["vehicle_class"])
    after = (params or {}).get("after", "")
    if after:
        vehicles = vehicles.filter(plate__gt=after)
    vehicles = list(vehicles[: ROWS + 1])
    more = len(vehicles) > ROWS
    vehicles = vehicles[:ROWS]
    query = params.copy() if hasattr(params, "copy") else {}
    next_url = None
    if more:
        query["after"] = vehicles[-1].plate
        next_url = "?" + query.urlencode()
    return {
        "form": form,
        "branch": branch,
        "days": days,
        "today": timezone.localtime(now, zone).date(),
        "rows": _rows(user, vehicles, days, zone, now),
        "next_url": next_url,
        "states": STATES,
    }


def replacement_calendar(user, custody, params, now=None) -> dict:
    """The wizard's replacement step: the calendar of the custody's branch from the first day of the
    period typed so far (the days it covers marked), the original's class first (or only, on request).
    A car the booking rule allows for that period (custodies.selectors.replacement_options, the list
    beside it) comes first and can be picked from its row."""
    from custodies.forms import ReplacementStepForm
    from custodies.selectors import replacement_options

    now = now or timezone.now()
    form = ReplacementStepForm(params)
    form.is_valid()
    cleaned = getattr(form, "cleaned_data", {}) or {}
    start = cleaned.get("effective_from") or custody.effective_from or now
    end = None if params.get("until_original_ready") else cleaned.get("expected_return_at")
    if end is not None and end <= start:
        end = None
    branch = custody.branch
    zone = ZoneInfo(branch.timezone or "Asia/Dubai")
    first = timezone.localtime(start, zone).date()
    days = [first + timedelta(days=i) for i in range(DAYS)]
    vehicle_class = custody.original_vehicle.vehicle_class if custody.original_vehicle_id else None
    same_class = vehicle_class is not None and bool(params.get("same_class"))
    vehicles = vehicles_for(user).filter(branch=branch).select_related("vehicle_class")
    if custody.original_vehicle_id:
        vehicles = vehicles.exclude(pk=custody.original_vehicle_id)
    if same_class:
        vehicles = vehicles.filter(vehicle_class=vehicle_class)
    # The order of the list beside it: the original's class first.
    vehicles = vehicles.annotate(
        other_class=Case(
            When(vehicle_class=vehicle_class, then=Value(0)), default=Value(1), output_field=IntegerField()
        )
    ).order_by("other_class", "vehicle_class__code", "plate")
    vehicles = list(vehicles[: ROWS + 1])
    more = len(vehicles) > ROWS
    vehicles = vehicles[:ROWS]
    pickable = {v.pk for v in replacement_options(user, custody, start, end)}
    rows = _rows(user, vehicles, days, zone, now, period=(start, end))
    for row in rows:
        row["pickable"] = row["vehicle"].pk in pickable
    rows.sort(key=lambda row: not row["pickable"])  # the cars that can be picked on top, order kept
    query = QueryDict(mutable=True)
    query.update({"branch": str(branch.pk), "start": first.isoformat()})
    if same_class:
        query["vehicle_class"] = str(vehicle_class.pk)
    return {
        "custody": custody,
        "branch": branch,
        "days": days,
        "today": timezone.localtime(now, zone).date(),
        "rows": rows,
        "more": more,
        "states": STATES,
        "vehicle_class": vehicle_class,
        "same_class": same_class,
        "full_url": f"{reverse('availability')}?{query.urlencode()}",
        "selected": str(params.get("replacement_vehicle_id") or ""),
    }


@login_required
@require_GET
def availability(request):
    return render(request, "reports/availability.html", calendar(request.user, request.GET))


@login_required
@require_GET
def availability_for_replacement(request, pk):
    """The calendar part of the wizard's replacement step (HTMX): read-only, any custody the user sees."""
    custody = get_object_or_404(
        custodies_for(request.user).select_related("branch", "original_vehicle__vehicle_class"), pk=pk
    )
    context = replacement_calendar(request.user, custody, request.GET)
    return render(request, "reports/_replacement_calendar.html", context)
