#!/usr/bin/env python
"""Side by side: the project's custody API and pages beside a bare Django view and a DRF view.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/custody_bench_perf \\
        .venv/bin/python bench/side_by_side.py --seconds 5 --rounds 3 --output var/bench/side-by-side.md

One gunicorn (`custody serve`, DJANGO_SETTINGS_MODULE=bench.settings, so all contenders share the
same workers, threads and middleware) on a loopback port; wrk (Debian package `wrk`) with 16
connections in interleaved rounds (api, bare, drf, api, bare, drf, ...) so the machine's noise hits
every contender alike. Prints req/s, p50/p95/p99 and the ratios api/bare and api/drf; single-client
p50/p95; the HTML list and detail pages at 16 connections; writes (create draft, submit, approve,
handover, add charge, record payment, close) beside a bare ORM create() at 16 connections; RSS per
worker at the end, and the RSS of a second server with the project's own settings (no DRF) after the
same API reads, pages and writes. Everything stays on 127.0.0.1.
"""

import argparse
import http.client
import json
import os
import random
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ADMIN_EMAIL, ROOT, django_setup, save_report  # noqa: E402

django_setup()

from django.conf import settings  # noqa: E402
from django.db.models import Q  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import ApiToken, User  # noqa: E402
from custodies.choices import CustodyStatus  # noqa: E402
from custodies.models import Custody  # noqa: E402
from documents.models import Document  # noqa: E402
from fleet.models import RentalAgreement, Vehicle  # noqa: E402

HOST = "127.0.0.1"
LUA = r"""
local paths = {%(paths)s}
local i = math.random(#paths)
wrk.headers["Accept"] = "application/json"
%(headers)s
request = function()
  i = i %% #paths + 1
  return wrk.format("GET", paths[i])
end
%(server_timing)s
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %%d %%d %%d %%.1f %%.1f %%.1f\n", summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
  %(server_timing_done)s
end
"""
# With server_timing: each wrk thread keeps the Server-Timing durations (bench.settings turns the header
# on), and done() prints them all; reading headers costs wrk a little CPU, so only the pages use it.
SERVER_TIMING = r"""
local threads = {}
setup = function(thread) table.insert(threads, thread) end
durations = {}
response = function(status, headers, body)
  local value = headers["Server-Timing"]
  if value then table.insert(durations, value:match("dur=([%d.]+)")) end
end
"""
SERVER_TIMING_DONE = r"""for _, thread in ipairs(threads) do
    io.write("SERVER " .. table.concat(thread:get("durations"), " ") .. "\n")
  end"""


def out(*parts) -> None:
    print(*parts, flush=True)  # noqa: T201 - a command-line tool


def loadavg() -> str:
    return " / ".join(f"{x:.2f}" for x in os.getloadavg())


# ---- the server ---------------------------------------------------------------------------------


