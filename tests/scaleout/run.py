"""Scale-out proof (`make test-scaleout`): two app instances and two workers on one PostgreSQL database.

Run through `.ci/postgres.sh` (a throwaway database in DATABASE_URL). Everything listens on 127.0.0.1
(ports 8301, 8302; the webhook receiver on 8390). It shows that
- a session made on one instance works on the other (sessions live in the database);
- every outbox event becomes exactly one webhook delivery, received exactly once, with one attempt,
  although two workers compete for the events (each worker polls the outbox);
- each scheduled job runs once per interval although both workers run the scheduler.
Exit 0 when all hold, 1 otherwise; bounded by DEADLINE seconds.
"""

import contextlib
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import Counter
from http.cookiejar import CookieJar
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
APP_PORTS = (8301, 8302)
RECEIVER_PORT = 8390
CUSTODIES = 12
DEADLINE = int(os.environ.get("SCALEOUT_DEADLINE", "600"))
EMAIL, PASSWORD = "scaleout-admin@example.com", "Scale-Out-Pass-42"

received: Counter = Counter()
received_lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            event_id = json.loads(body)["id"]
        except (ValueError, KeyError):
            event_id = "?"
        with received_lock:
            received[event_id] += 1
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


def env() -> dict:
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CUSTODY_WEBHOOK_ALLOW_PRIVATE": "1",
        "CUSTODY_VAR_DIR": str(ROOT / "var" / "scaleout"),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
    }


def manage(*args) -> str:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env(), capture_output=True, text=True, check=False
    )
    if result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result.stdout


def sql(query: str) -> list[tuple]:
    code = (
        "import json; from django.db import connection\n"
        "with connection.cursor() as c:\n"
        f"    c.execute({query!r}); print(json.dumps(c.fetchall(), default=str))"
    )
    return [tuple(row) for row in json.loads(manage("shell", "-c", code).strip().splitlines()[-1])]


def wait_until(check, timeout: float, what: str):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        value = check()
        if value:
            return value
        time.sleep(1)
    raise SystemExit(f"timed out waiting for {what}")


def http(opener, method, url, data=None, headers=None):
    body = None
    headers = dict(headers or {})
    if isinstance(data, dict) and headers.get("Content-Type") == "application/json":
        body = json.dumps(data).encode()
    elif isinstance(data, dict):
        body = urllib.parse.urlencode(data).encode()
    request = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with opener.open(request, timeout=30) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()
    except (urllib.error.URLError, ConnectionError, TimeoutError) as exc:
        return 0, str(exc)


