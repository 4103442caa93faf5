#!/usr/bin/env python
"""Statements, query compilations and CPU per write, in process: the seven API writes beside a bare create().

    createdb -h 127.0.0.1 -U postgres custody_writes_run -T custody_writes   # a fresh copy per run
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/custody_writes_run DEBUG=0 \\
        .venv/bin/python bench/writes_cpu.py --custodies 40 --counted 5

The writes of `bench/side_by_side.py` (create draft, submit, approve, handover, add charge, record
payment, close; the same bodies, documents and approver), each POSTed through Django's WSGI handler in
this process with `DJANGO_SETTINGS_MODULE=bench.settings` (no network, no server, no wrk), beside the
bare ORM `create()` of the draft row (`/bench/bare/create`). A write can be done once per custody, so
each step runs once over `--custodies` custodies: the first `--counted` requests of a step count the
SQL statements (`CaptureQueriesContext`) and the SQL compilations (`SQLCompiler.as_sql` calls,
subqueries included) and are not timed; the others are timed with this thread's CPU clock
(`time.thread_time`: another process can add to it, never take from it), reported as the median and
the minimum per request. After each timed write a bare create() is timed too, so each write has a
floor measured at the same moments (a busy machine moves both alike); `bare ÷ this` is the ratio of
their medians, the throughput ratio the CPU figures imply when the Python process is the bottleneck.

Statements include the savepoints, the audit linking after commit and the outbox's task row; they do not
include BEGIN/COMMIT (the driver's, not a statement). Approve: the first approval of each custody (the
bench's rules give one or more levels), the rest are driven untimed, as side_by_side does.
`--stages` splits the timed requests' CPU by stage, like bench/profile.py (exclusive thread CPU time per
stage). The run changes the database (custodies, vehicles, agreements): run it on a copy.
"""

import argparse
import io
import json
import os
import statistics
import sys
import time
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("CUSTODY_REQUEST_LOG_LEVEL", "WARNING")
from _setup import ADMIN_EMAIL, django_setup, save_report  # noqa: E402
from _stages import CLOCK, STAGES, instrument  # noqa: E402

django_setup()

from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import connection  # noqa: E402
from django.db.models.sql import compiler as sql_compiler  # noqa: E402
from django.test import RequestFactory  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from side_by_side import approver_token, attach, write_inputs, write_steps  # noqa: E402

from accounts.models import ApiToken, User  # noqa: E402
from custodies.choices import CustodyStatus  # noqa: E402
from custodies.models import Custody  # noqa: E402


def loadavg() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


COMPILERS = [
    sql_compiler.SQLCompiler,
    sql_compiler.SQLInsertCompiler,
    sql_compiler.SQLUpdateCompiler,
    sql_compiler.SQLDeleteCompiler,
    sql_compiler.SQLAggregateCompiler,
]


@contextmanager
def count_compilations():
    """Counts SQLCompiler.as_sql calls (every compiler class, subqueries included) while active."""
    box = [0]
    originals = {cls: cls.__dict__["as_sql"] for cls in COMPILERS if "as_sql" in cls.__dict__}

    def wrap(original):
        def as_sql(self, *args, **kwargs):
            box[0] += 1
            return original(self, *args, **kwargs)

        return as_sql

    for cls, original in originals.items():
        cls.as_sql = wrap(original)
    try:
        yield box
    finally:
        for cls, original in originals.items():
            cls.as_sql = original


class Caller:
    def __init__(self):
        self.handler = WSGIHandler()
        self.factory = RequestFactory()

    def post(self, path: str, body: dict, headers: dict) -> tuple[int, object]:
        environ = self.factory.post(
            path, data=json.dumps(body), content_type="application/json", **headers
        ).environ
        environ["SERVER_NAME"] = "127.0.0.1"
        status: list[str] = []
        result = self.handler(environ, lambda s, h, *a: status.append(s))
        data = b"".join(result)
        result.close()
        code = int(status[0].split()[0])
        try:
            parsed = json.loads(data) if data else None
        except ValueError:
            parsed = None
        return code, parsed


