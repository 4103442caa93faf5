#!/usr/bin/env python
"""Time the KPI endpoint, the analytics page and the dashboard, and measure the metrics middleware.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/custody_bench DEBUG=0 \\
        .venv/bin/python bench/reports.py --requests 30 --output var/bench/reports.md

Requests go through Django's test Client (routing, middleware, auth, views, templates), in process,
as the all-branches bench admin and the operator of the largest branch (bench/generate.py users).
The middleware cost is measured apart: the same trivial view called N times with and without
`RequestMetricsMiddleware` (request id, log line, in-memory rollup), the difference per request.
"""

import argparse
import logging
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ADMIN_EMAIL, django_setup, operator_email, save_report  # noqa: E402

django_setup()

from django.db import connection  # noqa: E402
from django.db.models import Count  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import ApiToken, User  # noqa: E402
from custodies.models import Custody  # noqa: E402
from fleet.models import Branch  # noqa: E402
from monitoring import collector  # noqa: E402
from monitoring.middleware import RequestMetricsMiddleware  # noqa: E402


def out(*parts) -> None:
    print(*parts, flush=True)  # noqa: T201 - a command-line tool


def timed(call, n: int) -> list[float]:
    call()  # warm-up (template loading, first query plans)
    result = []
    for _ in range(n):
        started = time.perf_counter()
        response = call()
        result.append((time.perf_counter() - started) * 1000)
        assert response.status_code == 200, response.status_code
    return result


class Ok:
    status_code = 200


def p95(values: list[float]) -> float:
    return statistics.quantiles(values, n=20, method="inclusive")[18] if len(values) > 1 else values[0]


def _live(compute, *args):
    """`compute` as if the rollup covered nothing: every figure counted from the rows."""
    from unittest import mock

    from reports import kpis

    with mock.patch.object(kpis, "rollup_split", lambda period: (None, period)):
        return compute(*args)