class Server:
    def __init__(
        self,
        port: int,
        workers: int,
        threads: int,
        settings_module: str = "bench.settings",
        connections: int = 16,
    ):
        self.port, self.workers, self.threads = port, workers, threads
        self.settings_module = settings_module
        self.connections = connections
        self.log = ROOT / "var" / "bench" / f"side-by-side-server-{port}.log"
        self.proc = None

    def __enter__(self):
        self.log.parent.mkdir(parents=True, exist_ok=True)
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": self.settings_module,
            "DEBUG": os.environ.get("DEBUG", "0"),
            # The same key as this process: the pages' session cookie (made here) carries an auth hash
            # signed with it; another key made the server log the session out (every page a 302).
            "SECRET_KEY": settings.SECRET_KEY,
            "ALLOWED_HOSTS": f"{HOST},localhost",
            "PYTHONPATH": str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
            "LOG_LEVEL": "WARNING",
            "CUSTODY_READYZ_REQUIRE_WORKER": "0",
            # Each worker takes its share of wrk's kept-alive connections and no more: otherwise in about
            # half the runs one worker accepted all of them while the other idled (see UNEVEN).
            "GUNICORN_CMD_ARGS": f"--worker-connections {max(self.threads + 1, -(-self.connections // self.workers))}",
        }
        command = [sys.executable, "-m", "config.cli", "serve", "--host", HOST, "--port", str(self.port)]
        command += ["--workers", str(self.workers), "--threads", str(self.threads)]
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen(
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise SystemExit(f"the server exited with {self.proc.returncode}; see {self.log}")
            try:
                conn = http.client.HTTPConnection(HOST, self.port, timeout=2)
                conn.request("GET", "/healthz")
                if conn.getresponse().status == 200:
                    return self
            except OSError:
                time.sleep(0.3)
        raise SystemExit("the server did not answer /healthz")

    def worker_pids(self) -> list[str]:
        return Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text().split()

    def worker_rss_mb(self) -> list[float]:
        rss = []
        for child in self.worker_pids():
            status = Path(f"/proc/{child}/status").read_text()
            match = re.search(r"VmRSS:\s+(\d+) kB", status)
            if match:
                rss.append(int(match.group(1)) / 1024)
        return rss

    def __exit__(self, *exc):
        self.proc.send_signal(signal.SIGTERM)  # only the server this script started
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()


# ---- where the CPU went --------------------------------------------------------------------------


TICK = os.sysconf("SC_CLK_TCK")


def _process_seconds(pid) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # the process ended
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime


def _postgres_pids() -> list[str]:
    """PostgreSQL's own processes (writer, checkpointer, ...) and the backends of the bench database —
    not the backends of other databases (another test run on the same server)."""
    database = f" {settings.DATABASES['default']['NAME']} "
    pids = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                if (entry / "comm").read_text().strip() != "postgres":
                    continue
                title = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            except OSError:
                continue
            if database in title or "(" not in title:  # a client backend's title names its address
                pids.append(entry.name)
    return pids


def _machine_seconds() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot."""
    values = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = values[3] + values[4]  # idle + iowait
    return (sum(values) - idle) / TICK, sum(values) / TICK


class CpuMeter:
    """CPU seconds spent by the app server, PostgreSQL and the load generator (this process and the wrk
    it waits for) during a measured step: on a small machine all three share the cores, so a request's
    cost is all of it, and a server that cannot go faster is one whose machine is busy."""

    def __init__(self, server: "Server"):
        self.server = server

    def _sample(self) -> dict:
        app = sum(_process_seconds(pid) for pid in [self.server.proc.pid, *self.server.worker_pids()])
        times = os.times()
        busy, total = _machine_seconds()
        return {
            "app": app,
            "db": {pid: _process_seconds(pid) for pid in _postgres_pids()},
            "client": times.user + times.system + times.children_user + times.children_system,
            "busy": busy,
            "total": total,
        }

    def __enter__(self):
        self.before = self._sample()
        return self

    def __exit__(self, *exc):
        after = self._sample()
        self.used = {k: after[k] - self.before[k] for k in after if k != "db"}
        # Per backend: one that ended during the step drops out (its CPU is lost, not subtracted).
        self.used["db"] = sum(
            seconds - self.before["db"].get(pid, 0.0) for pid, seconds in after["db"].items()
        )

    def per_request(self, requests: int) -> str:
        """'app 6.1 · db 2.0 · client 1.2 ms/request · machine 97 % busy'."""
        u, n = self.used, max(1, requests)
        busy = 100 * u["busy"] / u["total"] if u["total"] else float("nan")
        return (
            f"app {1000 * u['app'] / n:.1f} · db {1000 * u['db'] / n:.1f} · client {1000 * u['client'] / n:.1f}"
            f" ms/request · machine {busy:.0f} % busy"
        )


# ---- wrk ---------------------------------------------------------------------------------------------


def wrk(
    port: int, paths: list[str], headers: dict, seconds: float, connections: int, server_timing: bool = False
) -> dict:
    """wrk's req/s and latency percentiles; with `server_timing` also the server's own time per request
    (its Server-Timing header): `server_p50`/`server_p95`/`server_p99`, ms."""
    lua = LUA % {
        "paths": ", ".join(json.dumps(p) for p in paths),
        "headers": "\n".join(f"wrk.headers[{json.dumps(k)}] = {json.dumps(v)}" for k, v in headers.items()),
        "server_timing": SERVER_TIMING if server_timing else "",
        "server_timing_done": SERVER_TIMING_DONE if server_timing else "",
    }
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write(lua)
    try:
        threads = min(2, connections)
        result = subprocess.run(
            ["wrk", "--timeout", "30s", f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "-s", script.name,
             f"http://{HOST}:{port}"],
            capture_output=True, text=True, check=True,
        )  # fmt: skip
    finally:
        os.unlink(script.name)
    lines = result.stdout.splitlines()
    line = next(x for x in lines if x.startswith("RESULT"))
    requests, duration_us, errors, p50, p95, p99 = line.split()[1:]
    measured = {
        "rps": int(requests) / (int(duration_us) / 1e6),
        "n": int(requests),
        "errors": int(errors),
        "p50": float(p50) / 1000,
        "p95": float(p95) / 1000,
        "p99": float(p99) / 1000,
    }
    server = sorted(float(x) for line in lines if line.startswith("SERVER") for x in line.split()[1:])
    if server:
        measured.update({f"server_p{p}": pct(server, p) for p in (50, 95, 99)})
    return measured


# wrk's connections are kept alive, and which worker accepts each is a race: in about half the runs all
# 16 land on one worker while the other idles, and the same view serves half its rate (the bare detail:
# ~300 against ~550 req/s). The reads and pages measure the app on all its workers, so a run in which one
# worker did under a quarter of the busiest one's CPU is run again (at most twice more).
UNEVEN = 0.25


def spread_wrk(
    server: "Server", paths: list[str], headers: dict, seconds: float, connections: int, **kwargs
) -> dict:
    """wrk() on `server`, run again while its workers' CPU was uneven; `reruns` says how often, `n_all`
    counts the requests of every attempt (what a CpuMeter around it saw)."""
    n_all = 0
    for attempt in range(3):
        pids = server.worker_pids()
        before = [_process_seconds(pid) for pid in pids]
        result = wrk(server.port, paths, headers, seconds, connections, **kwargs)
        used = [_process_seconds(pid) - start for pid, start in zip(pids, before, strict=True)]
        n_all += result["n"]
        result["reruns"], result["n_all"] = attempt, n_all
        if len(used) < 2 or min(used) >= UNEVEN * max(used):
            break
    return result


def merge(runs: list[dict]) -> dict:
    percentiles = [p for p in ("p50", "p95", "p99", "server_p50", "server_p95", "server_p99") if p in runs[0]]
    return {
        "rps": statistics.median(r["rps"] for r in runs),
        "errors": sum(r["errors"] for r in runs),
        **{p: statistics.median(r[p] for r in runs) for p in percentiles},
    }


# ---- the data ---------------------------------------------------------------------------------------


def read_scenarios(admin) -> dict[str, dict[str, list[str]]]:
    rows = list(
        Custody.objects.order_by("?").values_list("id", "custodian_name")[:200]
    )  # a random sample of ids and names
    ids = [str(r[0]) for r in rows]
    names = [quote(r[1].split()[-1]) for r in rows if r[1]]
    return {
        "list (first page)": {
            "api": ["/api/v1/custodies"],
            "bare": ["/bench/bare/custodies"],
            "drf": ["/bench/drf/custodies"],
        },
        "status=active": {
            "api": ["/api/v1/custodies?status=active"],
            "bare": ["/bench/bare/custodies?status=active"],
            "drf": ["/bench/drf/custodies?status=active"],
        },
        "name search": {
            "api": [f"/api/v1/custodies?q={n}" for n in names],
            "bare": [f"/bench/bare/custodies?q={n}" for n in names],
            "drf": [f"/bench/drf/custodies?q={n}" for n in names],
        },
        "detail": {
            "api": [f"/api/v1/custodies/{i}" for i in ids],
            "bare": [f"/bench/bare/custodies/{i}" for i in ids],
            "drf": [f"/bench/drf/custodies/{i}" for i in ids],
        },
    }


def session_cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


# ---- writes ---------------------------------------------------------------------------------------


def attach(custody_ids, *types) -> None:
    Document.objects.bulk_create(
        Document(
            custody_id=cid,
            document_type=t,
            file=f"bench/{cid}-{t}.pdf",
            file_name=f"{t}.pdf",
            size=1000,
            content_type="application/pdf",
            sha256="0" * 64,
        )
        for cid in custody_ids
        for t in types
    )


def write_inputs(n: int) -> list[dict]:
    """n draft bodies, each with its own free replacement vehicle of the agreement's branch."""
    busy = Custody.objects.filter(
        status__in=[CustodyStatus.DRAFT, CustodyStatus.PENDING_APPROVAL, CustodyStatus.APPROVED,
                    CustodyStatus.ACTIVE]
    ).filter(replacement_vehicle_id__isnull=False).values("replacement_vehicle_id")  # fmt: skip
    rented = RentalAgreement.objects.filter(status="active").values("vehicle_id")
    spares: dict = {}
    for v in (
        Vehicle.objects.filter(status="available")
        .exclude(Q(pk__in=busy) | Q(pk__in=rented))
        .values("id", "branch_id")
    ):
        spares.setdefault(v["branch_id"], []).append(v["id"])
    now = timezone.now()
    bodies = []
    taken = Custody.objects.exclude(status__in=[CustodyStatus.CLOSED, CustodyStatus.VOIDED]).filter(
        agreement_id__isnull=False
    )
    for agreement in RentalAgreement.objects.filter(status="active").exclude(
        pk__in=taken.values("agreement_id")
    ).order_by("?").values(
        "id", "branch_id", "customer_id", "vehicle_id"
    )[: n * 5]:  # fmt: skip
        pool = spares.get(agreement["branch_id"])
        if not pool:
            continue
        bodies.append(
            {
                "agreement_id": str(agreement["id"]),
                "branch_id": str(agreement["branch_id"]),
                "customer_id": str(agreement["customer_id"]),
                "original_vehicle_id": str(agreement["vehicle_id"]),
                "replacement_vehicle_id": str(pool.pop()),
                "custodian_type": "customer",
                "custodian_name": "Bench Writer",
                "reason_code": "breakdown",
                "reason_subcode": "battery_dead",
                "incident_at": (now - timedelta(hours=3)).isoformat(),
                "effective_from": (now - timedelta(hours=1)).isoformat(),
                "expected_return_at": (now + timedelta(days=2)).isoformat(),
            }
        )
        if len(bodies) == n:
            break
    return bodies


def post_all(port: int, headers: dict, jobs: list[tuple[str, dict]], connections: int) -> dict:
    """POST each (path, body) once from `connections` keep-alive clients; latency, throughput, answers."""
    lock = threading.Lock()
    queue = list(reversed(jobs))
    results: list[tuple[int, float, dict | None]] = []

    def client():
        conn = http.client.HTTPConnection(HOST, port, timeout=60)
        while True:
            with lock:
                if not queue:
                    break
                path, body = queue.pop()
            started = time.perf_counter()
            try:
                conn.request("POST", path, json.dumps(body), {**headers, "Content-Type": "application/json"})
                response = conn.getresponse()
                data = response.read()
                status = response.status
            except (OSError, http.client.HTTPException):
                status, data = 0, b""
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=60)
            elapsed = (time.perf_counter() - started) * 1000
            try:
                parsed = json.loads(data) if data else None
            except ValueError:
                parsed = None
            with lock:
                results.append((status, elapsed, parsed))
        conn.close()

    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=connections) as pool:
        for future in [pool.submit(client) for _ in range(connections)]:
            future.result()
    wall = time.perf_counter() - started
    ok = sorted(r[1] for r in results if 200 <= r[0] < 300)
    bad = [r for r in results if not 200 <= r[0] < 300]
    return {
        "rps": len(ok) / wall if wall else 0,
        "n": len(ok),
        "errors": len(bad),
        "error_sample": (bad[0][0], str(bad[0][2])[:200]) if bad else None,
        "p50": pct(ok, 50),
        "p95": pct(ok, 95),
        "p99": pct(ok, 99),
        "answers": [r[2] for r in results if 200 <= r[0] < 300],
    }