# ---- --stages: where a write's CPU goes (exclusive time per stage, as bench/profile.py does) -----------


def run_step(
    caller: Caller,
    jobs: list[tuple[str, dict]],
    headers: dict,
    counted: int,
    show: str | None = None,
    floor: list[tuple[str, dict]] | None = None,
) -> dict:
    """POST each job once: the first `counted` counted (statements, compilations), the rest timed.
    `show`: print the first request's statements under this title (stderr). `floor`: a bare create
    timed after each timed request, so the step's own floor shares its moment's noise."""
    statements, compilations, cpu, wall, answers, errors = [], [], [], [], [], []
    floor_cpu: list[float] = []
    CLOCK.totals.clear()
    for k, (path, body) in enumerate(jobs):
        if k < counted:
            with CaptureQueriesContext(connection) as queries, count_compilations() as compiled:
                code, parsed = caller.post(path, body, headers)
            statements.append(len(queries))
            if show and k == 0:
                print(f"\n== {show}: {len(queries)} statements", file=sys.stderr)  # noqa: T201
                for n, query in enumerate(queries.captured_queries, start=1):
                    print(f"{n:3}. {query['sql'][:300]}", file=sys.stderr)  # noqa: T201
            compilations.append(compiled[0])
        else:
            c0, w0 = time.thread_time(), time.perf_counter()
            CLOCK.enter("middleware")
            try:
                code, parsed = caller.post(path, body, headers)
            finally:
                CLOCK.leave()
            cpu.append((time.thread_time() - c0) * 1000)
            wall.append((time.perf_counter() - w0) * 1000)
            if floor:
                stages = dict(CLOCK.totals)
                c0 = time.thread_time()
                caller.post(*floor[k % len(floor)], {})
                floor_cpu.append((time.thread_time() - c0) * 1000)
                CLOCK.totals.clear()
                CLOCK.totals.update(stages)
        if 200 <= code < 300:
            answers.append(parsed)
        else:
            errors.append((code, str(parsed)[:300]))
    stages = dict(CLOCK.totals)
    CLOCK.totals.clear()
    return {
        "stages": stages,
        "floor_cpu": floor_cpu,
        "statements": statements,
        "compilations": compilations,
        "cpu": cpu,
        "wall": wall,
        "answers": answers,
        "errors": errors,
    }


