#!/usr/bin/env python
"""Time custody list, filter, search and detail requests through the real stack (in-process).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/custody_bench DEBUG=0 \\
        .venv/bin/python bench/timing.py --requests 200 --output var/bench/timing.md

Requests go through Django's test Client (URL routing, middleware, auth, views, templates or
JSON), no network. Two users from bench/generate.py: the all-branches admin and the operator of
the largest branch. Surfaces:

- `api`: GET /api/v1/custodies (Bearer token) and /api/v1/custodies/{id}
- `page`: GET /custodies/ and /custodies/{id}/ (session), when the pages exist
- `selector`: custodies.selectors + core.pagination.paginate + a JSON-shaped dict, no HTTP

Each (surface, request, user) runs N times after a short warm-up, with varied inputs (plates,
custody numbers, names, cursors and ids sampled from the data). Reports p50/p95/max wall time in ms,
the median CPU time of this process (the application side, less sensitive to a busy machine than
wall time; the database server's time is not in it) and database queries per request, as a
markdown table. `--explain` also writes EXPLAIN (ANALYZE, BUFFERS)
of the slowest SQL statement of each request type.
"""

import argparse
import json
import os
import platform
import random
import statistics
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ADMIN_EMAIL, django_setup, operator_email  # noqa: E402

django_setup()

from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from django.urls import Resolver404, resolve  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import ApiToken, User  # noqa: E402
from core import pagination  # noqa: E402
from custodies import selectors, sla  # noqa: E402
from custodies.models import Custody  # noqa: E402
from fleet.models import Branch  # noqa: E402

API = "/api/v1/custodies"
PAGE = "/custodies/"


def out(*parts) -> None:
    print(*parts, flush=True)  # noqa: T201 - a command-line tool