def pct(data: list[float], p: float) -> float:
    if not data:
        return float("nan")
    return data[max(0, min(len(data) - 1, round(p / 100 * len(data) + 0.5) - 1))]


def approver_token() -> str:
    """A second all-branches admin: nobody approves their own submission."""
    user = User.objects.filter(email="bench-approver@bench.example").first()
    if user is None:
        user = User.objects.create_user(
            email="bench-approver@bench.example", password=None, role="admin", all_branches=True
        )
    return ApiToken.issue(user, name="bench approver")[1]


def write_steps(ids: list[str]) -> list[tuple]:
    """The timed writes after the drafts `ids` were created: (name, custody id → (path, body), documents
    to attach first). Attaches the documents submitting needs."""
    attach(ids, "incident_report", "customer_acknowledgment")
    odometer = {
        str(pk): km or 0
        for pk, km in Custody.objects.filter(pk__in=ids).values_list("pk", "replacement_vehicle__odometer_km")
    }
    return [
        ("submit", lambda i: (f"/api/v1/custodies/{i}/submit", {}), None),
        ("approve", lambda i: (f"/api/v1/custodies/{i}/approve", {"notes": "bench"}), None),
        ("handover", lambda i: (f"/api/v1/custodies/{i}/handover", {"odometer_km": odometer[i] + 10, "fuel_level": 8}),
         ("handover_checklist",)),
        ("add charge", lambda i: (f"/api/v1/custodies/{i}/charges", {
            "charge_type": "damage", "description": "bench", "unit_price": "100.00",
            "responsibility": "customer"}), ("return_checklist",)),
        ("record payment", lambda i: (f"/api/v1/custodies/{i}/payments", {
            "amount": "50.00", "method": "cash", "payer": "customer"}), None),
        ("close", lambda i: (f"/api/v1/custodies/{i}/close", {
            "returned_at": timezone.now().isoformat(), "odometer_km": odometer[i] + 110, "fuel_level": 8,
            "original_ready": True}), None),
    ]  # fmt: skip