def main() -> int:
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("test-scaleout needs DATABASE_URL to a throwaway PostgreSQL database (use .ci/postgres.sh)")
        return 2
    started = time.monotonic()
    failures: list[str] = []
    manage("migrate", "-v0")
    for kind in ("branches", "vehicle-classes", "customers", "vehicles", "agreements"):
        manage("import", kind, str(ROOT / "docs" / "import" / f"{kind}.csv"))
    manage("createuser", "--email", EMAIL, "--role", "admin", "--password", PASSWORD, "--all-branches")

    server = ThreadingHTTPServer(("127.0.0.1", RECEIVER_PORT), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    processes = []
    logs = ROOT / "var" / "scaleout"
    logs.mkdir(parents=True, exist_ok=True)
    try:
        for port in APP_PORTS:
            out = (logs / f"app-{port}.log").open("w")
            processes.append(
                subprocess.Popen(  # noqa: S603
                    [
                        PYTHON,
                        "-m",
                        "config.cli",
                        "serve",
                        "--port",
                        str(port),
                        "--workers",
                        "1",
                        "--threads",
                        "2",
                    ],
                    cwd=ROOT,
                    env=env(),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        for number in (1, 2):
            out = (logs / f"worker-{number}.log").open("w")
            processes.append(
                subprocess.Popen(  # noqa: S603
                    [PYTHON, "manage.py", "worker"],
                    cwd=ROOT,
                    env=env(),
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                )
            )
        workers_started = time.monotonic()
        base = [f"http://127.0.0.1:{port}" for port in APP_PORTS]
        anonymous = urllib.request.build_opener()
        for url in base:
            wait_until(lambda u=url: http(anonymous, "GET", u + "/healthz")[0] == 200, 60, f"{url}/healthz")

        # 1. A session made on instance A works on instance B.
        jar = CookieJar()
        browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        status, page = http(browser, "GET", base[0] + "/accounts/login/")
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        status, _ = http(
            browser,
            "POST",
            base[0] + "/accounts/login/",
            {"csrfmiddlewaretoken": token, "username": EMAIL, "password": PASSWORD},
            headers={"Referer": base[0] + "/accounts/login/"},
        )
        status, page = http(browser, "GET", base[1] + "/custodies/")
        if status != 200 or EMAIL not in page:
            failures.append(f"session from instance A not accepted by instance B (status {status})")
        else:
            print("ok: a session made on :8301 works on :8302")

        # 2. Webhook deliveries exactly once, with the API spread over both instances.
        status, body = http(
            anonymous,
            "POST",
            base[1] + "/api/v1/auth/token",
            {"email": EMAIL, "password": PASSWORD},
            headers={"Content-Type": "application/json"},
        )
        bearer = {"Authorization": f"Bearer {json.loads(body)['token']}", "Content-Type": "application/json"}
        status, body = http(
            anonymous,
            "POST",
            base[0] + "/api/v1/webhook-endpoints",
            {"name": "scale-out receiver", "url": f"http://127.0.0.1:{RECEIVER_PORT}/hook", "events": []},
            headers=bearer,
        )
        if status != 201:
            raise SystemExit(f"could not register the webhook endpoint: {status} {body}")
        ids = dict(sql("SELECT customer_no, id FROM fleet_customer"))
        agreement = dict(sql("SELECT agreement_no, id FROM fleet_rentalagreement"))["RA-2025-0001"]
        branch = dict(sql("SELECT code, id FROM fleet_branch"))["DXB"]
        for n in range(CUSTODIES):
            status, body = http(
                anonymous,
                "POST",
                base[n % 2] + "/api/v1/custodies",
                {
                    "branch_id": str(branch),
                    "customer_id": str(ids["C-10001"]),
                    "agreement_id": str(agreement),
                    "custodian_type": "customer",
                    "custodian_name": f"Scale Out {n}",
                    "reason_code": "breakdown",
                    "reason_subcode": "battery_dead",
                    "incident_at": "2026-01-05T08:00:00+04:00",
                    "effective_from": "2026-01-05T09:00:00+04:00",
                },
                headers=bearer,
            )
            if status != 201:
                failures.append(f"create custody {n} on {base[n % 2]}: {status} {body[:300]}")
                print("FAIL:", failures[-1])
        events = wait_until(
            lambda: sql("SELECT count(*) FROM integrations_outboxevent")[0][0] or None, 30, "outbox events"
        )

        def all_delivered():
            with received_lock:
                got = sum(1 for _ in received)
            done = sql("SELECT count(*) FROM integrations_webhookdelivery WHERE status = 'delivered'")[0][0]
            total = sql("SELECT count(*) FROM integrations_outboxevent")[0][0]
            return got >= total and done >= total

        wait_until(all_delivered, 120, "every event delivered")
        time.sleep(5)  # a duplicate would arrive now
        total = sql("SELECT count(*) FROM integrations_outboxevent")[0][0]
        deliveries = sql("SELECT count(*), count(DISTINCT event_id) FROM integrations_webhookdelivery")[0]
        attempts = sql("SELECT count(*) FROM integrations_deliveryattempt")[0][0]
        with received_lock:
            twice = {k: v for k, v in received.items() if v != 1}
            got = len(received)
        print(
            f"events {total} (from {events} at first count), deliveries {deliveries[0]}, attempts {attempts}, "
            f"received {got}"
        )
        if twice:
            failures.append(f"events received more than once: {twice}")
        if not (deliveries[0] == deliveries[1] == total == got == attempts):
            failures.append("not exactly one delivery, one attempt and one receipt per event")
        else:
            print(f"ok: {total} events, each delivered and received exactly once")

        # 3. Each scheduled job once per interval although both workers run the scheduler.
        elapsed = time.monotonic() - workers_started
        code = "import json; from ops.jobs import all_jobs; print(json.dumps({j.name: j.interval.total_seconds() for j in all_jobs()}))"
        intervals = json.loads(manage("shell", "-c", code).strip().splitlines()[-1])
        runs = dict(sql("SELECT name, runs FROM ops_jobrun"))
        too_many = {
            name: n for name, n in runs.items() if n > int(elapsed // intervals.get(name, 300)) + 1 or n < 1
        }
        if not runs or too_many:
            failures.append(f"scheduled jobs ran more than once per interval: {too_many} in {elapsed:.0f} s")
        else:
            print(f"ok: in {elapsed:.0f} s with two workers each job ran once per interval: {runs}")
        heartbeats = sql("SELECT count(*) FROM ops_workerheartbeat")[0][0]
        if heartbeats != 2:
            failures.append(f"expected 2 worker heartbeats, got {heartbeats}")
    finally:
        for process in processes:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        server.shutdown()
    elapsed = time.monotonic() - started
    for failure in failures:
        print("FAIL:", failure)
    print(f"scale-out test {'passed' if not failures else 'FAILED'} in {elapsed:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    signal.alarm(DEADLINE)
    sys.exit(main())
