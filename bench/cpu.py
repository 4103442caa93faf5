#!/usr/bin/env python
"""CPU per request, in process: the custody API and pages beside the bare Django floor and DRF.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/custody_bench_perf DEBUG=0 \\
        .venv/bin/python bench/cpu.py --rounds 5 --requests 20
    .venv/bin/python bench/cpu.py --only detail "page list"    # request names containing one of these

What a busy machine cannot blur: every request is served by Django's WSGI handler in this process
(no network, no server, no wrk) with `DJANGO_SETTINGS_MODULE=bench.settings`, so the project's
endpoints and the comparison views of `bench/views.py` (bare `.values()` + `JsonResponse`, DRF
`ModelSerializer`) run with the same middleware, settings and database connection. For each request
type, each contender runs `--requests` requests per round, **interleaved round by round** (api,
bare, drf, api, bare, drf, ...), and the figure is the **minimum over the rounds** of this
thread's CPU time (`time.thread_time`) per request: other processes can only add to it (caches,
preemption), never take from it, so the minimum is the steadiest estimate of the work itself.

CPU here is the Python side only (the database server's own work is another process; wall times
are shown too, for reference). `bare ÷ api` is the throughput ratio the CPU figures imply when the
Python process is the bottleneck — the `api ÷ bare` req/s of `bench/side_by_side.py` on a machine
with the CPU to spare.

API requests carry the bench admin's Bearer token (all branches), pages its session cookie.
"""

import argparse
import io
import os
import sys
import time
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DEBUG", "0")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
os.environ.setdefault("LOG_LEVEL", "WARNING")
os.environ.setdefault("CUSTODY_REQUEST_LOG_LEVEL", "WARNING")  # no log line per request (the same for all)
from _setup import ADMIN_EMAIL, django_setup, save_report  # noqa: E402

django_setup()

from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402

from accounts.models import ApiToken, User  # noqa: E402
from custodies.models import Custody  # noqa: E402


def loadavg() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


