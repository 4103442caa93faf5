from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.shortcuts import render

from fleet.choices import VEHICLE_STATUS_COLOURS, VehicleStatus
from fleet.selectors import agreements_for, vehicles_for


@login_required
def dashboard(request):
    vehicles = vehicles_for(request.user)
    if request.session.get("branch_id"):
        vehicles = vehicles.filter(branch_id=request.session["branch_id"])
    counts = dict(vehicles.order_by().values_list("status").annotate(n=Count("id")))
    vehicle_status = [
        {"value": value, "label": label, "count": counts.get(value, 0), "colour": VEHICLE_STATUS_COLOURS[value]}
        for value, label in VehicleStatus.choices
    ]
    active_agreements = agreements_for(request.user).filter(status="active").count()
    return render(request, "reports/dashboard.html", {
        "vehicle_status": vehicle_status,
        "vehicle_total": sum(counts.values()),
        "active_agreements": active_agreements,
    })


@login_required
def reports(request):
    return render(request, "reports/reports.html")