def middleware_cost(n: int, queries: int = 0) -> tuple[float, float]:
    """µs per request without and with the metrics middleware around a trivial view that runs
    `queries` statements (the middleware times each statement: its per-query share shows here)."""
    logging.getLogger("custody.request").setLevel(logging.INFO)
    logging.getLogger("custody.request").handlers = [logging.NullHandler()]
    logging.getLogger("custody.request").propagate = False
    factory = RequestFactory()

    def view(request):
        if queries:
            with connection.cursor() as cursor:
                for _ in range(queries):
                    cursor.execute("SELECT 1")
        return HttpResponse("ok")

    wrapped = RequestMetricsMiddleware(view)
    request = factory.get("/custodies/")
    request.user = User.objects.get(email=ADMIN_EMAIL)
    request.resolver_match = None

    def run(handler) -> float:
        started = time.perf_counter()
        for _ in range(n):
            handler(request)
        return (time.perf_counter() - started) / n * 1e6

    run(view), run(wrapped)
    bare = min(run(view) for _ in range(3))
    metered = min(run(wrapped) for _ in range(3))
    collector.reset()
    return bare, metered


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=30)
    parser.add_argument("--middleware-calls", type=int, default=20000)
    parser.add_argument("--output", default="")
    args = parser.parse_args()

    custodies = Custody.objects.count()
    admin = User.objects.get(email=ADMIN_EMAIL)
    biggest = Branch.objects.annotate(n=Count("custodies")).order_by("-n").first()
    operator = User.objects.get(email=operator_email(biggest.code))
    _token, raw = ApiToken.issue(admin, name="bench-reports")
    api = Client(HTTP_AUTHORIZATION=f"Bearer {raw}")
    page_admin, page_operator = Client(), Client()
    page_admin.force_login(admin)
    page_operator.force_login(operator)
    today = timezone.localdate()
    month_start = today.replace(day=1).isoformat()
    cases = [
        (
            "GET /api/v1/reports/kpis (30 days, all branches)",
            "admin",
            lambda: api.get("/api/v1/reports/kpis"),
        ),
        (
            "GET /api/v1/reports/kpis (365 days, all branches)",
            "admin",
            lambda: api.get(
                "/api/v1/reports/kpis", {"from": (today.replace(year=today.year - 1)).isoformat()}
            ),
        ),
        (
            f"GET /api/v1/reports/kpis (30 days, branch {biggest.code})",
            "admin",
            lambda: api.get("/api/v1/reports/kpis", {"branch_id": biggest.pk}),
        ),
        ("GET /reports/ (this month, 10 charts)", "admin", lambda: page_admin.get("/reports/")),
        (
            "GET /reports/ (90 days, 10 charts)",
            "admin",
            lambda: page_admin.get("/reports/", {"from": (today - timezone.timedelta(days=89)).isoformat()}),
        ),
        (
            "GET /reports/ (365 days, 10 charts)",
            "admin",
            lambda: page_admin.get("/reports/", {"from": (today.replace(year=today.year - 1)).isoformat()}),
        ),
        (
            "GET /reports/ (90 days, 10 charts)",
            "operator",
            lambda: page_operator.get(
                "/reports/", {"from": (today - timezone.timedelta(days=89)).isoformat()}
            ),
        ),
        ("GET / (dashboard with KPI cards)", "admin", lambda: page_admin.get("/")),
        ("GET / (dashboard with KPI cards)", "operator", lambda: page_operator.get("/")),
    ]
    lines = [
        f"Custodies: {custodies:,}; database: {connection.vendor}; {args.requests} requests each after a warm-up;"
        f" month start {month_start}.",
        "",
        "| request | user | p50 ms | p95 ms | max ms |",
        "|---|---|---:|---:|---:|",
    ]
    for name, who, call in cases:
        values = timed(call, args.requests)
        line = f"| {name} | {who} | {statistics.median(values):.0f} | {p95(values):.0f} | {max(values):.0f} |"
        lines.append(line)
        out(line)
    lines += ["", "| kpis.compute, in process (admin, all branches) | p50 ms | p95 ms |", "|---|---:|---:|"]
    from reports import kpis
    from reports.models import KpiRollupState

    covered = KpiRollupState.objects.filter(key="kpi").values_list("covered_until", flat=True).first()
    lines.insert(1, f"Daily rollup covers up to: {covered or 'nothing (run the kpi_rollup job first)'}.")
    now = timezone.now()
    for days in (30, 365):
        period = kpis.Period.last_days(days)
        for label, call in (
            ("daily rollup + today live", lambda p=period: kpis.compute(kpis.Scope(admin), p, now)),
            ("all live queries", lambda p=period: _live(kpis.compute, kpis.Scope(admin), p, now)),
        ):
            values = timed(lambda c=call: (c(), Ok())[1], max(5, args.requests // 3))
            line = f"| {days} days, {label} | {statistics.median(values):.0f} | {p95(values):.0f} |"
            lines.append(line)
            out(line)
    bare, metered = middleware_cost(args.middleware_calls)
    lines += [
        "",
        f"Metrics middleware: {bare:.1f} µs per request without, {metered:.1f} µs with → "
        f"**{metered - bare:.1f} µs ({(metered - bare) / 1000:.3f} ms) per request** "
        f"({args.middleware_calls:,} calls, best of 3).",
    ]
    out(lines[-1])
    calls = max(1, args.middleware_calls // 10)
    bare, metered = middleware_cost(calls, queries=20)
    lines.append(
        f"With 20 statements per request (each timed for the slow-statement list): {bare:.1f} µs without, "
        f"{metered:.1f} µs with → **{metered - bare:.1f} µs ({(metered - bare) / 1000:.3f} ms) per request** "
        f"({calls:,} calls, best of 3)."
    )
    out(lines[-1])
    save_report("\n".join(lines) + "\n", args.output)


if __name__ == "__main__":
    main()
