#!/usr/bin/env python
"""A small load test: `custody serve` (gunicorn) on a free loopback port, hit from a thread pool.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/custody_bench \\
        .venv/bin/python bench/load.py --concurrency 8 --requests 2000 --seconds 60

Starts the production server exactly as `custody serve` does (python -m config.cli serve, so it
works from a checkout), waits for /healthz, issues a Bearer token for the bench admin, then sends a
mix of API requests (list, filters, search, detail) from N threads with keep-alive connections,
until --requests are done or --seconds have passed. Reports throughput, p50/p95/max and status
codes, then stops the server. Only loopback addresses are ever used.
"""

import argparse
import http.client
import ipaddress
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ADMIN_EMAIL, ROOT, django_setup, save_report  # noqa: E402

django_setup()

from django.conf import settings  # noqa: E402

from accounts.models import ApiToken, User  # noqa: E402
from custodies.models import Custody  # noqa: E402


def out(*parts) -> None:
    print(*parts, flush=True)  # noqa: T201 - a command-line tool


def free_port(host: str) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def wait_until_up(host: str, port: int, timeout: float, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with {server.returncode}; see its log")
        try:
            conn = http.client.HTTPConnection(host, port, timeout=2)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                conn.close()
                return
        except OSError:
            pass
        time.sleep(0.3)
    raise SystemExit(f"the server did not answer /healthz within {timeout:.0f}s")


def request_mix(sample: list[tuple], rng: random.Random):
    """(label, path) generator: what a busy branch and an integration ask for."""

    def pick():
        custody_id, number, name, plate = rng.choice(sample)
        roll = rng.random()
        if roll < 0.25:
            return "list", "/api/v1/custodies"
        if roll < 0.40:
            return "filter status", "/api/v1/custodies?" + urlencode({"status": "active"})
        if roll < 0.50:
            return "filter reason", "/api/v1/custodies?" + urlencode(
                {"reason_code": rng.choice(["accident", "breakdown", "maintenance", "damage", "other"])}
            )
        if roll < 0.60 and plate:
            return "filter plate", "/api/v1/custodies?" + urlencode({"plate": plate})
        if roll < 0.70:
            return "search no", "/api/v1/custodies?" + urlencode({"q": number})
        if roll < 0.80:
            return "search name", "/api/v1/custodies?" + urlencode({"q": name})
        return "detail", f"/api/v1/custodies/{custody_id}"

    return pick


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1", help="loopback only: 127.0.0.1 or ::1")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers")
    parser.add_argument("--threads", type=int, default=4, help="gunicorn threads per worker")
    parser.add_argument("--concurrency", type=int, default=8, help="client threads")
    parser.add_argument("--requests", type=int, default=2000, help="stop after this many requests")
    parser.add_argument("--seconds", type=float, default=60, help="... or after this long")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--output", help="also write the markdown summary here")
    args = parser.parse_args(argv)
    if not ipaddress.ip_address(args.host).is_loopback:
        parser.error("--host must be a loopback address")

    admin = User.objects.get(email=ADMIN_EMAIL)
    rng = random.Random(args.seed)
    sample = list(
        Custody.objects.order_by("?").values_list(
            "id", "custody_no", "custodian_name", "original_vehicle__plate"
        )[:500]
    )
    if not sample:
        raise SystemExit("no custodies: run bench/generate.py first")
    _token, raw = ApiToken.issue(admin, name="bench load")

    port = free_port(args.host)
    log_path = ROOT / "var" / "bench" / f"load-server-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DEBUG": os.environ.get("DEBUG", "0"),
        "SECRET_KEY": os.environ.get("SECRET_KEY", "bench-" + "x" * 50),
        "ALLOWED_HOSTS": f"{args.host},localhost",
        "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "LOG_LEVEL": "WARNING",
    }
    command = [
        sys.executable,
        "-m",
        "config.cli",
        "serve",
        "--host",
        args.host,
        "--port",
        str(port),
        "--workers",
        str(args.workers),
        "--threads",
        str(args.threads),
    ]
    out(f"starting: {' '.join(command)}  (log: {log_path})")
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        wait_until_up(args.host, port, 60, server)
        summary = run_load(args, port, raw, sample, rng)
    finally:
        server.send_signal(signal.SIGTERM)  # only the server this script started
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
    out("")
    out(summary)
    save_report(summary, args.output)
    return 0


def run_load(args, port: int, raw_token: str, sample, rng: random.Random) -> str:
    headers = {"Authorization": f"Bearer {raw_token}", "Accept": "application/json"}
    pick = request_mix(sample, rng)
    lock = threading.Lock()
    results: list[tuple[str, int, float]] = []
    issued = 0
    deadline = time.monotonic() + args.seconds

    def next_request():
        nonlocal issued
        with lock:
            if issued >= args.requests or time.monotonic() > deadline:
                return None
            issued += 1
            return pick()

    def worker():
        conn = http.client.HTTPConnection(args.host, port, timeout=30)
        while True:
            item = next_request()
            if item is None:
                break
            label, path = item
            started = time.perf_counter()
            try:
                conn.request("GET", path, headers=headers)
                response = conn.getresponse()
                body = response.read()
                status = response.status
                if status == 200 and label != "detail":
                    json.loads(body)
            except (OSError, http.client.HTTPException):
                status = 0
                conn.close()
                conn = http.client.HTTPConnection(args.host, port, timeout=30)
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                results.append((label, status, elapsed))
        conn.close()

    # warm-up: every worker process imports and connects once
    warm = http.client.HTTPConnection(args.host, port, timeout=30)
    for _ in range(args.workers * 4):
        warm.request("GET", "/api/v1/custodies", headers=headers)
        warm.getresponse().read()
    warm.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.concurrency) as pool:
        for future in [pool.submit(worker) for _ in range(args.concurrency)]:
            future.result()
    wall = time.perf_counter() - started

    def pct(values, p):
        data = sorted(values)
        return (
            data[max(0, min(len(data) - 1, round(p / 100 * len(data) + 0.5) - 1))] if data else float("nan")
        )

    ok = [r for r in results if r[1] == 200]
    codes: dict[int, int] = {}
    for _, status, _ in results:
        codes[status] = codes.get(status, 0) + 1
    lines = [
        f"load test: `custody serve` on {args.host}:{port}, {args.workers} workers × {args.threads} threads, "
        f"{args.concurrency} client threads, {len(results)} requests in {wall:.1f}s "
        f"({len(results) / wall:.1f} req/s); {Custody.objects.count():,} custodies; "
        f"DEBUG={os.environ.get('DEBUG', '0')}; load average {' / '.join(f'{x:.2f}' for x in os.getloadavg())}; "
        f"status codes {dict(sorted(codes.items()))}",
        "",
        "| request | n | p50 ms | p95 ms | max ms |",
        "|---|---:|---:|---:|---:|",
    ]
    labels = sorted({r[0] for r in ok})
    for label in ["all", *labels]:
        times = [r[2] for r in ok if label == "all" or r[0] == label]
        lines.append(
            f"| {label} | {len(times)} | {pct(times, 50):.1f} | {pct(times, 95):.1f} | "
            f"{max(times) if times else float('nan'):.1f} |"
        )
    if ok:
        lines.append("")
        lines.append(
            f"mean {statistics.mean(r[2] for r in ok):.1f} ms; settings DATABASES host "
            f"{settings.DATABASES['default'].get('HOST') or 'local'}"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    sys.exit(main())
