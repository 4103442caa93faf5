"""Health and adoption figures from the rollups: one definition each, used by the Monitoring page,
`/metrics` and the rollback triggers (docs/metrics.md, "Monitoring")."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.apps import apps
from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Count, Max, Q, Sum

from .models import BUCKET_FIELDS, BUCKETS_MS, Probe, RequestRollup, SlowQuery, UserActivity

RETENTION_DAYS = 90


@dataclass(frozen=True)
class Window:
    since: datetime
    until: datetime

    @classmethod
    def last(cls, now: datetime, **delta) -> "Window":
        return cls(now - timedelta(**delta), now)

    def rollups(self):
        return RequestRollup.objects.filter(minute__gte=self.since, minute__lt=self.until).exclude(
            route_group="login"
        )


def percentile_from_buckets(counts: list[int], share: float) -> float | None:
    """The upper bound (ms) of the bucket holding the share-th request (None with no requests)."""
    total = sum(counts)
    if not total:
        return None
    rank = share * total
    seen = 0
    for bound, n in zip([*BUCKETS_MS, None], counts, strict=True):
        seen += n
        if seen >= rank:
            return float(bound) if bound is not None else float(BUCKETS_MS[-1]) * 2
    return None


def _bucket_sums(qs) -> dict:
    return qs.aggregate(
        **{name: Sum(name) for name in BUCKET_FIELDS}, n=Sum("count"), ms=Sum("duration_ms_sum")
    )


def response_times(window: Window) -> dict:
    sums = _bucket_sums(window.rollups())
    counts = [sums[name] or 0 for name in BUCKET_FIELDS]
    return {
        "requests": sums["n"] or 0,
        "p50_ms": percentile_from_buckets(counts, 0.5),
        "p95_ms": percentile_from_buckets(counts, 0.95),
        "mean_ms": round(sums["ms"] / sums["n"], 1) if sums["n"] else None,
    }


def route_stats(window: Window) -> list[dict]:
    """One row per route group over the window, busiest first: the figures both route tables show."""
    rows = (
        window.rollups()
        .values("route_group")
        .annotate(
            n=Sum("count"),
            ms=Sum("duration_ms_sum"),
            worst=Max("duration_ms_max"),
            queries=Sum("query_count"),
            errors=Sum("count", filter=Q(status_class="5xx")),
            client_errors=Sum("count", filter=Q(status_class="4xx")),
            **{name: Sum(name) for name in BUCKET_FIELDS},
        )
        .filter(n__gt=0)
        .order_by("-n")
    )
    result = []
    for row in rows:
        counts = [row[name] or 0 for name in BUCKET_FIELDS]
        result.append(
            {
                "route_group": row["route_group"],
                "requests": row["n"],
                "mean_ms": round((row["ms"] or 0) / row["n"], 1),
                "p50_ms": percentile_from_buckets(counts, 0.5),
                "p95_ms": percentile_from_buckets(counts, 0.95),
                "max_ms": round(row["worst"] or 0, 1),
                "errors_5xx": row["errors"] or 0,
                "errors_4xx": row["client_errors"] or 0,
                "queries_per_request": round(row["queries"] / row["n"], 1) if row["queries"] else None,
            }
        )
    return result


def by_route_group(stats: list[dict], limit: int = 15) -> tuple[list[dict], list[dict]]:
    """Of `route_stats`: the busiest route groups and the five slowest (by p95)."""
    result = stats
    slowest = sorted(result, key=lambda r: (r["p95_ms"] or 0, r["max_ms"]), reverse=True)
    return result[:limit], slowest[:5]


def slow_routes(stats: list[dict], limit: int = 10) -> list[dict]:
    """Of `route_stats`: the `limit` route groups with the slowest mean response time (pages and API
    routes; the rollups keep no per-request rows, so a route group is the finest grain), with their
    p95, the slowest single request and the mean database queries per request where recorded."""
    return sorted(stats, key=lambda r: (r["mean_ms"], r["max_ms"]), reverse=True)[:limit]


def slow_queries(window: Window, limit: int = 10) -> list[dict]:
    """The statements (by shape) that were slow most often in the window, per route group: calls,
    mean and slowest time in ms. Only statements over CUSTODY_SLOW_QUERY_MS are recorded."""
    rows = (
        SlowQuery.objects.filter(minute__gte=window.since, minute__lt=window.until)
        .values("fingerprint", "route_group")
        .annotate(calls=Sum("count"), total_ms=Sum("duration_ms_sum"), max_ms=Max("duration_ms_max"))
        .order_by("-total_ms")[:limit]
    )
    rows = list(rows)
    statements = dict(
        SlowQuery.objects.filter(fingerprint__in={r["fingerprint"] for r in rows})
        .values_list("fingerprint", "statement")
        .distinct()
    )
    return [
        {
            "statement": statements.get(r["fingerprint"], ""),
            "route_group": r["route_group"],
            "calls": r["calls"],
            "mean_ms": round(r["total_ms"] / r["calls"], 1) if r["calls"] else None,
            "max_ms": round(r["max_ms"], 1),
        }
        for r in rows
    ]


def error_rates(window: Window) -> dict:
    counts = dict(window.rollups().values_list("status_class").annotate(n=Sum("count")))
    total = sum(counts.values())
    pct = lambda n: round(100 * n / total, 2) if total else None  # noqa: E731
    return {"total": total, "5xx_pct": pct(counts.get("5xx", 0)), "4xx_pct": pct(counts.get("4xx", 0))}


def requests_per_minute(window: Window) -> float | None:
    minutes = (window.until - window.since).total_seconds() / 60
    total = window.rollups().aggregate(n=Sum("count"))["n"] or 0
    return round(total / minutes, 2) if minutes else None


def uptime(window: Window) -> float | None:
    probes = Probe.objects.filter(minute__gte=window.since, minute__lt=window.until).aggregate(
        n=Count("pk"), ok=Count("pk", filter=Q(ok=True))
    )
    return round(100 * probes["ok"] / probes["n"], 2) if probes["n"] else None


def logins(window: Window) -> dict:
    rows = RequestRollup.objects.filter(
        minute__gte=window.since, minute__lt=window.until, route_group="login"
    )
    counts = dict(rows.values_list("status_class").annotate(n=Sum("count")))
    total = counts.get("success", 0) + counts.get("failure", 0)
    return {
        "success": counts.get("success", 0),
        "failure": counts.get("failure", 0),
        "success_pct": round(100 * counts.get("success", 0) / total, 1) if total else None,
    }


def active_users(now: datetime) -> dict:
    """Daily and weekly active users, and weekly adoption = weekly active ÷ active accounts."""
    today = now.date()
    daily = UserActivity.objects.filter(day=today).values("user").distinct().count()
    weekly = UserActivity.objects.filter(day__gt=today - timedelta(days=7)).values("user").distinct().count()
    accounts = get_user_model().objects.filter(is_active=True).count()
    return {
        "daily": daily,
        "weekly": weekly,
        "accounts": accounts,
        "adoption_pct": round(100 * weekly / accounts, 1) if accounts else None,
    }


def daily_active_series(now: datetime, days: int = 14) -> list[tuple]:
    since = now.date() - timedelta(days=days - 1)
    counts = dict(
        UserActivity.objects.filter(day__gte=since)
        .values_list("day")
        .annotate(n=Count("user", distinct=True))
    )
    return [(since + timedelta(days=i), counts.get(since + timedelta(days=i), 0)) for i in range(days)]


def feature_usage(window: Window, limit: int = 20) -> list[dict]:
    return list(
        window.rollups()
        .exclude(role="anonymous")
        .values("route_group", "role")
        .annotate(requests=Sum("count"))
        .order_by("-requests")[:limit]
    )


def custodies_created_per_day(now: datetime, days: int = 14) -> list[tuple]:
    from django.db.models.functions import TruncDate
    from django.utils import timezone

    from custodies.models import Custody

    since = timezone.localdate(now) - timedelta(days=days - 1)
    counts = dict(
        Custody.objects.filter(created_at__date__gte=since)
        .annotate(day=TruncDate("created_at", tzinfo=timezone.get_current_timezone()))
        .values_list("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return [(since + timedelta(days=i), counts.get(since + timedelta(days=i), 0)) for i in range(days)]


def database_size_bytes() -> int | None:
    try:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute("SELECT pg_database_size(current_database())")
            elif connection.vendor == "sqlite":
                cursor.execute("SELECT page_count * page_size FROM pragma_page_count(), pragma_page_size()")
            else:
                return None
            return int(cursor.fetchone()[0])
    except Exception:  # noqa: BLE001 - a figure on a page, never an error
        return None


def onboarding() -> dict | None:
    """Active users who finished the first-login tour (support.selectors), None without the app."""
    if not apps.is_installed("support"):
        return None
    from support.selectors import onboarding_figures

    result = onboarding_figures()
    active = result["active_users"]
    result["completed_pct"] = round(100 * result["completed"] / active, 1) if active else None
    return result


def _percentile(values: list[float], share: float) -> float:
    """Linear interpolation between closest ranks (as PostgreSQL's percentile_cont)."""
    position = (len(values) - 1) * share
    low = int(position)
    high = min(low + 1, len(values) - 1)
    return values[low] + (values[high] - values[low]) * (position - low)


def resolution_hours(ticket_model, now: datetime, days: int = 30) -> dict:
    """Median and 90th percentile of created → resolved over tickets resolved in the last `days`
    (a ticket closed without passing through resolved counts from its close)."""
    since = now - timedelta(days=days)
    hours = sorted(
        ((resolved or closed) - created).total_seconds() / 3600
        for created, resolved, closed in ticket_model.objects.filter(
            Q(resolved_at__gte=since) | Q(resolved_at__isnull=True, closed_at__gte=since)
        ).values_list("created_at", "resolved_at", "closed_at")
    )
    if not hours:
        return {"median": None, "p90": None, "count": 0}
    return {
        "median": round(_percentile(hours, 0.5), 1),
        "p90": round(_percentile(hours, 0.9), 1),
        "count": len(hours),
    }


def support(now: datetime) -> dict | None:
    """Tickets per day, resolution time and satisfaction once the support app exists (else None)."""
    if not apps.is_installed("support"):
        return None
    try:
        ticket = apps.get_model("support", "SupportTicket")
    except LookupError:
        return None
    if not ticket.objects.exists():
        return None  # the empty state until the first ticket
    week = now - timedelta(days=7)
    opened = ticket.objects.filter(created_at__gte=week).count()
    result = {"opened_7d": opened, "per_day": round(opened / 7, 2), "open": None, "satisfaction": None}
    if hasattr(ticket, "status"):
        result["open"] = ticket.objects.filter(status__in=["open", "in_progress"]).count()
    result["resolution"] = resolution_hours(ticket, now)
    try:
        feedback = apps.get_model("support", "Feedback")
    except LookupError:
        return result
    from django.db.models import Avg

    since = now - timedelta(days=30)
    result["satisfaction"] = feedback.objects.filter(created_at__gte=since).aggregate(a=Avg("score"))["a"]
    return result
