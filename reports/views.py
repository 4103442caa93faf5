import dataclasses
from datetime import timedelta
from operator import itemgetter
from urllib.parse import urlencode

from django import forms
from django.contrib.auth.decorators import login_required
from django.db.models import Count
from django.http import Http404
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from approvals.eligibility import may_decide_any
from approvals.services import inbox_for
from audit.models import AuditEntry
from billing.choices import ChargeType, Responsibility
from core.errors import ValidationFailed
from core.exports import ExportColumn, export_response
from custodies.choices import SlaTarget
from custodies.display import event_title
from custodies.models import Custody
from custodies.selectors import custodies_for, custodies_that_took_out, out_of_use_since
from fleet.choices import VEHICLE_STATUS_COLOURS, VehicleStatus
from fleet.selectors import agreements_for, branches_for, vehicles_for

from . import analytics, cards, kpis
from .filters import report_scope

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
    may_approve = may_decide_any(user)
    inbox = inbox_for(user)
    if branch_id:
        inbox = inbox.filter(custody__branch_id=branch_id)
    scope = kpis.Scope(user, branch_id or None, memo={})  # the cards' two periods share the open counts
    period = kpis.Period.last_days()
    kpi_cards = cards.build(user, scope, period, now, inbox.count() if may_approve else None)

    # Vehicles out of use: in custody, or at the workshop; age from the custody that took them out.
    vehicles = vehicles_for(user).filter(status__in=[VehicleStatus.IN_CUSTODY, VehicleStatus.MAINTENANCE])
    if branch_id:
        vehicles = vehicles.filter(branch_id=branch_id)
    vehicles = out_of_use_since(vehicles).order_by("since")
    workshop = list(vehicles[:WORKSHOP_ROWS])
    custody_of = custodies_that_took_out(v.pk for v in workshop)
    for vehicle in workshop:
        vehicle.age_days = max(0, (now - vehicle.since).days) if vehicle.since else None
        found = custody_of.get(vehicle.pk, {})
        vehicle.custody_id, vehicle.custody_no = found.get("pk"), found.get("custody_no")

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
        "kpi_cards": kpi_cards,
        "kpi_period": period,
        "may_approve": may_approve,
        "workshop": workshop,
        "workshop_total": vehicles.count() if len(workshop) >= WORKSHOP_ROWS else len(workshop),
        "recent_activity": recent,
    }


class ReportFilterForm(forms.Form):
    date_from = forms.DateField(
        required=False, label=_("From"), widget=forms.DateInput(attrs={"type": "date"})
    )
    date_to = forms.DateField(required=False, label=_("To"), widget=forms.DateInput(attrs={"type": "date"}))
    branch_id = forms.UUIDField(required=False, label=_("Branch"))  # outside the user's branches: 404

    def __init__(self, data, branches):
        # The URL uses the API's names (from, to) so a report link and an API call read the same.
        super().__init__(
            {"date_from": data.get("from"), "date_to": data.get("to"), "branch_id": data.get("branch_id")}
        )
        self.branch_choices = [("", _("All my branches"))] + [(str(b.pk), b.code) for b in branches]


def _presets(today):
    month_start = today.replace(day=1)
    last_month_end = month_start - timedelta(days=1)
    return [
        (_("This month"), month_start, today),
        (_("Last 30 days"), today - timedelta(days=29), today),
        (_("Last month"), last_month_end.replace(day=1), last_month_end),
        (_("Last 90 days"), today - timedelta(days=89), today),
    ]


@login_required
@require_GET
def reports(request):
    """Reports & analytics: KPIs and charts for a period and branch, each chart with its table and exports."""
    user = request.user
    branches = list(branches_for(user).order_by("code"))
    form = ReportFilterForm(request.GET, branches)
    today = timezone.localdate()
    if not form.is_valid():
        return render(request, "reports/analytics.html", {"form": form, "error": True}, status=400)
    date_from, date_to = form.cleaned_data["date_from"], form.cleaned_data["date_to"]
    if date_from is None and date_to is None:
        date_from = today.replace(day=1)  # a manager opens Reports and sees this month
    try:
        scope, period = report_scope(user, date_from, date_to, form.cleaned_data["branch_id"] or None)
    except ValidationFailed as exc:
        return render(request, "reports/analytics.html", {"form": form, "error": exc.message}, status=400)
    scope = dataclasses.replace(scope, memo={})  # the charts and the KPI table share their reads
    now = timezone.now()
    chart_key = request.GET.get("chart")
    fmt = request.GET.get("format")
    if fmt in ("csv", "xlsx"):
        if chart_key == "kpis":
            return _kpi_export(scope, period, now, fmt)
        if chart_key not in analytics.CHARTS:
            raise Http404("chart")
        chart = analytics.build(scope, period, now, only=chart_key)[0]
        columns = [ExportColumn(str(h), itemgetter(i)) for i, h in enumerate(chart.columns)]
        return export_response(chart.rows, columns, f"{chart.key}-{period.start}-{period.end}", fmt)
    charts = analytics.build(scope, period, now)
    figures = kpis.compute(scope, period, now)
    params = {"from": period.start.isoformat(), "to": period.end.isoformat()}
    if scope.branch_id:
        params["branch_id"] = str(scope.branch_id)
    context = {
        "form": form,
        "period": period,
        "scope": scope,
        "figures": figures,
        "kpi_rows": kpi_rows(figures),
        "charts": charts,
        "chart_data": [c.as_json() for c in charts],
        "query": urlencode(params),
        "presets": [
            {"label": label, "query": urlencode({**params, "from": a.isoformat(), "to": b.isoformat()})}
            for label, a, b in _presets(today)
        ],
    }
    return render(request, "reports/analytics.html", context)


def kpi_rows(figures: dict) -> list[tuple[str, object]]:
    """The KPIs as (label, value) rows: the table on the page and the KPI export."""
    turnaround = figures["approval_turnaround_hours"]
    rows = [
        (_("Active custodies (now)"), figures["active_custodies"]),
        (_("Pending approvals (now)"), figures["pending_approvals"]),
        (_("Overdue custodies (now)"), figures["overdue_custodies"]),
        (_("Custodies created"), figures["custodies_created"]),
        (_("Custodies per day"), figures["custodies_per_day"]),
        (_("SLA on time, %"), figures["sla_on_time_pct"]),
    ]
    for target, label in SlaTarget.choices:
        rows.append(
            (
                _("SLA on time, %% — %(target)s") % {"target": label},
                figures["sla_on_time_pct_by_target"][target],
            )
        )
    rows += [
        (_("Average custody duration, hours"), figures["average_duration_hours"]),
        (_("Approval turnaround, median hours"), turnaround["median"]),
        (_("Approval turnaround, 90th percentile hours"), turnaround["p90"]),
        (_("Charges posted"), figures["charges_total"]),
    ]
    rows += [
        (_("Charges — %(type)s") % {"type": label}, figures["charges_by_type"][v])
        for v, label in ChargeType.choices
    ]
    rows += [
        (_("Charges — %(who)s") % {"who": label}, figures["charges_by_responsibility"][v])
        for v, label in Responsibility.choices
    ]
    rows.append((_("Outstanding balance"), figures["outstanding_balance"]))
    return rows


def _kpi_export(scope, period, now, fmt):
    rows = kpi_rows(kpis.compute(scope, period, now))
    columns = [ExportColumn(_("KPI"), lambda r: str(r[0])), ExportColumn(_("Value"), itemgetter(1))]
    return export_response(rows, columns, f"kpis-{period.start}-{period.end}", fmt)