def run_writes(
    server: "Server", token: str, n: int, connections: int, floor: bool = True
) -> list[tuple[str, dict]]:
    """The write steps over `n` new drafts; first (with `floor`) the bare create() of the same rows."""
    port = server.port

    def timed(headers: dict, jobs: list[tuple[str, dict]]) -> dict:
        with CpuMeter(server) as meter:
            result = post_all(port, headers, jobs, connections)
        result["cpu"] = meter.per_request(result["n"] + result["errors"])
        return result

    api = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    approver = {"Authorization": f"Bearer {approver_token()}", "Accept": "application/json"}
    bodies = write_inputs(n)
    if len(bodies) < connections:
        out(f"writes skipped: only {len(bodies)} free replacement vehicles with open agreements")
        return []
    rows = []
    if floor:
        bare = timed({}, [("/bench/bare/create", b) for b in bodies])
        Custody.objects.filter(custodian_name="Bench Writer", created_by__isnull=True).delete()
        rows.append(("bare ORM create()", bare))
    created = timed(api, [("/api/v1/custodies", b) for b in bodies])
    rows.append(("create draft", created))
    ids = [a["id"] for a in created["answers"]]
    steps = write_steps(ids)
    charges: dict[str, str] = {}
    for name, make, documents in steps:
        if documents:
            attach(ids, *documents)
        if name == "record payment":  # a payment needs a posted charge (not timed: not in the list)
            post_all(port, api, [(f"/api/v1/charges/{c}/post", {}) for c in charges.values()], connections)
        headers = approver if name == "approve" else api
        result = timed(headers, [make(i) for i in ids])
        rows.append((name, result))
        if name == "add charge":
            charges = {a["custody_id"]: a["id"] for a in result["answers"] if a}
        if name == "approve":  # multi-level rules: approve until every custody is approved
            for _ in range(3):
                pending = list(
                    Custody.objects.filter(pk__in=ids, status=CustodyStatus.PENDING_APPROVAL).values_list(
                        "pk", flat=True
                    )
                )
                if not pending:
                    break
                post_all(port, approver, [make(str(i)) for i in pending], connections)
        if result["errors"]:
            out(f"  {name}: {result['errors']} errors, e.g. {result['error_sample']}")
    return rows