def samples(count: int) -> tuple[list[str], list[str]]:
    """`count` custodies spread evenly over the custody numbers (the same ones on every run of a dataset):
    their ids (detail requests) and their custodians' surnames (name searches)."""
    total = Custody.objects.count()
    step = max(1, total // count)
    numbers = list(
        Custody.objects.order_by("custody_no").values_list("custody_no", flat=True)[::step][:count]
    )
    rows = list(
        Custody.objects.filter(custody_no__in=numbers)
        .order_by("custody_no")
        .values_list("id", "custodian_name")
    )
    ids = [str(r[0]) for r in rows]
    names = [quote(r[1].split()[-1]) for r in rows if r[1]]
    return ids, names


def scenarios(admin, count: int) -> list[tuple[str, dict[str, list[tuple[str, dict]]]]]:
    ids, names = samples(count)
    _token, raw = ApiToken.issue(admin, name="bench cpu")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {raw}", "HTTP_ACCEPT": "application/json"}
    plain = {"HTTP_ACCEPT": "application/json"}
    client = Client()
    client.force_login(admin)
    cookie = {
        "HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    }
    htmx = {**cookie, "HTTP_HX_REQUEST": "true", "HTTP_HX_TARGET": "list-results"}

    def trio(api: list[str], bare: list[str], drf: list[str]) -> dict[str, list[tuple[str, dict]]]:
        return {
            "api": [(p, bearer) for p in api],
            "bare": [(p, plain) for p in bare],
            "drf": [(p, plain) for p in drf],
        }

    return [
        (
            "list (first page)",
            trio(["/api/v1/custodies"], ["/bench/bare/custodies"], ["/bench/drf/custodies"]),
        ),
        (
            "status=active",
            trio(
                ["/api/v1/custodies?status=active"],
                ["/bench/bare/custodies?status=active"],
                ["/bench/drf/custodies?status=active"],
            ),
        ),
        (
            "name search",
            trio(
                [f"/api/v1/custodies?q={n}" for n in names],
                [f"/bench/bare/custodies?q={n}" for n in names],
                [f"/bench/drf/custodies?q={n}" for n in names],
            ),
        ),
        (
            "detail",
            trio(
                [f"/api/v1/custodies/{i}" for i in ids],
                [f"/bench/bare/custodies/{i}" for i in ids],
                [f"/bench/drf/custodies/{i}" for i in ids],
            ),
        ),
        ("list page", {"page": [("/custodies/", cookie)]}),
        ("list page, status=active", {"page": [("/custodies/?status=active", cookie)]}),
        ("list page, HTMX results", {"page": [("/custodies/", htmx)]}),
        ("detail page", {"page": [(f"/custodies/{i}/", cookie) for i in ids]}),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5, help="rounds per contender (the minimum is kept)")
    parser.add_argument("--requests", type=int, default=20, help="requests per contender per round")
    parser.add_argument("--warmup", type=int, default=5, help="untimed requests per contender first")
    parser.add_argument("--samples", type=int, default=10, help="custodies for detail requests and searches")
    parser.add_argument("--only", nargs="*", help="request names containing one of these")
    parser.add_argument("--output", help="also write the table to this file")
    args = parser.parse_args(argv)

    admin = User.objects.get(email=ADMIN_EMAIL)
    todo = scenarios(admin, args.samples)
    handler = WSGIHandler()
    factory = RequestFactory()

    def call(path: str, headers: dict) -> None:
        environ = factory.get(path, **headers).environ
        environ["SERVER_NAME"] = "127.0.0.1"
        status = []
        body = handler(environ, lambda s, h, *a: status.append(s))
        for _chunk in body:
            pass
        body.close()
        if not status[0].startswith("200"):
            raise SystemExit(f"HTTP {status[0]} for {path}")

    def run(requests: list[tuple[str, dict]], n: int) -> tuple[float, float]:
        cpu, wall = time.thread_time(), time.perf_counter()
        for k in range(n):
            call(*requests[k % len(requests)])
        return (time.thread_time() - cpu) * 1000 / n, (time.perf_counter() - wall) * 1000 / n

    started_load = loadavg()
    out = io.StringIO()
    out.write(
        f"{Custody.objects.count():,} custodies · {connection.vendor} · DEBUG={int(settings.DEBUG)} · "
        f"min of {args.rounds} rounds × {args.requests} requests per contender, interleaved · "
        f"load average {started_load} → LOAD_AFTER\n\n"
        "| request | contender | CPU ms | wall ms | bare ÷ this (CPU) | drf ÷ this (CPU) |\n"
        "|---|---|---:|---:|---:|---:|\n"
    )
    for label, contenders in todo:
        if args.only and not any(o in label for o in args.only):
            continue
        for requests in contenders.values():
            run(requests, args.warmup)
        best = {name: (float("inf"), float("inf")) for name in contenders}
        for _round in range(args.rounds):
            for name, requests in contenders.items():
                cpu, wall = run(requests, args.requests)
                best[name] = (min(best[name][0], cpu), min(best[name][1], wall))
        for name, (cpu, wall) in best.items():
            vs_bare = f"{best['bare'][0] / cpu:.2f} ×" if "bare" in best and name != "bare" else ""
            vs_drf = f"{best['drf'][0] / cpu:.2f} ×" if "drf" in best and name != "drf" else ""
            out.write(f"| {label} | {name} | {cpu:.1f} | {wall:.1f} | {vs_bare} | {vs_drf} |\n")
        print(f"{label}: done", file=sys.stderr, flush=True)  # noqa: T201 - a command-line tool
    text = out.getvalue().replace("LOAD_AFTER", loadavg())
    sys.stdout.write(text)
    save_report(text, args.output)
    return 0


if __name__ == "__main__":
    sys.exit(main())
