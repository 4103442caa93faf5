"""Chaos day (`make chaos`): a scripted day of operations while the server and the worker are SIGKILLed.

    .ci/postgres.sh .venv/bin/python -u tests/chaos/run.py postgres   # server and worker killed
    .venv/bin/python -u tests/chaos/run.py sqlite                     # the server killed (SQLite file)

Everything listens on 127.0.0.1. Client threads take custodies through their lifecycle over the API
(create, documents, submit, approve, hand over, a charge posted, a payment with an Idempotency-Key
and a client retry of it, close); a webhook endpoint sends every event to a local receiver. Meanwhile
a seeded random killer SIGKILLs the server's process group or the worker and starts it again. Every
POST carries an Idempotency-Key, and a client retries it (same key, same body) until it gets an
answer: what it was answered is "acknowledged".

After each restart: the server answers, and every acknowledged write so far is there (custody at
least at the acknowledged state, each acknowledged payment present once). At the end:
`custody verify` reports no violation; no acknowledged write lost; no payment recorded twice (per
Idempotency-Key, kept in the payment's reference); every event delivered to the receiver, duplicates
only with the same X-Custody-Delivery id; no replacement vehicle booked by two custodies at once.
Exit 0 when all hold; bounded by CHAOS_DEADLINE seconds; fixed seed (CHAOS_SEED).
"""

import contextlib
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from http.client import HTTPException
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PYTHON = str(ROOT / ".venv" / "bin" / "python")
MODE = sys.argv[1] if len(sys.argv) > 1 else "postgres"
SEED = int(os.environ.get("CHAOS_SEED", "20261130"))
DEADLINE = int(os.environ.get("CHAOS_DEADLINE", "330"))
PORT = {"postgres": 8321, "sqlite": 8322}[MODE]
RECEIVER_PORT = {"postgres": 8391, "sqlite": 8392}[MODE]
CUSTODIES = int(os.environ.get("CHAOS_CUSTODIES", "12" if MODE == "postgres" else "6"))
CLIENTS = 3
SPARES = max(2, CUSTODIES // 2)  # fewer cars than custodies: clients compete for them
KILLS = int(os.environ.get("CHAOS_KILLS", "8" if MODE == "postgres" else "4"))
PASSWORD = "Chaos-Day-Pass-42"
BASE = f"http://127.0.0.1:{PORT}"
VAR = ROOT / "var" / f"chaos-{MODE}"
PDF = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"
RANK = {"draft": 0, "pending_approval": 1, "approved": 2, "active": 3, "closed": 4}

rng = random.Random(SEED)
log_lock = threading.Lock()
failures: list[str] = []


def say(*parts):
    with log_lock:
        print(f"[{time.strftime('%H:%M:%S')}]", *parts, flush=True)


def fail(message: str):
    with log_lock:
        failures.append(message)
        print("FAIL:", message, flush=True)


# ------------------------------------------------------------------------------- processes


def env() -> dict:
    result = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "CUSTODY_WEBHOOK_ALLOWED_NETWORKS": "127.0.0.0/8",
        "CUSTODY_VAR_DIR": str(VAR),
        "EMAIL_BACKEND": "django.core.mail.backends.locmem.EmailBackend",
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        # A killed request holds its key only briefly, a killed worker its deliveries too.
        "CUSTODY_IDEMPOTENCY_LEASE_SECONDS": "5",
        "CUSTODY_WEBHOOK_LEASE_SECONDS": "10",
        "CUSTODY_RATELIMIT_ENABLE": "0",
    }
    if MODE == "sqlite":
        result.pop("DATABASE_URL", None)
        result["SQLITE_PATH"] = str(VAR / "custody.sqlite3")
    return result