# ---- report ---------------------------------------------------------------------------------------


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=int(os.environ.get("BENCH_PORT", "8801")))
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=5, help="per wrk run")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--writes", type=int, default=200, help="custodies driven through the write steps")
    parser.add_argument("--skip", nargs="*", default=[], help="any of: reads single pages writes own-rss")
    parser.add_argument("--output", help="also write the markdown report here")
    parser.add_argument(
        "--scaling",
        action="store_true",
        help="also run the writes on 1 worker and on --workers workers (same --threads) and print the ratio"
        " (use --threads 1 where 1 worker with threads would already fill every core)",
    )
    args = parser.parse_args(argv)
    if not shutil.which("wrk"):
        raise SystemExit("wrk is missing: apt-get install wrk")

    random.seed(11)
    admin = User.objects.get(email=ADMIN_EMAIL)
    _token, raw = ApiToken.issue(admin, name="bench side-by-side")
    auth = {"Authorization": f"Bearer {raw}"}
    scenarios = read_scenarios(admin)
    report = [
        f"# Side by side ({Custody.objects.count():,} custodies, gunicorn {args.workers} workers × "
        f"{args.threads} threads, wrk {args.connections} connections, {args.rounds} interleaved rounds of "
        f"{args.seconds:g} s; load average before: {loadavg()})",
        "",
    ]
    with Server(args.port, args.workers, args.threads, connections=args.connections) as server:
        for contenders in scenarios.values():  # warm every worker and code path
            for name, paths in contenders.items():
                wrk(args.port, paths, auth if name == "api" else {}, 1, 4)

        if "reads" not in args.skip:
            results: dict[str, dict[str, list[dict]]] = {
                s: {c: [] for c in ("api", "bare", "drf")} for s in scenarios
            }
            for round_no in range(args.rounds):
                for scenario, contenders in scenarios.items():
                    for name, paths in contenders.items():
                        r = spread_wrk(
                            server, paths, auth if name == "api" else {}, args.seconds, args.connections
                        )
                        results[scenario][name].append(r)
                        out(f"round {round_no + 1} {scenario:18} {name:5} {r['rps']:7.1f} req/s  p50 {r['p50']:6.1f}"
                            f"  p95 {r['p95']:6.1f}  p99 {r['p99']:6.1f} ms  errors {r['errors']}"
                            f"  reruns {r['reruns']}")  # fmt: skip
            reruns = sum(r["reruns"] for by in results.values() for runs in by.values() for r in runs)
            report += [
                f"## Reads at {args.connections} connections (medians of the rounds; load average after: {loadavg()})",
                "",
                f"Runs repeated because one worker got (almost) every connection: {reruns}.",
                "",
                "| request | contender | req/s | p50 ms | p95 ms | p99 ms | errors | api ÷ this |",
                "|---|---|---:|---:|---:|---:|---:|---:|",
            ]
            for scenario, by in results.items():
                merged = {name: merge(runs) for name, runs in by.items()}
                for name, m in merged.items():
                    ratio = merged["api"]["rps"] / m["rps"] if m["rps"] else float("nan")
                    report.append(
                        f"| {scenario} | {name} | {m['rps']:.1f} | {m['p50']:.1f} | {m['p95']:.1f} | "
                        f"{m['p99']:.1f} | {m['errors']} | {'' if name == 'api' else f'{ratio:.2f} ×'} |"
                    )
            report.append("")

        if "single" not in args.skip:
            report += [
                f"## Single client (1 connection, {args.seconds:g} s each; load average {loadavg()})",
                "",
                "| request | contender | req/s | p50 ms | p95 ms |",
                "|---|---|---:|---:|---:|",
            ]
            for scenario, contenders in scenarios.items():
                for name, paths in contenders.items():
                    r = wrk(args.port, paths, auth if name == "api" else {}, args.seconds, 1)
                    report.append(
                        f"| {scenario} | {name} | {r['rps']:.1f} | {r['p50']:.1f} | {r['p95']:.1f} |"
                    )
            report.append("")

        if "pages" not in args.skip:
            cookie = {"Cookie": session_cookie(admin), "Accept": "text/html"}
            ids = [p.rsplit("/", 1)[1] for p in scenarios["detail"]["api"]]
            pages = {
                "custody list page": ["/custodies/"],
                "custody list page, status=active": ["/custodies/?status=active"],
                "custody detail page": [f"/custodies/{i}/" for i in ids],
            }
            report += [
                f"## Pages at {args.connections} connections (session cookie, admin)",
                "",
                "Client: what wrk saw, including the wait for a free server thread (16 connections, "
                f"{args.workers * args.threads} threads). Server: the server's own time per request "
                "(its Server-Timing header, from the first middleware to the response).",
                "",
                "| page | req/s | client p50 / p95 / p99 ms | server p50 / p95 / p99 ms | errors "
                "| CPU per request (all rounds) |",
                "|---|---:|---:|---:|---:|---|",
            ]
            for name, paths in pages.items():
                with CpuMeter(server) as meter:
                    runs = [
                        spread_wrk(server, paths, cookie, args.seconds, args.connections, server_timing=True)
                        for _ in range(args.rounds)
                    ]
                m = merge(runs)
                server_times = " / ".join(f"{m.get(f'server_p{p}', float('nan')):.1f}" for p in (50, 95, 99))
                report.append(
                    f"| {name} | {m['rps']:.1f} | {m['p50']:.1f} / {m['p95']:.1f} / {m['p99']:.1f} | {server_times} "
                    f"| {m['errors']} | {meter.per_request(sum(r['n_all'] for r in runs))} |"
                )
            report += ["", f"load average after the pages: {loadavg()}", ""]

        if "writes" not in args.skip:
            rows = run_writes(server, raw, args.writes, args.connections)
            if rows:
                floor = rows[0][1]["rps"]
                report += [
                    f"## Writes at {args.connections} connections ({args.writes} custodies; load average {loadavg()})",
                    "",
                    "| write | done | req/s | p50 ms | p95 ms | p99 ms | errors | ÷ bare create | CPU per request |",
                    "|---|---:|---:|---:|---:|---:|---:|---:|---|",
                ]
                for name, r in rows:
                    report.append(
                        f"| {name} | {r['n']} | {r['rps']:.1f} | {r['p50']:.1f} | {r['p95']:.1f} | {r['p99']:.1f} | "
                        f"{r['errors']} | {r['rps'] / floor if floor else float('nan'):.2f} × | {r['cpu']} |"
                    )
                report.append("")

        rss = server.worker_rss_mb()
        report.append(
            f"RSS per worker after the run: {', '.join(f'{x:.0f} MB' for x in rss)}; load average {loadavg()}"
        )
    if "own-rss" not in args.skip:
        report += own_server_rss(args, raw, scenarios)
    if args.scaling:
        report += scaling_report(args, raw)
    text = "\n".join(report) + "\n"
    out("")
    out(text)
    save_report(text, args.output)
    return 0


