#!/usr/bin/env python
"""Where one request's time goes, by stage: auth, query compile, database, row decoding,
serialisation, template, middleware (and the view's own code).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/custody_bench_perf DEBUG=0 \\
        .venv/bin/python bench/profile.py --requests 100
    .venv/bin/python bench/profile.py --only "api list" --requests 50

Calls Django's WSGI handler in-process (no network, no test-client instrumentation) as the bench
admin (Bearer token for the API, session cookie for pages). Each stage's time is exclusive: when a
stage starts inside another (the database inside row decoding, a query inside a template), the outer
one pauses, so the stages add up to the request's wall time. Stages:

- middleware: the middleware chain and request/response handling around the view
- auth: the API's token/session authentication
- compile: building SQL from querysets (SQLCompiler.as_sql)
- database: cursor.execute — the round trip and the server's work
- decoding: fetching rows, converting values, building model instances (QuerySet._fetch_all)
- serialisation: response validation and JSON encoding (ninja, orjson, JsonResponse)
- template: rendering templates
- view: everything else in the view and the code it calls (services, selectors, SLA, ...)
"""

import argparse
import io
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
os.environ.setdefault("DEBUG", "0")
from _setup import ADMIN_EMAIL, django_setup  # noqa: E402
from _stages import CLOCK, STAGES, instrument  # noqa: E402

django_setup()

from django.conf import settings  # noqa: E402
from django.core.handlers.wsgi import WSGIHandler  # noqa: E402
from django.test import Client, RequestFactory  # noqa: E402

from accounts.models import ApiToken, User  # noqa: E402
from custodies.models import Custody  # noqa: E402


def requests_for(admin) -> list[tuple[str, str, dict]]:
    sample = Custody.objects.order_by("?").values_list("id", "custodian_name")[:1][0]
    _token, raw = ApiToken.issue(admin, name="bench profile")
    bearer = {"HTTP_AUTHORIZATION": f"Bearer {raw}", "HTTP_ACCEPT": "application/json"}
    client = Client()
    client.force_login(admin)
    cookie = {
        "HTTP_COOKIE": f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"
    }
    name = sample[1].split()[-1]
    return [
        ("api list", "/api/v1/custodies", bearer),
        ("api status=active", "/api/v1/custodies?status=active", bearer),
        ("api name search", f"/api/v1/custodies?q={name}", bearer),
        ("api detail", f"/api/v1/custodies/{sample[0]}", bearer),
        ("page list", "/custodies/", cookie),
        ("page detail", f"/custodies/{sample[0]}/", cookie),
    ]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--only", nargs="*", help="request names containing one of these")
    parser.add_argument(
        "--clock",
        choices=["wall", "cpu"],
        default="wall",
        help="stage times in wall time, or in this thread's CPU time (steadier on a busy machine; "
        "the database's own work does not show then)",
    )
    args = parser.parse_args(argv)
    if args.clock == "cpu":
        CLOCK.now = time.thread_time

    admin = User.objects.get(email=ADMIN_EMAIL)
    todo = requests_for(admin)
    instrument()
    handler = WSGIHandler()  # after instrument(): it binds _get_response into its middleware chain
    factory = RequestFactory()

    def call(path: str, headers: dict) -> int:
        environ = factory.get(path, **headers).environ
        environ["SERVER_NAME"] = "127.0.0.1"
        status = []
        CLOCK.enter("middleware")
        try:
            body = handler(environ, lambda s, h, *a: status.append(s))
            for _chunk in body:
                pass
            body.close()
        finally:
            CLOCK.leave()
        return int(status[0].split()[0])

    out = io.StringIO()
    out.write(
        f"{Custody.objects.count():,} custodies · DEBUG={int(settings.DEBUG)} · {args.requests} requests each "
        f"after {args.warmup} warm-up · load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())}\n\n"
        f"mean ms per request; stages in exclusive {args.clock} time (wall: they add up to the wall column); "
        "CPU = the process's CPU time\n\n"
        f"| request | wall | CPU | {' | '.join(STAGES)} |\n|---|---:|---:|{'---:|' * len(STAGES)}\n"
    )
    for label, path, headers in todo:
        if args.only and not any(o in label for o in args.only):
            continue
        for _ in range(args.warmup):
            call(path, headers)
        CLOCK.totals.clear()
        walls, cpus = [], []
        for _ in range(args.requests):
            started, cpu = time.perf_counter(), time.process_time()
            status = call(path, headers)
            walls.append((time.perf_counter() - started) * 1000)
            cpus.append((time.process_time() - cpu) * 1000)
            if status != 200:
                raise SystemExit(f"{label}: HTTP {status} for {path}")
        stages = " | ".join(f"{CLOCK.totals[s] * 1000 / args.requests:.1f}" for s in STAGES)
        out.write(f"| {label} | {statistics.mean(walls):.1f} | {statistics.mean(cpus):.1f} | {stages} |\n")
        print(f"{label}: done", file=sys.stderr, flush=True)  # noqa: T201
    sys.stdout.write(out.getvalue())
    return 0


if __name__ == "__main__":
    sys.exit(main())
