"""A vehicle's history (issue 12 item 6): every custody it was part of (as the original or the
replacement), its status changes and the damage marked on it, with the days it spent out of use
("in custody or at the workshop") per custody.

Read-only; the vehicle comes from `fleet.selectors.vehicles_for` (another branch's car is a 404)
and the custodies from `custodies.selectors.custodies_for` (the user's branches only).
"""

import math
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.decorators import login_required
from django.db.models import Q
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from audit import present
from audit.models import AuditEntry
from custodies.choices import CustodyStatus
from custodies.display import status_colour
from custodies.selectors import custodies_for
from documents.models import DamageMark
from fleet.choices import VEHICLE_STATUS_COLOURS
from fleet.selectors import vehicles_for

ROWS = 200  # custodies and status changes shown (newest first); a car has a few dozen in its life
DAY = 86400


@dataclass
class Period:
    custody: object
    role: str  # "original" / "replacement"
    role_label: str
    start: datetime | None
    end: datetime | None
    ongoing: bool
    days: int | None
    status_colour: str


def _days(start, end) -> int | None:
    """Started days (a car out since this morning counts one day), never 0 for a started period."""
    if start is None or end is None:
        return None
    return max(1, math.ceil((end - start).total_seconds() / DAY))


def _period(custody, role: str, now) -> Period:
    if role == "original":
        # The original is out of use from the incident's custody taking effect until it is back.
        start = custody.handed_over_at or custody.effective_from
        end = custody.returned_at or custody.original_ready_at
    else:
        # The replacement is out with the customer from the handover until it comes back.
        start = custody.handed_over_at
        end = custody.returned_at
    if custody.status in (CustodyStatus.VOIDED,):
        end = end or custody.voided_at
    elif custody.status == CustodyStatus.CLOSED:
        end = end or custody.closed_at
    ongoing = custody.status == CustodyStatus.ACTIVE and custody.returned_at is None
    if ongoing:
        end = now
    counted = custody.status in (CustodyStatus.ACTIVE, CustodyStatus.CLOSED)
    return Period(
        custody=custody,
        role=role,
        role_label=str(_("Original vehicle") if role == "original" else _("Replacement vehicle")),
        start=start if counted or role == "original" else None,
        end=end if counted else None,
        ongoing=ongoing,
        days=_days(start, end) if counted else None,
        status_colour=status_colour(custody.status),
    )


def history(user, vehicle_id, now=None) -> dict:
    now = now or timezone.now()
    vehicle = vehicles_for(user).select_related("branch", "vehicle_class").filter(pk=vehicle_id).first()
    if vehicle is None:
        raise Http404
    custodies = list(
        custodies_for(user)
        .filter(Q(original_vehicle=vehicle) | Q(replacement_vehicle=vehicle))
        .select_related("customer", "branch")
        .order_by("-effective_from")[:ROWS]
    )
    periods = []
    for custody in custodies:
        if custody.original_vehicle_id == vehicle.pk:
            periods.append(_period(custody, "original", now))
        if custody.replacement_vehicle_id == vehicle.pk:
            periods.append(_period(custody, "replacement", now))
    holding = next((p.custody for p in periods if p.ongoing), None)
    changes = present.present(
        AuditEntry.objects.filter(object_type="vehicle", object_id=str(vehicle.pk))
        .select_related("actor")
        .order_by("-id")[:ROWS]
    )
    changes = [entry for entry in changes if entry.changes]
    visible = {c.pk for c in custodies}
    marks = list(
        DamageMark.objects.filter(report__vehicle=vehicle, report__custody_id__in=visible)
        .select_related("report", "report__custody")
        .order_by("-created_at")[:ROWS]
    )
    return {
        "vehicle": vehicle,
        "status_colour": VEHICLE_STATUS_COLOURS.get(vehicle.status, "secondary"),
        "periods": periods,
        "holding": holding,
        "days_out_total": sum(p.days or 0 for p in periods if p.role == "original"),
        "days_rented_total": sum(p.days or 0 for p in periods if p.role == "replacement"),
        "changes": changes,
        "marks": marks,
    }


@login_required
@require_GET
def vehicle_history(request, pk):
    return render(request, "reports/vehicle_history.html", history(request.user, pk))