class QueryCounter:
    """Counts SQL statements on this thread's connection (cheaper than capturing them)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


@dataclass
class Result:
    surface: str
    name: str
    user: str
    timings_ms: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)
    queries: list[int] = field(default_factory=list)
    rows: list[int] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def pct(self, p: float) -> float:
        data = sorted(self.timings_ms)
        if not data:
            return float("nan")
        k = max(0, min(len(data) - 1, round(p / 100 * len(data) + 0.5) - 1))  # nearest rank
        return data[k]


@dataclass
class Samples:
    ids: list[str]
    numbers: list[str]
    names: list[str]
    plates: list[str]
    cursors: list[str]
    branch_id: str


def samples_for(user, size: int, rng: random.Random) -> Samples:
    scoped = selectors.custodies_for(user)
    rows = list(
        scoped.order_by("?").values_list(
            "id",
            "custody_no",
            "custodian_name",
            "original_vehicle__plate",
            "replacement_vehicle__plate",
            "created_at",
            "branch_id",
        )[:size]
    )
    if not rows:
        raise SystemExit(f"no custodies visible to {user.email}: run bench/generate.py first")
    plates = [p for r in rows for p in (r[3], r[4]) if p]
    branch_ids = sorted({str(r[6]) for r in rows})
    return Samples(
        ids=[str(r[0]) for r in rows],
        numbers=[r[1] for r in rows],
        names=[r[2] for r in rows],
        plates=plates,
        cursors=[pagination._encode([r[5].isoformat(), str(r[0])]) for r in rows],
        branch_id=rng.choice(branch_ids),
    )


def scenarios(samples: Samples, rng: random.Random) -> list[tuple[str, Callable[[], dict]]]:
    """(name, params factory); the factory gives fresh query parameters for each request."""
    pick = rng.choice
    return [
        ("list (first page)", lambda: {}),
        ("filter status=active", lambda: {"status": "active"}),
        (
            "filter reason_code",
            lambda: {"reason_code": pick(["accident", "breakdown", "maintenance", "damage", "other"])},
        ),
        ("filter branch_id", lambda: {"branch_id": samples.branch_id}),
        ("filter plate", lambda: {"plate": pick(samples.plates)}),
        ("filter sla_state=breached", lambda: {"sla_state": "breached"}),
        ("search q=custody no", lambda: {"q": pick(samples.numbers)}),
        ("search q=custodian name", lambda: {"q": pick(samples.names)}),
        ("deep cursor page", lambda: {"cursor": pick(samples.cursors)}),
        ("detail by id", lambda: {"_id": pick(samples.ids)}),
    ]


def serialize_list_item(custody: Custody, now) -> dict:
    """What a list endpoint sends per row (DESIGN §15.1): ids, nested refs, SLA state."""
    current = sla.current_view(custody, now)

    def vehicle(v):
        return (
            {"id": str(v.pk), "plate": v.plate, "make": v.make, "model": v.model, "status": v.status}
            if v
            else None
        )

    return {
        "id": str(custody.pk),
        "custody_no": custody.custody_no,
        "status": custody.status,
        "branch_id": str(custody.branch_id),
        "branch": {"id": str(custody.branch.pk), "code": custody.branch.code, "name": custody.branch.name},
        "customer_id": str(custody.customer_id),
        "customer": {
            "id": str(custody.customer.pk),
            "customer_no": custody.customer.customer_no,
            "full_name": custody.customer.full_name,
        },
        "agreement_id": str(custody.agreement_id) if custody.agreement_id else None,
        "custodian_type": custody.custodian_type,
        "custodian_name": custody.custodian_name,
        "original_vehicle": vehicle(custody.original_vehicle),
        "replacement_vehicle": vehicle(custody.replacement_vehicle),
        "reason_code": custody.reason_code,
        "reason_subcode": custody.reason_subcode,
        "incident_at": custody.incident_at.isoformat(),
        "effective_from": custody.effective_from.isoformat(),
        "expected_return_at": custody.expected_return_at.isoformat() if custody.expected_return_at else None,
        "sla_state": current.state if current else None,
        "created_at": custody.created_at.isoformat(),
        "version": custody.version,
    }


class QueryDict(dict):
    """The bits of a QueryDict that paginate() uses."""

    def lists(self):
        return [(k, [v]) for k, v in self.items()]


def selector_request(user, params: dict) -> tuple[int, int]:
    """The API list path without HTTP: filters → selector → paginate → serialize; returns (status, rows)."""
    now = timezone.now()
    if "_id" in params:
        custody = selectors.custodies_for(user).get(pk=params["_id"])
        json.dumps(serialize_list_item(custody, now))
        return 200, 1
    filters = selectors.CustodyFilters(
        status=[params["status"]] if "status" in params else [],
        reason_code=params.get("reason_code"),
        branch_id=params.get("branch_id"),
        plate=params.get("plate"),
        sla_state=params.get("sla_state"),
        q=params.get("q"),
    )
    qs = selectors.filter_custodies(selectors.custodies_for(user), filters, now)
    page = pagination.paginate(
        qs, params=QueryDict(params), path=API, allowed_orderings=selectors.LIST_ORDERINGS
    )
    body = json.dumps(
        {"items": [serialize_list_item(c, now) for c in page.items], "count": page.count, "next": page.next}
    )
    return 200, len(body) and len(page.items)


def http_request(client: Client, surface: str, params: dict, headers: dict) -> tuple[int, int, object]:
    params = dict(params)
    custody_id = params.pop("_id", None)
    if surface == "api":
        path = f"{API}/{custody_id}" if custody_id else API
    else:
        path = f"{PAGE}{custody_id}/" if custody_id else PAGE
    response = client.get(path, params, **headers)
    rows = 0
    if response.status_code == 200 and surface == "api":
        data = response.json()
        rows = len(data.get("items", [])) if "items" in data else 1
    return response.status_code, rows, response


def page_available(client: Client) -> bool:
    try:
        resolve(PAGE)
    except Resolver404:
        return False
    response = client.get(PAGE)
    names = {t.name for t in (response.templates or []) if t.name}
    return response.status_code == 200 and "custodies/coming_soon.html" not in names


def api_available() -> bool:
    try:
        match = resolve(API)
    except Resolver404:
        return False
    return match is not None


def explain(sql: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}")
        return "\n".join(row[0] for row in cursor.fetchall())


def run(args) -> list[Result]:
    rng = random.Random(args.seed)
    admin = User.objects.get(email=ADMIN_EMAIL)
    operator = _largest_branch_operator()
    users = [("admin (all branches)", admin), (f"operator ({operator.branches.first().code})", operator)]

    surfaces = [s.strip() for s in args.surfaces.split(",") if s.strip()]
    results: list[Result] = []
    explains: list[str] = []
    counter = QueryCounter()
    for label, user in users:
        samples = samples_for(user, 500, rng)
        _token, raw = ApiToken.issue(user, name="bench timing")
        api_headers = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
        session_client = Client()
        session_client.force_login(user)
        api_client = Client()
        for surface in surfaces:
            if surface == "api" and not api_available():
                out(f"skip api: {API} is not routed")
                continue
            if surface == "page" and not page_available(session_client):
                out(f"skip page: {PAGE} is not the custody list yet")
                continue
            for name, make_params in scenarios(samples, rng):
                if args.only and not any(o in name for o in args.only):
                    continue
                result = Result(surface, name, label)
                for i in range(args.warmup + args.requests):
                    params = make_params()
                    counter.count = 0
                    with connection.execute_wrapper(counter):
                        started = time.perf_counter()
                        cpu_started = time.process_time()
                        try:
                            if surface == "selector":
                                status, rows = selector_request(user, params)
                            else:
                                status, rows, _response = http_request(
                                    api_client if surface == "api" else session_client,
                                    surface,
                                    params,
                                    api_headers if surface == "api" else {},
                                )
                        except Exception as exc:  # a broken page must not stop the whole run
                            status, rows = f"{type(exc).__name__}: {str(exc)[:80]}", 0
                        elapsed = (time.perf_counter() - started) * 1000
                        cpu = (time.process_time() - cpu_started) * 1000
                    if i < args.warmup:
                        continue
                    if status != 200:
                        result.errors.append(f"{status} {params}")
                        continue
                    result.timings_ms.append(elapsed)
                    result.cpu_ms.append(cpu)
                    result.queries.append(counter.count)
                    result.rows.append(rows)
                results.append(result)
                out(
                    f"{surface:8} {label:22} {name:28} p50 {result.pct(50):7.1f}  p95 {result.pct(95):7.1f}  "
                    f"max {max(result.timings_ms or [0]):7.1f} ms  q {statistics.median(result.queries or [0]):.0f}"
                    + (f"  ERRORS {len(result.errors)}: {result.errors[:2]}" if result.errors else "")
                )
                if args.explain and connection.vendor == "postgresql" and surface != "page":
                    params = make_params()
                    with CaptureQueriesContext(connection) as captured:
                        if surface == "selector":
                            selector_request(user, params)
                        else:
                            http_request(api_client, surface, params, api_headers)
                    slowest = max(captured.captured_queries, key=lambda q: float(q["time"]))
                    explains.append(
                        f"### {surface} · {label} · {name}\n\nparams: `{params}`, "
                        f"{len(captured.captured_queries)} queries, slowest {slowest['time']} s:\n\n"
                        f"```sql\n{slowest['sql']}\n```\n\n```\n{explain(slowest['sql'])}\n```\n"
                    )
    if args.explain and explains:
        path = Path(args.explain)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(
            "# EXPLAIN (ANALYZE, BUFFERS) of the slowest statement per request\n\n" + "\n".join(explains)
        )
        out(f"plans written to {path}")
    return results


def _largest_branch_operator() -> User:
    """The bench operator of the branch with the most custodies (the worst single-branch case)."""
    from django.db.models import Count

    branch = Branch.objects.annotate(n=Count("custodies")).order_by("-n").first()
    return User.objects.get(email=operator_email(branch.code))


def markdown(results: list[Result], args) -> str:
    total = Custody.objects.count()
    with connection.cursor() as cursor:
        version = connection.vendor
        if connection.vendor == "postgresql":
            cursor.execute("SHOW server_version")
            version = f"PostgreSQL {cursor.fetchone()[0]}"
    lines = [
        f"{total:,} custodies · {version} · Python {platform.python_version()} · {os.cpu_count()} CPUs · "
        f"load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())} · DEBUG={os.environ.get('DEBUG', '1 (default)')}"
        f" · {args.requests} requests each after {args.warmup} warm-up",
        "",
        "| surface | request | user | p50 ms | p95 ms | max ms | app CPU ms p50 | queries/req | rows (median) | errors |",
        "|---|---|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in results:
        queries = sorted(set(r.queries))
        q = f"{queries[0]}" if len(queries) == 1 else (f"{queries[0]}–{queries[-1]}" if queries else "-")
        lines.append(
            f"| {r.surface} | {r.name} | {r.user} | {r.pct(50):.1f} | {r.pct(95):.1f} | "
            f"{max(r.timings_ms or [float('nan')]):.1f} | "
            f"{statistics.median(r.cpu_ms) if r.cpu_ms else float('nan'):.1f} | {q} | "
            f"{statistics.median(r.rows) if r.rows and r.surface != 'page' else '–'} | {len(r.errors)} |"
        )
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--requests", type=int, default=200, help="timed requests per (surface, request, user)"
    )
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--surfaces", default="api,page,selector")
    parser.add_argument("--only", nargs="*", help="only request types whose name contains one of these")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--output", help="also write the markdown table here")
    parser.add_argument(
        "--explain", metavar="FILE", help="write EXPLAIN ANALYZE of each request's slowest query"
    )
    args = parser.parse_args(argv)
    results = run(args)
    table = markdown(results, args)
    out("")
    out(table)
    if args.output:
        path = Path(args.output)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(table)
        out(f"written to {path}")
    return 1 if any(r.errors for r in results) else 0


if __name__ == "__main__":
    sys.exit(main())
