"""`GET /api/v1/reports/kpis` (DESIGN §15.2): the KPIs of reports.kpis as JSON."""

from datetime import date
from decimal import Decimal
from uuid import UUID

from ninja import Field, Query, Router, Schema

from . import kpis
from .filters import report_scope

router = Router(tags=["reports"])


class KpiFilters(Schema):
    date_from: date | None = Field(None, alias="from", description="First day (local), default 30 days ago")
    date_to: date | None = Field(None, alias="to", description="Last day (local, included), default today")
    branch_id: UUID | None = Field(None, description="One of your branches; default all of them")


class Turnaround(Schema):
    median: float | None
    p90: float | None


class SlaByTarget(Schema):
    approve: float | None
    handover: float | None
    close: float | None


class Kpis(Schema):
    active_custodies: int = Field(description="Now: custodies handed over and not yet closed")
    pending_approvals: int = Field(description="Now: custodies waiting for an approval")
    overdue_custodies: int = Field(description="Now: active custodies past their expected return")
    custodies_created: int
    custodies_per_day: float
    sla_on_time_pct: float | None = Field(
        description="Targets met on time ÷ targets due, %; null with none due"
    )
    sla_on_time_pct_by_target: SlaByTarget
    average_duration_hours: float | None = Field(description="Handover → return of custodies closed")
    approval_turnaround_hours: Turnaround
    charges_total: Decimal
    charges_by_type: dict[str, Decimal]
    charges_by_responsibility: dict[str, Decimal]
    outstanding_balance: Decimal


class KpiReport(Schema):
    from_: date = Field(alias="from")
    to: date
    branch_id: UUID | None
    kpis: Kpis


@router.get(
    "reports/kpis",
    response=KpiReport,
    by_alias=True,
    summary="KPIs for a period and branch",
    description="Formulas: docs/metrics.md. Counts are integers, money decimal strings, a percentage or "
    "duration with no data `null`. active/pending/overdue are now; the rest count what happened in the period.",
)
def kpi_report(request, filters: Query[KpiFilters]):
    scope, period = report_scope(request.user, filters.date_from, filters.date_to, filters.branch_id)
    return {
        "from": period.start,
        "to": period.end,
        "branch_id": scope.branch_id,
        "kpis": kpis.compute(scope, period),
    }