def own_server_rss(args, token: str, scenarios: dict) -> list[str]:
    """RSS of the project's own server (config.settings: no bare or DRF views, DRF never imported)
    after the same API reads, pages and writes: the bench's server also carries DRF (~20 MB)."""
    admin = User.objects.get(email=ADMIN_EMAIL)
    auth = {"Authorization": f"Bearer {token}"}
    cookie = {"Cookie": session_cookie(admin), "Accept": "text/html"}
    ids = [p.rsplit("/", 1)[1] for p in scenarios["detail"]["api"]]
    pages = [["/custodies/"], ["/custodies/?status=active"], [f"/custodies/{i}/" for i in ids]]
    with Server(
        args.port + 2,
        args.workers,
        args.threads,
        settings_module="config.settings",
        connections=args.connections,
    ) as server:
        for contenders in scenarios.values():
            wrk(server.port, contenders["api"], auth, args.seconds, args.connections)
        for paths in pages:
            wrk(server.port, paths, cookie, args.seconds, args.connections)
        run_writes(server, token, args.writes, args.connections, floor=False)
        rss = server.worker_rss_mb()
    return [
        f"RSS per worker of the project's own server (config.settings) after the same API reads, pages and "
        f"writes: {', '.join(f'{x:.0f} MB' for x in rss)}; load average {loadavg()}",
        "",
    ]