def span(values: list[int]) -> str:
    if not values:
        return "–"
    lo, hi = min(values), max(values)
    return f"{lo}" if lo == hi else f"{lo}–{hi}"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--custodies", type=int, default=40, help="custodies driven through the writes")
    parser.add_argument("--counted", type=int, default=5, help="requests per step counted, not timed")
    parser.add_argument("--output", help="also write the table to this file")
    parser.add_argument("--sql", action="store_true", help="print each write's statements once (stderr)")
    parser.add_argument(
        "--stages",
        action="store_true",
        help="also split the timed requests' CPU by stage (middleware, auth, compile, database, decoding, "
        "serialisation, view); the instrumentation adds a little to every figure",
    )
    args = parser.parse_args(argv)
    if args.custodies <= args.counted:
        raise SystemExit("--custodies must be more than --counted")

    admin = User.objects.get(email=ADMIN_EMAIL)
    raw = ApiToken.issue(admin, name="bench writes cpu")[1]
    api = {"HTTP_AUTHORIZATION": f"Bearer {raw}", "HTTP_ACCEPT": "application/json"}
    approver = {"HTTP_AUTHORIZATION": f"Bearer {approver_token()}", "HTTP_ACCEPT": "application/json"}
    if args.stages:
        CLOCK.now = time.thread_time  # CPU per stage, like the figures it sits beside
        instrument()
    caller = Caller()

    bodies = write_inputs(args.custodies)
    if len(bodies) < args.custodies:
        raise SystemExit(f"only {len(bodies)} free replacement vehicles with open agreements")
    rows: list[tuple[str, dict]] = []
    floor = [("/bench/bare/create", b) for b in bodies]
    bare = run_step(caller, floor, {}, args.counted)
    rows.append(("bare ORM create()", bare))
    created = run_step(
        caller,
        [("/api/v1/custodies", b) for b in bodies],
        api,
        args.counted,
        "create draft" if args.sql else None,
        floor,
    )
    rows.append(("create draft", created))
    ids = [a["id"] for a in created["answers"]]
    steps = write_steps(ids)
    charges: dict[str, str] = {}
    for name, make, documents in steps:
        if documents:
            attach(ids, *documents)
        if name == "record payment":  # a payment needs a posted charge (not counted)
            for charge_id in charges.values():
                caller.post(f"/api/v1/charges/{charge_id}/post", {}, api)
        headers = approver if name == "approve" else api
        result = run_step(
            caller, [make(i) for i in ids], headers, args.counted, name if args.sql else None, floor
        )
        rows.append((name, result))
        if result["errors"]:
            print(f"{name}: {len(result['errors'])} errors, e.g. {result['errors'][0]}", file=sys.stderr)  # noqa: T201
        if name == "add charge":
            charges = {a["custody_id"]: a["id"] for a in result["answers"] if a}
        if name == "approve":  # multi-level rules: approve until every custody is approved
            for _ in range(3):
                pending = [
                    str(pk)
                    for pk in Custody.objects.filter(
                        pk__in=ids, status=CustodyStatus.PENDING_APPROVAL
                    ).values_list("pk", flat=True)
                ]
                for pk in pending:
                    caller.post(*make(pk), approver)
        print(f"{name}: done", file=sys.stderr, flush=True)  # noqa: T201

    Custody.objects.filter(custodian_name="Bench Writer", created_by__isnull=True).delete()  # the bare rows
    out = io.StringIO()
    out.write(
        f"{Custody.objects.count():,} custodies · {connection.vendor} · DEBUG={int(settings.DEBUG)} · "
        f"{args.custodies} custodies per write ({args.counted} counted, {args.custodies - args.counted} "
        f"timed) · load average {loadavg()}\n\n"
        "| write | statements | compilations | CPU ms (median) | CPU ms (min) | wall ms (median) "
        "| bare CPU ms, same moment | bare ÷ this (CPU) | errors |\n"
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n"
    )
    for name, r in rows:
        cpu = statistics.median(r["cpu"]) if r["cpu"] else float("nan")
        beside = statistics.median(r["floor_cpu"]) if r["floor_cpu"] else float("nan")
        out.write(
            f"| {name} | {span(r['statements'])} | {span(r['compilations'])} | {cpu:.1f} | "
            f"{min(r['cpu'], default=float('nan')):.1f} | {statistics.median(r['wall']) if r['wall'] else 0:.1f} | "
            f"{'' if r is bare else f'{beside:.1f}'} | {'' if r is bare else f'{beside / cpu:.2f} ×'} | "
            f"{len(r['errors'])} |\n"
        )
    if args.stages:
        out.write(
            "\nCPU ms per timed request by stage (exclusive; `database` is the driver's side of the round "
            "trip, `view` the rest of the view: services, rules, audit, events)\n\n"
            f"| write | {' | '.join(STAGES)} |\n|---|{'---:|' * len(STAGES)}\n"
        )
        for name, r in rows:
            timed = len(r["cpu"]) or 1
            cells = " | ".join(f"{r['stages'].get(s, 0.0) * 1000 / timed:.1f}" for s in STAGES)
            out.write(f"| {name} | {cells} |\n")
    text = out.getvalue()
    sys.stdout.write(text)
    save_report(text, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
