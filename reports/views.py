from django.contrib.auth.decorators import login_required
from django.db.models import Count, DateTimeField, OuterRef, Q, Subquery
from django.db.models.functions import Coalesce
from django.shortcuts import render
from django.utils import timezone

from approvals.eligibility import may_decide_any
from approvals.services import inbox_for
from audit.models import AuditEntry
from custodies.choices import CustodyStatus, SlaState
from custodies.display import event_title
from custodies.models import Custody
from custodies.selectors import custodies_for
from custodies.sla import state_q as sla_state_q
from fleet.choices import VEHICLE_STATUS_COLOURS, VehicleStatus
from fleet.selectors import agreements_for, vehicles_for

RECENT_ACTIVITY = 10
WORKSHOP_ROWS = 10


@login_required
def dashboard(request):
    vehicles = vehicles_for(request.user)
    if request.session.get("branch_id"):
        vehicles = vehicles.filter(branch_id=request.session["branch_id"])
    counts = dict(vehicles.order_by().values_list("status").annotate(n=Count("id")))
    vehicle_status = [
        {
            "value": value,
            "label": label,
            "count": counts.get(value, 0),
            "colour": VEHICLE_STATUS_COLOURS[value],
        }
        for value, label in VehicleStatus.choices
    ]
    active_agreements = agreements_for(request.user).filter(status="active").count()
    return render(
        request,
        "reports/dashboard.html",
        {
            "vehicle_status": vehicle_status,
            "vehicle_total": sum(counts.values()),
            "active_agreements": active_agreements,
            **_custody_cards(request),
        },
    )


def _custody_cards(request) -> dict:
    """Custody KPIs of the dashboard (DESIGN §16): active, my approvals, SLA at risk/breached,
    vehicles in custody or at the workshop with their age, recent activity."""
    user = request.user
    now = timezone.now()
    branch_id = request.session.get("branch_id")
    custodies = custodies_for(user)
    if branch_id:
        custodies = custodies.filter(branch_id=branch_id)
    plain = custodies.order_by()
    sla = plain.aggregate(
        active=Count("pk", filter=Q(status=CustodyStatus.ACTIVE)),
        pending=Count("pk", filter=Q(status=CustodyStatus.PENDING_APPROVAL)),
        at_risk=Count("pk", filter=sla_state_q(SlaState.AT_RISK, now)),
        breached=Count("pk", filter=sla_state_q(SlaState.BREACHED, now)),
    )
    may_approve = may_decide_any(user)
    inbox = inbox_for(user)
    if branch_id:
        inbox = inbox.filter(custody__branch_id=branch_id)

    # Vehicles out of use: in custody, or at the workshop; age from the custody that took them out.
    vehicles = vehicles_for(user).filter(status__in=[VehicleStatus.IN_CUSTODY, VehicleStatus.MAINTENANCE])
    if branch_id:
        vehicles = vehicles.filter(branch_id=branch_id)
    latest = Custody.objects.filter(
        original_vehicle=OuterRef("pk"),
        handed_over_at__isnull=False,
        status__in=[CustodyStatus.ACTIVE, CustodyStatus.CLOSED],
    ).order_by("-handed_over_at")
    vehicles = vehicles.annotate(
        since=Coalesce(
            Subquery(latest.values("handed_over_at")[:1]), "updated_at", output_field=DateTimeField()
        ),
        custody_id=Subquery(latest.values("pk")[:1]),
        custody_no=Subquery(latest.values("custody_no")[:1]),
    ).order_by("since")
    workshop = []
    for vehicle in vehicles[:WORKSHOP_ROWS]:
        vehicle.age_days = max(0, (now - vehicle.since).days) if vehicle.since else None
        workshop.append(vehicle)

    ids = custodies.values("pk")
    entries = AuditEntry.objects.filter(custody_id__isnull=False)
    if branch_id or not getattr(user, "all_branches", False):
        entries = entries.filter(custody_id__in=ids)
    recent = list(entries.order_by("-id")[:RECENT_ACTIVITY])
    numbers = dict(
        Custody.objects.filter(pk__in={e.custody_id for e in recent}).values_list("pk", "custody_no")
    )
    for entry in recent:
        entry.custody_no = numbers.get(entry.custody_id, "")
        entry.title = event_title(entry.action)
        entry.detail = entry.object_repr if entry.action == "vehicle.updated" else entry.message
    return {
        "custody_active": sla["active"],
        "custody_at_risk": sla["at_risk"],
        "custody_breached": sla["breached"],
        "may_approve": may_approve,
        # Deciders see what waits for them; everyone else what waits for anyone.
        "my_approvals": inbox.count() if may_approve else sla["pending"],
        "workshop": workshop,
        "workshop_total": vehicles.count() if len(workshop) >= WORKSHOP_ROWS else len(workshop),
        "recent_activity": recent,
    }


@login_required
def reports(request):
    return render(request, "reports/reports.html")