def scaling_report(args, token: str) -> list[str]:
    """The writes on 1 worker, then on `args.workers`: writes to different custodies must not wait for one
    another (no global lock), so with idle cores more workers serve more of them."""
    runs = {}
    for workers in (1, args.workers):
        with Server(args.port + 1, workers, args.threads, connections=args.connections) as server:
            wrk(server.port, ["/healthz"], {}, 1, 4)
            runs[workers] = dict(run_writes(server, token, args.writes, args.connections))
    one, many = runs[1], runs[args.workers]
    lines = [
        f"## Writes on 1 and {args.workers} workers ({args.threads} threads each, {args.connections} connections,"
        f" {args.writes} custodies; load average {loadavg()})",
        "",
        f"| write | 1 worker req/s | {args.workers} workers req/s | ratio | CPU per request, 1 worker "
        f"| CPU per request, {args.workers} workers |",
        "|---|---:|---:|---:|---|---|",
    ]
    for name, r in one.items():
        other = many.get(name)
        if other is None:
            continue
        ratio = other["rps"] / r["rps"] if r["rps"] else float("nan")
        lines.append(
            f"| {name} | {r['rps']:.1f} | {other['rps']:.1f} | {ratio:.2f} × | {r['cpu']} | {other['cpu']} |"
        )
    return [*lines, ""]


if __name__ == "__main__":
    sys.exit(main())