def manage(*args, check=True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [PYTHON, "manage.py", *args], cwd=ROOT, env=env(), capture_output=True, text=True, check=False
    )
    if check and result.returncode != 0:
        raise SystemExit(f"manage.py {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def shell_json(code: str):
    return json.loads(manage("shell", "-c", code).stdout.strip().splitlines()[-1])


class Supervised:
    """One process (its own process group) that the killer may SIGKILL and that is started again."""

    def __init__(self, name: str, argv: list[str]):
        self.name, self.argv, self.process, self.starts = name, argv, None, 0
        self.log = (VAR / f"{name}.log").open("a")

    def start(self):
        self.starts += 1
        self.process = subprocess.Popen(  # noqa: S603
            self.argv, cwd=ROOT, env=env(), stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def kill(self):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()

    def stop(self):
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.kill()


# ------------------------------------------------------------------------------- HTTP


def http(method, path, body=None, token=None, key=None, content_type="application/json", timeout=60):
    headers = {}
    data = None
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers["Content-Type"] = content_type
    request = urllib.request.Request(BASE + path, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 - 127.0.0.1
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()
    except (urllib.error.URLError, HTTPException, ConnectionError, TimeoutError, OSError) as exc:
        return 0, str(exc).encode()  # the server died under the request: no answer, try again


def call(method, path, body=None, token=None, key=None, content_type="application/json", give_up=90):
    """Retry through kills (connection refused/reset, 5xx, "still running") with the same key and body."""
    end = time.monotonic() + give_up
    while True:
        status, raw = http(method, path, body, token, key, content_type)
        still_running = status == 409 and b"still running" in raw
        if status == 500:
            fail(f"500 on {method} {path}: {raw[:300]!r}")
        if status and status < 500 and not still_running:
            try:
                return status, json.loads(raw or b"null")
            except ValueError:
                return status, raw
        if time.monotonic() > end:
            raise RuntimeError(f"{method} {path}: no answer after {give_up} s (last {status} {raw[:200]!r})")
        time.sleep(0.3)


def multipart(fields: dict, file_field: str, file_name: str, content: bytes) -> tuple[bytes, str]:
    boundary = "chaos-boundary-7f3a"
    parts = []
    for name, value in fields.items():
        parts.append(
            f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        )
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{file_field}"; filename="{file_name}"\r\n'
        f"Content-Type: application/pdf\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


# ------------------------------------------------------------------------------- webhook receiver

received: list[tuple[str, str, str]] = []  # (event id, delivery id, type)
received_lock = threading.Lock()


class Receiver(BaseHTTPRequestHandler):
    def do_POST(self):  # noqa: N802 - http.server's name
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        try:
            payload = json.loads(body)
            row = (payload["id"], self.headers.get("X-Custody-Delivery", ""), payload.get("type", ""))
        except (ValueError, KeyError):
            row = ("?", "?", "?")
        with received_lock:
            received.append(row)
        self.send_response(200)
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *args):
        pass


# ------------------------------------------------------------------------------- the day


class Ledger:
    """What the server acknowledged."""

    def __init__(self):
        self.lock = threading.Lock()
        self.custody_state: dict[str, str] = {}
        self.payments: dict[str, tuple[str, str]] = {}  # key -> (custody id, payment id)
        self.charges: dict[str, str] = {}  # charge id -> custody id

    def state(self, custody_id, status):
        with self.lock:
            old = self.custody_state.get(custody_id)
            if old is None or RANK.get(status, -1) > RANK.get(old, -1):
                self.custody_state[custody_id] = status


def now_iso(delta=timedelta()):
    return (datetime.now(UTC) + delta).isoformat()


class Day:
    def __init__(self, setup: dict, tokens: dict):
        self.setup, self.tokens, self.ledger = setup, tokens, Ledger()
        self.run_id = uuid.UUID(int=rng.getrandbits(128)).hex[:8]

    def key(self, n, step):
        return f"chaos-{self.run_id}-{n}-{step}"

    def upload(self, n, custody_id, document_type):
        body, content_type = multipart({"document_type": document_type}, "file", f"{document_type}.pdf", PDF)
        status, answer = call(
            "POST",
            f"/api/v1/custodies/{custody_id}/documents",
            body,
            self.tokens["operator"],
            self.key(n, f"doc-{document_type}"),
            content_type,
        )
        if status != 201:
            fail(f"custody {n}: upload {document_type}: {status} {answer}")

    def available(self):
        status, answer = call(
            "GET",
            f"/api/v1/vehicles/available?branch_id={self.setup['branch']}&from={now_iso()}"
            f"&to={now_iso(timedelta(days=3))}".replace("+", "%2B"),
            token=self.tokens["supervisor"],
        )
        return [v["id"] for v in answer["items"]] if status == 200 else []

    def lifecycle(self, n: int, agreement: dict, local_rng: random.Random):
        op, sup, fin = self.tokens["operator"], self.tokens["supervisor"], self.tokens["finance"]
        spare = self.setup["spares"][n % len(self.setup["spares"])]
        status, custody = call(
            "POST",
            "/api/v1/custodies",
            {
                "branch_id": self.setup["branch"],
                "customer_id": self.setup["customer"],
                "agreement_id": agreement["id"],
                "original_vehicle_id": agreement["vehicle"],
                "replacement_vehicle_id": spare,
                "custodian_type": "customer",
                "custodian_name": f"Chaos {n}",
                "reason_code": "breakdown",
                "reason_subcode": "battery_dead",
                "incident_at": now_iso(-timedelta(hours=2)),
                "effective_from": now_iso(-timedelta(hours=1)),
                "expected_return_at": now_iso(timedelta(days=2)),
            },
            op,
            self.key(n, "create"),
        )
        if status != 201:
            fail(f"custody {n}: create answered {status} {custody}")
            return
        cid = custody["id"]
        self.ledger.state(cid, "draft")
        for document_type in ("incident_report", "customer_acknowledgment"):
            self.upload(n, cid, document_type)

        # submit, then approve; a replacement another custody holds is swapped for a free one
        for attempt in range(12):
            status, answer = call(
                "POST", f"/api/v1/custodies/{cid}/submit", {}, op, self.key(n, f"submit-{attempt}")
            )
            if status == 200:
                self.ledger.state(cid, answer["status"])
                break
            _s, current = call("GET", f"/api/v1/custodies/{cid}", token=op)
            if current["status"] != "draft":
                break
            free = self.available()
            if free:
                call(
                    "PATCH",
                    f"/api/v1/custodies/{cid}",
                    {"replacement_vehicle_id": local_rng.choice(free), "version": current["version"]},
                    op,
                )
            time.sleep(0.5)
        for attempt in range(20):
            _s, current = call("GET", f"/api/v1/custodies/{cid}", token=sup)
            if RANK[current["status"]] >= RANK["approved"]:
                self.ledger.state(cid, current["status"])
                break
            status, answer = call(
                "POST", f"/api/v1/custodies/{cid}/approve", {}, sup, self.key(n, f"approve-{attempt}")
            )
            if status == 200:
                self.ledger.state(cid, answer["status"])
                continue
            free = self.available()
            if free:
                call(
                    "POST",
                    f"/api/v1/custodies/{cid}/replacement",
                    {"replacement_vehicle_id": local_rng.choice(free)},
                    sup,
                    self.key(n, f"swap-{attempt}"),
                )
            time.sleep(0.7)
        else:
            fail(f"custody {n}: never approved")
            return

        self.upload(n, cid, "handover_checklist")
        for attempt in range(20):
            # the car's current reading: replacement cars come back and go out again during the day
            _s, current = call("GET", f"/api/v1/custodies/{cid}", token=op)
            _s, car = call("GET", f"/api/v1/vehicles/{current['replacement_vehicle_id']}", token=op)
            odometer = car["odometer_km"] + 10
            status, answer = call(
                "POST",
                f"/api/v1/custodies/{cid}/handover",
                {"odometer_km": odometer, "fuel_level": 8},
                op,
                self.key(n, f"handover-{attempt}"),
            )
            if status == 200:
                self.ledger.state(cid, "active")
                break
            time.sleep(0.7)
        else:
            fail(f"custody {n}: handover refused: {status} {answer}")
            return

        status, charge = call(
            "POST",
            f"/api/v1/custodies/{cid}/charges",
            {
                "charge_type": "damage",
                "description": f"Scratch {n}",
                "quantity": "1",
                "unit_price": "100.00",
                "responsibility": "customer",
            },
            op,
            self.key(n, "charge"),
        )
        if status != 201:
            fail(f"custody {n}: charge {status} {charge}")
            return
        with self.ledger.lock:
            self.ledger.charges[charge["id"]] = cid
        status, posted = call("POST", f"/api/v1/charges/{charge['id']}/post", {}, fin, self.key(n, "post"))
        if status != 200:
            fail(f"custody {n}: post charge {status} {posted}")
        pay_key = self.key(n, "payment")
        body = {
            "amount": posted.get("total", "105.00"),
            "method": "card",
            "payer": "customer",
            "reference": pay_key,
        }
        status, payment = call("POST", f"/api/v1/custodies/{cid}/payments", body, fin, pay_key)
        if status != 201:
            fail(f"custody {n}: payment {status} {payment}")
        else:
            with self.ledger.lock:
                self.ledger.payments[pay_key] = (cid, payment["id"])
            # the client did not see the answer and tries again: the same payment, replayed
            status, again = call("POST", f"/api/v1/custodies/{cid}/payments", body, fin, pay_key)
            if status != 201 or again.get("id") != payment["id"]:
                fail(f"custody {n}: a retried payment was not replayed: {status} {again}")

        self.upload(n, cid, "return_checklist")
        status, answer = call(
            "POST",
            f"/api/v1/custodies/{cid}/close",
            {"returned_at": now_iso(), "odometer_km": odometer + 100, "fuel_level": 8},
            op,
            self.key(n, "close"),
        )
        if status == 200:
            self.ledger.state(cid, "closed")
        else:
            fail(f"custody {n}: close {status} {answer}")

    def client(self, numbers: list[int], seed: int):
        local_rng = random.Random(seed)
        for n in numbers:
            try:
                self.lifecycle(n, self.setup["agreements"][n], local_rng)
                say(f"custody {n} done")
            except Exception as exc:  # noqa: BLE001 - report and go on with the next custody
                fail(f"custody {n}: {type(exc).__name__}: {exc}")

    def check_acknowledged(self, when: str) -> int:
        """Every acknowledged write is there: custodies at least at their state, payments once each."""
        admin = self.tokens["admin"]
        with self.ledger.lock:
            states = dict(self.ledger.custody_state)
            payments = dict(self.ledger.payments)
        lost = 0
        for cid, status in states.items():
            code, custody = call("GET", f"/api/v1/custodies/{cid}", token=admin)
            if code != 200 or RANK.get(custody.get("status"), -1) < RANK[status]:
                fail(f"{when}: custody {cid} acknowledged as {status}, now {code} {custody.get('status')}")
                lost += 1
        by_custody = defaultdict(list)
        for pay_key, (cid, pid) in payments.items():
            by_custody[cid].append((pay_key, pid))
        for cid, wanted in by_custody.items():
            code, listing = call("GET", f"/api/v1/custodies/{cid}/payments?limit=200", token=admin)
            items = listing.get("items", listing) if isinstance(listing, dict) else listing
            for pay_key, pid in wanted:
                same = [p for p in items if p.get("reference") == pay_key]
                if [p["id"] for p in same] != [pid]:
                    fail(f"{when}: payment {pay_key}: acknowledged {pid}, found {[p['id'] for p in same]}")
                    lost += 1
        return lost


def set_up() -> dict:
    code = f"""
import json
from datetime import timedelta
from decimal import Decimal
from django.utils import timezone
from accounts.models import User
from fleet.models import Branch, Customer, RentalAgreement, Vehicle, VehicleClass, TaxProfile
TaxProfile.objects.get_or_create(name="UAE VAT", defaults={{"rate_percent": Decimal("5.00"), "is_default": True}})
branch = Branch.objects.create(code="DXB", name="Dubai Airport", city="Dubai")
klass = VehicleClass.objects.create(code="ECON", name="Economy", daily_rate=Decimal("120.00"), monthly_rate=Decimal("2400.00"))
customer = Customer.objects.create(customer_no="C-CHAOS", full_name="Chaos Customer")
now = timezone.now()
def car(plate, status):
    vin = (plate.replace("-", "") + "A" * 17)[:17].upper().replace("I", "J").replace("O", "P")
    return Vehicle.objects.create(plate=plate, vin=vin, make="Toyota", model="Yaris", year=2024, vehicle_class=klass,
                                  branch=branch, status=status, odometer_km=10000)
agreements = []
for i in range({CUSTODIES}):
    rented = car(f"CH-R-{{i:05d}}", "rented")
    a = RentalAgreement.objects.create(agreement_no=f"RA-CH-{{i}}", customer=customer, vehicle=rented, branch=branch,
        start_at=now - timedelta(days=5), end_at=now + timedelta(days=25), daily_rate=Decimal("150.00"),
        monthly_rate=Decimal("3000.00"), deposit_amount=Decimal("0.00"))
    agreements.append({{"id": str(a.id), "vehicle": str(rented.id)}})
spares = [str(car(f"CH-S-{{i:05d}}", "available").id) for i in range({SPARES})]
for role in ("operator", "supervisor", "finance", "admin"):
    User.objects.create_user(email=f"{{role}}@chaos.example", password="{PASSWORD}", role=role,
                             full_name=role.title(), all_branches=True)
print(json.dumps({{"branch": str(branch.id), "customer": str(customer.id), "agreements": agreements, "spares": spares}}))
"""
    return shell_json(code)


def final_checks(day: Day, endpoint_created: str):
    verify = manage("verify", check=False)
    print(verify.stdout.strip())
    if verify.returncode != 0:
        fail(
            f"custody verify: exit {verify.returncode}: {verify.stdout.strip()[-800:]} {verify.stderr[-400:]}"
        )
    else:
        say("ok: custody verify reports no violation")
    lost = day.check_acknowledged("final")
    if not lost:
        say(
            f"ok: every acknowledged write is there ({len(day.ledger.custody_state)} custodies, "
            f"{len(day.ledger.payments)} payments)"
        )
    rows = shell_json(
        "import json; from billing.models import Payment; from django.db.models import Count\n"
        "print(json.dumps(list(Payment.objects.filter(reference__startswith='chaos-').values('reference')"
        ".annotate(n=Count('id')).filter(n__gt=1).values_list('reference', 'n'))))"
    )
    if rows:
        fail(f"payments recorded twice: {rows}")
    else:
        say("ok: no payment recorded twice")
    # webhooks: every event since the endpoint was registered delivered; duplicates share a delivery id
    events = shell_json(
        "import json; from integrations.models import OutboxEvent\n"
        f"print(json.dumps([str(i) for i in OutboxEvent.objects.filter(created_at__gte='{endpoint_created}')"
        ".values_list('id', flat=True)]))"
    )
    with received_lock:
        got = list(received)
    deliveries_by_event = defaultdict(set)
    for event_id, delivery_id, _type in got:
        deliveries_by_event[event_id].add(delivery_id)
    missing = [e for e in events if e not in deliveries_by_event]
    split = {e: d for e, d in deliveries_by_event.items() if len(d) > 1}
    duplicates = len(got) - len(deliveries_by_event)
    if missing:
        fail(f"{len(missing)} of {len(events)} events never reached the receiver: {missing[:5]}")
    if split:
        fail(f"events received under different delivery ids: {dict(list(split.items())[:5])}")
    if not missing and not split:
        say(
            f"ok: {len(events)} events all received; {duplicates} duplicate receipts, each with its delivery id"
        )
    # no vehicle booked twice: a car is held from the custody's approval until it comes back; those
    # periods of approved/active/closed custodies never overlap
    bookings = shell_json(
        "import json; from custodies.models import Custody\n"
        "print(json.dumps([[str(c.replacement_vehicle_id), c.status, c.approved_at and c.approved_at.isoformat(),"
        " c.returned_at and c.returned_at.isoformat(), str(c.id)] for c in Custody.objects.filter("
        "status__in=['approved', 'active', 'closed']).exclude(replacement_vehicle=None)]))"
    )
    by_vehicle = defaultdict(list)
    for vehicle, status, start, end, cid in bookings:
        start = start or "0000"
        end = "9999" if status in ("approved", "active") else end
        by_vehicle[vehicle].append((start, end, cid))
    double = []
    for vehicle, periods in by_vehicle.items():
        periods.sort()
        for (s1, e1, c1), (s2, _e2, c2) in zip(periods, periods[1:], strict=False):
            if s2 < e1:
                double.append((vehicle, c1, c2))
    if double:
        fail(f"vehicles booked by two custodies at once: {double}")
    else:
        say(f"ok: no vehicle double-booked ({len(bookings)} bookings of {len(by_vehicle)} cars)")


def main() -> int:
    if MODE == "postgres" and not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("chaos postgres needs DATABASE_URL to a throwaway PostgreSQL database (use .ci/postgres.sh)")
        return 2
    started = time.monotonic()
    shutil.rmtree(VAR, ignore_errors=True)
    VAR.mkdir(parents=True)
    manage("migrate", "-v0")
    setup = set_up()
    say(
        f"set up in {time.monotonic() - started:.0f} s: {CUSTODIES} custodies to run, {SPARES} replacement cars"
    )
    server = ThreadingHTTPServer(("127.0.0.1", RECEIVER_PORT), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()

    app = Supervised(
        "server",
        [PYTHON, "-m", "config.cli", "serve", "--port", str(PORT), "--workers", "2", "--threads", "2"],
    )
    worker = Supervised("worker", [PYTHON, "manage.py", "worker"])
    targets = [app, worker] if MODE == "postgres" else [app]
    kills: list[str] = []
    try:
        app.start()
        worker.start()

        def up(timeout=90):
            end = time.monotonic() + timeout
            while time.monotonic() < end:
                if http("GET", "/healthz", timeout=5)[0] == 200:
                    return True
                time.sleep(0.3)
            return False

        if not up():
            raise SystemExit("the server did not start")
        tokens = {}
        for role in ("operator", "supervisor", "finance", "admin"):
            status, answer = call(
                "POST", "/api/v1/auth/token", {"email": f"{role}@chaos.example", "password": PASSWORD}
            )
            tokens[role] = answer["token"]
        endpoint_created = datetime.now(UTC).isoformat()
        status, answer = call(
            "POST",
            "/api/v1/webhook-endpoints",
            {"name": "chaos receiver", "url": f"http://127.0.0.1:{RECEIVER_PORT}/hook", "events": []},
            tokens["admin"],
            "chaos-endpoint",
        )
        if status != 201:
            raise SystemExit(f"could not register the webhook endpoint: {status} {answer}")
        day = Day(setup, tokens)
        numbers = list(range(CUSTODIES))
        threads = [
            threading.Thread(target=day.client, args=(numbers[i::CLIENTS], SEED + i), daemon=True)
            for i in range(CLIENTS)
        ]
        for thread in threads:
            thread.start()
        say(f"server up; {CLIENTS} clients start the day")

        # the killer
        while any(t.is_alive() for t in threads) and len(kills) < KILLS:
            time.sleep(rng.uniform(1.5, 4.0))
            if not any(t.is_alive() for t in threads):
                break
            target = rng.choice(targets)
            target.kill()
            kills.append(target.name)
            say(f"kill {len(kills)}: SIGKILL {target.name} (pid {target.process.pid})")
            time.sleep(rng.uniform(0.0, 1.5))
            target.start()
            if target is app and not up():
                fail(f"kill {len(kills)}: the server did not come back")
                break
            lost = day.check_acknowledged(f"after kill {len(kills)}")
            say(
                f"after kill {len(kills)} ({target.name}): server answers, acknowledged writes all there"
                if not lost
                else f"after kill {len(kills)}: {lost} acknowledged writes missing"
            )
        for thread in threads:
            thread.join(timeout=max(10, DEADLINE - (time.monotonic() - started) - 60))
        if any(t.is_alive() for t in threads):
            fail("the day's clients did not finish in time")

        # the worker (alive again) drains the outbox
        def drained():
            pending = shell_json(
                "import json; from integrations.models import OutboxEvent, WebhookDelivery\n"
                "print(json.dumps([OutboxEvent.objects.filter(dispatched_at=None).count(),"
                " WebhookDelivery.objects.exclude(status='delivered').count()]))"
            )
            return pending == [0, 0], pending

        end = time.monotonic() + 60
        while True:
            done, pending = drained()
            if done or time.monotonic() > end:
                break
            time.sleep(2)
        if not done:
            fail(f"the outbox did not drain: {pending[0]} undispatched events, {pending[1]} undelivered")
        time.sleep(2)  # a duplicate would arrive now
        final_checks(day, endpoint_created)
    finally:
        app.stop()
        worker.stop()
        server.shutdown()
    elapsed = time.monotonic() - started
    say(
        f"kills survived: {len(kills)} ({', '.join(kills)}); server started {app.starts}x, worker {worker.starts}x"
    )
    for failure in failures:
        print("FAIL:", failure)
    print(f"chaos day ({MODE}) {'passed' if not failures else 'FAILED'} in {elapsed:.0f} s")
    return 1 if failures else 0


def _deadline(_signum, _frame):
    raise SystemExit(
        f"chaos day ({MODE}) FAILED: over its {DEADLINE} s deadline"
    )  # `finally` stops the processes


if __name__ == "__main__":
    signal.signal(signal.SIGALRM, _deadline)
    signal.alarm(DEADLINE)
    sys.exit(main())
