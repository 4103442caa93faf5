#!/usr/bin/env python
"""Bulk data generator for the Custody benchmarks.

    createdb -h 127.0.0.1 -U postgres custody_bench
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/custody_bench .venv/bin/custody migrate
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/custody_bench \\
        .venv/bin/python bench/generate.py --custodies 100000

(`bench/run.sh` does all of this.) It writes, into whatever database Django is configured for:
branches, vehicle classes, special rate codes, vehicles (1 per 20 custodies, at least 500),
customers (1 per 5), rental agreements (1 per 2), bench users (an all-branches admin and, per
branch, an operator, a supervisor and a manager), then custodies spread over ~3 years with their
whole lifecycle simulated against "now" (so every status, reason, branch and SLA outcome appears),
approval levels, document metadata (no files), a closed custody's posted charges (the rental, some
damage and fuel lines, VAT 5 %) and the payments received for most of them weeks later (so the money
KPIs, balances and charge lists run at scale) and audit entries with a valid hash chain.

PostgreSQL: rows go in with COPY (psycopg `cursor.copy()`), one chunk per transaction; elsewhere
(SQLite) with bulk_create in batches. Custody numbers are CST-%07d in creation order and the
custody_no_seq sequence is moved past them, so custodies created later continue the series.
Ends with VACUUM ANALYZE (ANALYZE on SQLite).
"""

import argparse
import json
import math
import os
import queue
import random
import sys
import threading
import time
import uuid
from array import array
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from itertools import accumulate
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _setup import ADMIN_EMAIL, BENCH_PASSWORD, django_setup, operator_email  # noqa: E402

django_setup()

from django.contrib.auth.hashers import make_password  # noqa: E402
from django.db import connection, models, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.models import User  # noqa: E402
from approvals.models import Approval, ApprovalRule  # noqa: E402
from approvals.services import _matches as rule_matches  # noqa: E402
from audit.models import AuditEntry  # noqa: E402
from audit.services import _digest_v1 as audit_digest  # noqa: E402
from audit.services import _head as audit_head  # noqa: E402
from billing.models import Charge, Payment  # noqa: E402
from custodies.models import Counter, Custody, SlaPolicy  # noqa: E402
from documents.models import Document, DocumentRule  # noqa: E402
from fleet.models import Branch, Customer, RentalAgreement, SpecialRateCode, Vehicle, VehicleClass  # noqa: E402

IS_PG = connection.vendor == "postgresql"
DAY = 86400.0
HOUR = 3600.0

BRANCHES = [  # code, name, city, emirate plate code, weight
    ("DXB1", "Dubai Airport T1", "Dubai", "DXB", 14),
    ("DXB3", "Dubai Airport T3", "Dubai", "DXB", 12),
    ("DMR", "Dubai Marina", "Dubai", "DXB", 10),
    ("DRA", "Deira City Centre", "Dubai", "DXB", 9),
    ("BBY", "Business Bay", "Dubai", "DXB", 8),
    ("AUHA", "Abu Dhabi Airport", "Abu Dhabi", "AUH", 10),
    ("AUHC", "Abu Dhabi Corniche", "Abu Dhabi", "AUH", 8),
    ("AIN", "Al Ain", "Al Ain", "AUH", 5),
    ("SHJ", "Sharjah", "Sharjah", "SHJ", 9),
    ("AJM", "Ajman", "Ajman", "AJM", 5),
    ("RAK", "Ras Al Khaimah", "Ras Al Khaimah", "RAK", 6),
    ("FUJ", "Fujairah", "Fujairah", "FUJ", 4),
]
CLASSES = [  # code, name, daily, monthly, weight, models
    ("ECON", "Economy", 95, 1900, 22, [("Nissan", "Sunny"), ("Kia", "Pegas"), ("Hyundai", "Accent")]),
    ("COMP", "Compact", 120, 2400, 22, [("Toyota", "Corolla"), ("Hyundai", "Elantra"), ("Kia", "Cerato")]),
    ("MID", "Midsize", 160, 3200, 16, [("Toyota", "Camry"), ("Nissan", "Altima"), ("Honda", "Accord")]),
    ("SUV", "SUV", 220, 4400, 16, [("Toyota", "RAV4"), ("Nissan", "X-Trail"), ("Mitsubishi", "Outlander")]),
    ("LSUV", "Large SUV", 380, 7600, 8, [("Toyota", "Land Cruiser"), ("Nissan", "Patrol")]),
    ("LUX", "Luxury", 650, 13000, 5, [("Mercedes-Benz", "E 300"), ("BMW", "530i"), ("Lexus", "ES 350")]),
    ("VAN", "Van", 260, 5200, 6, [("Toyota", "Hiace"), ("Nissan", "Urvan")]),
    ("PICK", "Pickup", 200, 4000, 5, [("Toyota", "Hilux"), ("Mitsubishi", "L200")]),
]
SPECIAL_RATES = [
    ("INS-STD", "Insurance replacement, standard", "90.00"),
    ("INS-PREM", "Insurance replacement, premium", "180.00"),
    ("CORP-FLT", "Corporate fleet agreement", "110.00"),
    ("GOODWILL", "Goodwill gesture", "40.00"),
]
FIRST = [
    "Ahmed",
    "Mohammed",
    "Fatima",
    "Aisha",
    "Omar",
    "Khalid",
    "Mariam",
    "Sara",
    "Yousef",
    "Hamdan",
    "Noura",
    "Rashid",
    "Layla",
    "Ali",
    "Hassan",
    "Priya",
    "Rahul",
    "Anil",
    "Deepa",
    "Sanjay",
    "John",
    "Emma",
    "Oliver",
    "Sophie",
    "James",
    "Olga",
    "Ivan",
    "Chen",
    "Wei",
    "Maria",
    "Jose",
    "Ana",
    "Tariq",
    "Zainab",
    "Imran",
    "Ayesha",
    "Bilal",
    "Sofia",
    "Lucas",
    "Hiroshi",
    "Yuki",
    "Abdullah",
    "Salma",
    "Faisal",
    "Huda",
    "Vikram",
    "Kavya",
    "Daniel",
    "Grace",
    "Michael",
]
LAST = [
    "Al Mansoori",
    "Al Nuaimi",
    "Al Shamsi",
    "Al Hashimi",
    "Al Falasi",
    "Al Mazrouei",
    "Al Ketbi",
    "Al Suwaidi",
    "Khan",
    "Sharma",
    "Patel",
    "Nair",
    "Iyer",
    "Menon",
    "Smith",
    "Johnson",
    "Brown",
    "Taylor",
    "Wilson",
    "Petrov",
    "Ivanova",
    "Zhang",
    "Wang",
    "Garcia",
    "Fernandez",
    "Santos",
    "Haddad",
    "Khoury",
    "Nasser",
    "Saleh",
    "Rahman",
    "Hussain",
    "Qureshi",
    "Siddiqui",
    "Tanaka",
    "Sato",
    "Müller",
    "Schmidt",
    "Rossi",
    "Dubois",
    "Okafor",
    "Mensah",
    "Abdallah",
    "Farouk",
    "Mahmoud",
    "Yilmaz",
    "Kaya",
    "Novak",
    "Kowalski",
    "Andersson",
]
COMPANIES = [
    "Emirates Logistics",
    "Gulf Contracting",
    "Desert Rose Trading",
    "Palm Facilities",
    "Creek Shipping",
    "Oasis Hospitality",
    "Falcon Engineering",
    "Al Noor Medical",
    "Marina Events",
    "Horizon Consulting",
]
LOCATIONS = [
    "Sheikh Zayed Road",
    "Al Khail Road",
    "Emirates Road",
    "E311",
    "Airport Road",
    "Al Wasl Road",
    "Jumeirah Beach Road",
    "Hessa Street",
    "Corniche Road",
    "Al Ittihad Road",
    "Mall car park",
    "Customer home",
]
INSURERS = ["Oman Insurance", "AXA Gulf", "RSA", "Orient Insurance", "Salama", "ADNIC", "Dubai Insurance"]
REASONS = [("accident", 30), ("breakdown", 28), ("maintenance", 22), ("damage", 12), ("other", 8)]
SUBCODES = {
    "accident": ["collision_third_party", "collision_own_damage", "hit_and_run", "rollover", "fire"],
    "breakdown": [
        "engine_failure",
        "transmission_issue",
        "electrical_problem",
        "tire_blowout",
        "battery_dead",
    ],
    "maintenance": ["regular_service", "recall_campaign", "warranty_work", "inspection"],
    "damage": ["vandalism", "theft_attempted", "weather_damage", "interior_damage"],
    "other": ["customer_request", "upgrade", "downgrade"],
}
DURATION_MEDIAN_DAYS = {"accident": 7, "breakdown": 3, "maintenance": 2, "damage": 5, "other": 4}
LOCAL_HOUR_WEIGHTS = [1, 1, 1, 1, 1, 2, 4, 7, 10, 11, 11, 10, 9, 9, 10, 10, 10, 10, 9, 8, 6, 4, 3, 2]
VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"


def weighted_choice(items, weights) -> tuple[list, list]:
    """(items, cumulative weights) for Generator.pick: the cumulative sums are computed once."""
    return list(items), list(accumulate(weights))


REASON_CHOICE = weighted_choice([r for r, _ in REASONS], [w for _, w in REASONS])
CUSTODIAN_CHOICE = weighted_choice(["customer", "driver", "originator"], [80, 12, 8])
RATE_CHOICE = weighted_choice(["inherit", "prorate", "free", "special_code"], [58, 14, 18, 10])
VOID_CHOICE = weighted_choice(["draft", "pending", "approved", "active", None], [3, 2.5, 1.5, 1, 92])

# audit event kinds
(
    EV_CREATED,
    EV_SUBMITTED,
    EV_DECIDED_SUP,
    EV_DECIDED_MGR,
    EV_REJECTED_SUP,
    EV_REJECTED,
    EV_APPROVED,
    EV_AUTO_APPROVED,
    EV_HANDED_OVER,
    EV_CLOSED,
    EV_VOID_DRAFT,
    EV_VOID_PENDING,
    EV_VOID_APPROVED,
    EV_VOID_ACTIVE,
) = range(14)
EVENT_SPEC = {  # kind: action, object_type, from, to, actor role, message
    EV_CREATED: ("custody.created", "custody", None, "draft", "operator", ""),
    EV_SUBMITTED: ("custody.submitted", "custody", "draft", "pending_approval", "operator", ""),
    EV_DECIDED_SUP: ("approval.decided", "approval", "pending", "approved", "supervisor", ""),
    EV_DECIDED_MGR: ("approval.decided", "approval", "pending", "approved", "manager", ""),
    EV_REJECTED_SUP: (
        "approval.decided",
        "approval",
        "pending",
        "rejected",
        "supervisor",
        "Photos unreadable, please upload again",
    ),
    EV_REJECTED: (
        "custody.rejected",
        "custody",
        "pending_approval",
        "draft",
        "supervisor",
        "Photos unreadable, please upload again",
    ),
    EV_APPROVED: ("custody.approved", "custody", "pending_approval", "approved", "supervisor", ""),
    EV_AUTO_APPROVED: (
        "custody.approved",
        "custody",
        "pending_approval",
        "approved",
        "operator",
        "Approved automatically by rule",
    ),
    EV_HANDED_OVER: ("custody.handed_over", "custody", "approved", "active", "operator", ""),
    EV_CLOSED: ("custody.closed", "custody", "active", "closed", "operator", ""),
    EV_VOID_DRAFT: ("custody.voided", "custody", "draft", "voided", "operator", "Opened by mistake"),
    EV_VOID_PENDING: (
        "custody.voided",
        "custody",
        "pending_approval",
        "voided",
        "manager",
        "Customer no longer needs a replacement",
    ),
    EV_VOID_APPROVED: (
        "custody.voided",
        "custody",
        "approved",
        "voided",
        "manager",
        "Customer no longer needs a replacement",
    ),
    EV_VOID_ACTIVE: (
        "custody.voided",
        "custody",
        "active",
        "voided",
        "manager",
        "Recorded on the wrong agreement",
    ),
}


def out(*parts) -> None:
    print(*parts, flush=True)  # noqa: T201 - a command-line tool reports progress


# ---- writing ------------------------------------------------------------------------------------


class Table:
    """Rows for one model as lists in concrete-field order, written with COPY or bulk_create."""

    def __init__(self, model):
        self.model = model
        self.fields = list(model._meta.concrete_fields)
        self.columns = [f.column for f in self.fields]
        self.index = {f.attname: i for i, f in enumerate(self.fields)}
        self.json_positions = [i for i, f in enumerate(self.fields) if isinstance(f, models.JSONField)]
        self.defaults = [self._default(f) for f in self.fields]
        self.rows: list[list] = []
        self.written = 0
        self.seconds = 0.0

    @staticmethod
    def _default(field):
        if field.has_default():
            default = field.default
            if callable(default):
                return default() if default in (list, dict) else None
            return default
        if field.null:
            return None
        if isinstance(field, models.CharField | models.TextField):
            return ""
        return None

    def add(self, values: dict) -> None:
        row = self.defaults.copy()
        index = self.index
        for name, value in values.items():
            row[index[name]] = value
        self.rows.append(row)

    def take(self) -> list[list]:
        rows, self.rows = self.rows, []
        return rows

    def write(self, rows: list[list]) -> None:
        """COPY on PostgreSQL, bulk_create elsewhere; runs inside the caller's transaction."""
        if not rows:
            return
        started = time.perf_counter()
        if IS_PG:
            columns = ", ".join(f'"{c}"' for c in self.columns)
            sql = f'COPY "{self.model._meta.db_table}" ({columns}) FROM STDIN'
            positions = self.json_positions
            with connection.cursor() as cursor, cursor.cursor.copy(sql) as copy:
                for row in rows:
                    for position in positions:
                        row[position] = json.dumps(row[position])
                    copy.write_row(row)
        else:
            names = [f.attname for f in self.fields]
            objects = [self.model(**dict(zip(names, row, strict=True))) for row in rows]
            self.model.objects.bulk_create(objects, batch_size=500)
        self.written += len(rows)
        self.seconds += time.perf_counter() - started


class Sink:
    """Writes batches of (table, rows) in order, one transaction per batch.

    On PostgreSQL a background thread with its own connection does the COPYs, so generating rows
    (Python, one core) and loading them (the server, the other core) overlap.
    """

    def __init__(self):
        self.threaded = IS_PG
        self.error: BaseException | None = None
        if self.threaded:
            self.queue: queue.Queue = queue.Queue(maxsize=3)
            self.thread = threading.Thread(target=self._run, name="bench-writer", daemon=True)
            self.thread.start()

    def put(self, *tables: Table) -> None:
        batch = [(table, table.take()) for table in tables]
        if self.error is not None:
            raise RuntimeError("the writer thread failed") from self.error
        if self.threaded:
            self.queue.put(batch)
        else:
            self._write(batch)

    @staticmethod
    def _write(batch) -> None:
        with transaction.atomic():
            for table, rows in batch:
                table.write(rows)

    def _run(self) -> None:
        try:
            with connection.cursor() as cursor:
                cursor.execute("SET synchronous_commit TO off")
            while True:
                batch = self.queue.get()
                if batch is None:
                    return
                if self.error is None:
                    try:
                        self._write(batch)
                    except BaseException as exc:  # reported by put()/close() in the main thread
                        self.error = exc
        finally:
            connection.close()

    def close(self) -> None:
        if self.threaded:
            self.queue.put(None)
            self.thread.join()
        if self.error is not None:
            raise RuntimeError("the writer thread failed") from self.error


class Entry:
    """The attributes audit.services._digest reads, without a model instance per entry."""

    __slots__ = (
        "prev_hash",
        "at",
        "actor_email",
        "source",
        "action",
        "object_type",
        "object_id",
        "changes",
        "message",
    )


# ---- the generator ------------------------------------------------------------------------------


class Generator:
    def __init__(self, custodies: int, years: float, seed: int, chunk: int, drop_indexes: bool = True):
        self.n = custodies
        self.drop_indexes = drop_indexes
        self.years = years
        self.chunk = max(2, chunk - chunk % 2)
        self.rng = random.Random(seed)
        self.now = timezone.now().replace(microsecond=0)
        self.now_ts = self.now.timestamp()
        self.start_ts = self.now_ts - years * 365 * DAY
        self.stats: dict[str, float] = {}

    # -- helpers
    def uid(self) -> uuid.UUID:
        return uuid.UUID(int=self.rng.getrandbits(128), version=4)

    def pick(self, choice: tuple[list, list]):
        return self.rng.choices(choice[0], cum_weights=choice[1])[0]

    @staticmethod
    def dt(ts: float) -> datetime:
        return datetime.fromtimestamp(ts, UTC)

    def lognormal(self, median: float, sigma: float) -> float:
        return median * math.exp(self.rng.gauss(0, sigma))

    def person(self) -> str:
        return f"{self.rng.choice(FIRST)} {self.rng.choice(LAST)}"

    def phone(self) -> str:
        r = self.rng.randrange
        return f"+971 5{r(0, 9)} {r(100, 999)} {r(1000, 9999)}"

    # -- reference data
    def reference_data(self) -> None:
        started = time.perf_counter()
        rng = self.rng
        with transaction.atomic():
            self.branches = []
            for code, name, city, emirate, weight in BRANCHES:
                branch, _ = Branch.objects.get_or_create(code=code, defaults={"name": name, "city": city})
                self.branches.append(
                    {"id": branch.id, "code": code, "emirate": emirate, "weight": weight, "obj": branch}
                )
            self.branch_choice = weighted_choice(
                range(len(self.branches)), [b["weight"] for b in self.branches]
            )
            self.classes = []
            for code, name, daily, monthly, weight, makes in CLASSES:
                vclass, _ = VehicleClass.objects.get_or_create(
                    code=code,
                    defaults={"name": name, "daily_rate": Decimal(daily), "monthly_rate": Decimal(monthly)},
                )
                self.classes.append(
                    {
                        "id": vclass.id,
                        "daily": Decimal(daily),
                        "monthly": Decimal(monthly),
                        "weight": weight,
                        "makes": makes,
                    }
                )
            self.special_rates = []
            for code, description, rate in SPECIAL_RATES:
                special, _ = SpecialRateCode.objects.get_or_create(
                    code=code, defaults={"description": description, "daily_rate": Decimal(rate)}
                )
                self.special_rates.append(special.id)
            self.users = self._users()

        # Vehicles: 1 per 20 custodies (at least 500); per branch, 75 % rental fleet and 25 % a
        # replacement pool (replacements come from the pool, agreements from the fleet).
        n_vehicles = max(500, self.n // 20)
        vehicles = Table(Vehicle)
        self.vehicle_ids: list[uuid.UUID] = []
        self.vehicle_branch = array("b")
        self.vehicle_class = array("b")
        self.fleet_by_branch: list[list[int]] = [[] for _ in self.branches]
        self.pool_by_branch: list[list[int]] = [[] for _ in self.branches]
        class_choice = weighted_choice(range(len(self.classes)), [c["weight"] for c in self.classes])
        branch_indexes = list(range(len(self.branches)))
        created = self.dt(self.start_ts - 30 * DAY)
        for index in range(n_vehicles):
            b = self.pick(self.branch_choice)
            c = self.pick(class_choice)
            make, model = rng.choice(self.classes[c]["makes"])
            vid = self.uid()
            plate = f"{self.branches[b]['emirate']}-{chr(65 + index % 26)}-{10000 + index}"
            vin_head, value = [], index
            for _ in range(6):
                value, digit = divmod(value, 33)
                vin_head.append(VIN_ALPHABET[digit])
            vin = "JTD" + "".join(vin_head) + "".join(rng.choice(VIN_ALPHABET) for _ in range(8))
            vehicles.add(
                {
                    "id": vid,
                    "created_at": created,
                    "updated_at": created,
                    "plate": plate,
                    "vin": vin,
                    "make": make,
                    "model": model,
                    "year": rng.randint(2020, 2026),
                    "vehicle_class_id": self.classes[c]["id"],
                    "branch_id": self.branches[b]["id"],
                    "status": "available",
                    "odometer_km": rng.randint(3000, 160000),
                    "fuel_level": rng.randint(2, 8),
                    "registration_expiry": (self.now + timedelta(days=rng.randint(-20, 380))).date(),
                    "insurance_expiry": (self.now + timedelta(days=rng.randint(-20, 380))).date(),
                }
            )
            self.vehicle_ids.append(vid)
            self.vehicle_branch.append(b)
            self.vehicle_class.append(c)
            (self.pool_by_branch if rng.random() < 0.25 else self.fleet_by_branch)[b].append(index)
        for b in branch_indexes:  # every branch has both kinds
            if not self.pool_by_branch[b] and self.fleet_by_branch[b]:
                self.pool_by_branch[b].append(self.fleet_by_branch[b].pop())
            if not self.fleet_by_branch[b] and self.pool_by_branch[b]:
                self.fleet_by_branch[b].append(self.pool_by_branch[b][0])
        self.pool_all = [v for pool in self.pool_by_branch for v in pool]

        n_customers = max(100, self.n // 5)
        customers = Table(Customer)
        self.customer_ids: list[uuid.UUID] = []
        self.customer_names: list[str] = []
        for index in range(n_customers):
            cid = self.uid()
            company = rng.random() < 0.15
            name = (
                f"{rng.choice(COMPANIES)} {rng.choice(['LLC', 'FZE', 'FZCO', 'Group'])}"
                if company
                else self.person()
            )
            customers.add(
                {
                    "id": cid,
                    "created_at": self.dt(self.start_ts - rng.random() * 365 * DAY),
                    "updated_at": self.now,
                    "customer_no": f"C-{index + 1:07d}",
                    "kind": "company" if company else "person",
                    "full_name": name,
                    "email": f"customer{index + 1}@example.ae",
                    "phone": self.phone(),
                    "national_id": ""
                    if company
                    else f"784-{rng.randint(1960, 2004)}-{rng.randint(1000000, 9999999)}-{rng.randint(1, 9)}",
                    "driving_licence_no": "" if company else str(rng.randint(1000000, 9999999)),
                    "driving_licence_expiry": None
                    if company
                    else (self.now + timedelta(days=rng.randint(30, 3000))).date(),
                }
            )
            self.customer_ids.append(cid)
            self.customer_names.append(name)
        self.sink.put(vehicles, customers)
        self.reference_tables = {"vehicles": vehicles, "customers": customers}
        out(
            f"reference data: {len(self.branches)} branches, {len(self.classes)} classes, {n_vehicles:,} vehicles, "
            f"{n_customers:,} customers, {len(self.users['all'])} users in {time.perf_counter() - started:.1f}s"
        )

    def _users(self) -> dict:
        password = make_password(BENCH_PASSWORD)  # hashed once, shared by every bench user
        users = {"all": [], "by_branch": []}
        admin, _ = User.objects.get_or_create(
            email=ADMIN_EMAIL,
            defaults={
                "password": password,
                "role": "admin",
                "all_branches": True,
                "full_name": "Bench Admin",
            },
        )
        users["admin"] = (admin.id, admin.email)
        users["all"].append(admin)
        for branch in self.branches:
            per_role = {}
            for role, email in (
                ("operator", operator_email(branch["code"])),
                ("supervisor", f"bench-sup-{branch['code'].lower()}@bench.example"),
                ("manager", f"bench-mgr-{branch['code'].lower()}@bench.example"),
            ):
                user, created = User.objects.get_or_create(
                    email=email,
                    defaults={"password": password, "role": role, "full_name": f"{self.person()} ({role})"},
                )
                if created:
                    user.branches.add(branch["obj"])
                per_role[role] = (user.id, user.email)
                users["all"].append(user)
            users["by_branch"].append(per_role)
        return users

    # -- custodies
    def created_times(self) -> list[float]:
        """Creation times over the period: half uniform, half growing towards now, by local hour of day."""
        rng = self.rng
        span = self.now_ts - self.start_ts
        hours = list(range(24))
        result = []
        for _ in range(self.n):
            u = rng.random()
            age = u if rng.random() < 0.5 else 1 - math.sqrt(u)
            ts = self.now_ts - age * span
            local_day = math.floor((ts + 4 * HOUR) / DAY)
            hour = rng.choices(hours, weights=LOCAL_HOUR_WEIGHTS)[0]
            ts = local_day * DAY - 4 * HOUR + hour * HOUR + rng.random() * HOUR
            if ts > self.now_ts - 60:
                ts = self.now_ts - 60 - rng.random() * HOUR
            result.append(max(ts, self.start_ts))
        result.sort()
        return result

    def generate(self) -> None:
        dropped = drop_secondary_indexes() if IS_PG and self.drop_indexes else []
        try:
            self.sink = Sink()
            try:
                self._generate()
            finally:
                self.sink.close()
        finally:
            if dropped:
                started = time.perf_counter()
                recreate_indexes(dropped)
                self.stats["index_seconds"] = time.perf_counter() - started
                out(f"{len(dropped)} secondary indexes rebuilt in {self.stats['index_seconds']:.1f}s")
        for name, table in {**self.reference_tables, **self.tables, "audit": self.audit_table}.items():
            self.stats[name] = table.written
            self.stats[f"{name}_write_s"] = table.seconds
        self.finish_vehicles()
        self.finish_sequences()

    def _generate(self) -> None:
        self.reference_data()
        self.sla_hours = {
            p.reason_code: (
                float(p.approve_within_hours),
                float(p.handover_within_hours),
                float(p.close_within_hours),
            )
            for p in SlaPolicy.objects.filter(branch__isnull=True)
        }
        for reason, _ in REASONS:
            self.sla_hours.setdefault(reason, (2.0, 1.0, 24.0))
        self.rules = list(ApprovalRule.objects.filter(active=True).order_by("priority", "name"))
        self.submit_docs: dict[str, list[str]] = {}
        for rule in DocumentRule.objects.filter(active=True, stage="submit"):
            reasons = [rule.reason_code] if rule.reason_code else [r for r, _ in REASONS]
            for reason in reasons:
                self.submit_docs.setdefault(reason, []).append(rule.document_type)

        started = time.perf_counter()
        times = self.created_times()
        out(f"creation times sampled in {time.perf_counter() - started:.1f}s")

        self.custody_ids: list[uuid.UUID] = []
        self.custody_branch = array("b")
        self.approval_ids: list[uuid.UUID] = []
        self.ev_t = array("d")
        self.ev_c = array("i")
        self.ev_k = array("b")
        self.ev_x = array("i")
        self.holds: dict[int, list[tuple[float, float]]] = {}
        self.vehicle_final: dict[int, str] = {}
        self.status_counts: dict[str, int] = {}
        tables = {
            "agreements": Table(RentalAgreement),
            "custodies": Table(Custody),
            "approvals": Table(Approval),
            "documents": Table(Document),
            "charges": Table(Charge),
            "payments": Table(Payment),
        }
        self.tables = tables
        self.agreement_no = 0

        started = time.perf_counter()
        last_report = started
        for chunk_start in range(0, self.n, self.chunk):
            chunk_end = min(self.n, chunk_start + self.chunk)
            agreement = None
            for i in range(chunk_start, chunk_end):
                if i % 2 == 0:
                    agreement = self.make_agreement(times[i], times[i + 1] if i + 1 < self.n else times[i])
                self.make_custody(i, times[i], agreement)
            self.sink.put(*tables.values())
            now = time.perf_counter()
            if now - last_report > 10 or chunk_end == self.n:
                rate = chunk_end / (now - started)
                out(f"  custodies {chunk_end:>9,}/{self.n:,}  {rate:,.0f} custodies/s")
                last_report = now
        self.stats["custody_phase_seconds"] = time.perf_counter() - started
        self.write_audit()

    def make_agreement(self, first_ts: float, second_ts: float):
        """One rental agreement for two consecutive custodies (10 % of custodies have none)."""
        rng = self.rng
        if rng.random() < 0.1:
            return None
        b = self.pick(self.branch_choice)
        fleet = self.fleet_by_branch[b] or self.pool_by_branch[b]
        vehicle = rng.choice(fleet)
        vclass = self.classes[self.vehicle_class[vehicle]]
        customer = rng.randrange(len(self.customer_ids))
        start = first_ts - rng.uniform(1, 90) * DAY
        end = max(
            start + rng.choice([7, 14, 30, 30, 90, 180, 365]) * DAY, second_ts + rng.uniform(5, 60) * DAY
        )
        status = "active" if end > self.now_ts else ("terminated" if rng.random() < 0.05 else "completed")
        aid = self.uid()
        self.agreement_no += 1
        monthly = vclass["monthly"]
        daily = vclass["daily"]
        self.tables["agreements"].add(
            {
                "id": aid,
                "created_at": self.dt(start),
                "updated_at": self.dt(min(end, self.now_ts)),
                "agreement_no": f"RA-{self.agreement_no:07d}",
                "customer_id": self.customer_ids[customer],
                "vehicle_id": self.vehicle_ids[vehicle],
                "branch_id": self.branches[b]["id"],
                "start_at": self.dt(start),
                "end_at": self.dt(end),
                "daily_rate": daily,
                "monthly_rate": monthly,
                "deposit_amount": Decimal(rng.choice([500, 1000, 1500, 2000, 3000])),
                "status": status,
            }
        )
        if status == "active" and vehicle not in self.vehicle_final:
            self.vehicle_final[vehicle] = "rented"
        return {"id": aid, "branch": b, "vehicle": vehicle, "customer": customer, "daily": daily}

    def event(self, ts: float, custody: int, kind: int, extra: int = -1) -> None:
        self.ev_t.append(ts)
        self.ev_c.append(custody)
        self.ev_k.append(kind)
        self.ev_x.append(extra)

    def pick_replacement(self, b: int, original: int | None, hold: tuple[float, float] | None) -> int | None:
        rng = self.rng
        pool = self.pool_by_branch[b] or self.pool_all
        for attempt in range(30):
            candidates = pool if attempt < 20 else self.pool_all
            vehicle = rng.choice(candidates)
            if vehicle == original:
                continue
            if hold is None:
                return vehicle
            taken = self.holds.get(vehicle, [])
            if all(hold[1] <= start or end <= hold[0] for start, end in taken):
                taken.append(hold)
                self.holds[vehicle] = taken
                return vehicle
        return None

    def make_custody(self, i: int, created: float, agreement) -> None:  # noqa: C901 - one lifecycle, top to bottom
        rng = self.rng
        R = rng.random
        now_ts = self.now_ts
        cid = self.uid()
        self.custody_ids.append(cid)
        reason = self.pick(REASON_CHOICE)
        if agreement is not None:
            b, customer, original = agreement["branch"], agreement["customer"], agreement["vehicle"]
            daily = agreement["daily"]
        else:
            b = self.pick(self.branch_choice)
            customer = rng.randrange(len(self.customer_ids))
            fleet = self.fleet_by_branch[b] or self.pool_by_branch[b]
            original = rng.choice(fleet) if R() < 0.95 else None
            daily = (
                self.classes[self.vehicle_class[original]]["daily"]
                if original is not None
                else Decimal("120")
            )
        self.custody_branch.append(b)
        users = self.users["by_branch"][b]
        operator, supervisor, manager = users["operator"][0], users["supervisor"][0], users["manager"][0]

        custodian_type = self.pick(CUSTODIAN_CHOICE)
        custodian_name = self.customer_names[customer] if custodian_type == "customer" else self.person()
        incident = created - self.lognormal(3 * HOUR, 1.0) - (rng.uniform(0, 20) * DAY if R() < 0.03 else 0)
        effective = created + rng.uniform(0, 3 * HOUR)
        until_ready = R() < 0.1
        duration = min(120 * DAY, max(0.25 * DAY, self.lognormal(DURATION_MEDIAN_DAYS[reason] * DAY, 0.6)))
        expected_return = None if until_ready else effective + duration
        rate_policy = self.pick(RATE_CHOICE)
        hold = Decimal(rng.choice([500, 1000, 1500, 2500, 5000, 7500])) if R() < 0.15 else Decimal("0")
        deposit = Decimal(rng.choice([500, 1000, 2000])) if R() < 0.3 else Decimal("0")
        approve_h, handover_h, close_h = self.sla_hours[reason]

        values = {
            "id": cid,
            "custody_no": f"CST-{i + 1:07d}",
            "branch_id": self.branches[b]["id"],
            "agreement_id": agreement["id"] if agreement else None,
            "customer_id": self.customer_ids[customer],
            "custodian_type": custodian_type,
            "custodian_name": custodian_name,
            "custodian_phone": self.phone(),
            "custodian_email": f"custodian{i + 1}@example.ae" if R() < 0.7 else "",
            "original_vehicle_id": self.vehicle_ids[original] if original is not None else None,
            "reason_code": reason,
            "reason_subcode": rng.choice(SUBCODES[reason]) if R() < 0.95 else "",
            "incident_at": self.dt(incident),
            "incident_location": rng.choice(LOCATIONS),
            "incident_narrative": f"{reason.title()} reported by the customer at {rng.choice(LOCATIONS)}.",
            "incident_odometer_km": rng.randint(5000, 160000),
            "effective_from": self.dt(effective),
            "expected_return_at": self.dt(expected_return) if expected_return else None,
            "until_original_ready": until_ready,
            "rate_policy": rate_policy,
            "special_rate_code_id": rng.choice(self.special_rates) if rate_policy == "special_code" else None,
            "deposit_carryover": deposit,
            "damage_hold_amount": hold,
            "damage_hold_ref": f"HOLD-{rng.randint(100000, 999999)}" if hold else "",
            "tags": rng.choice([["vip"], ["corporate"], ["insurance"], ["repeat"]]) if R() < 0.06 else [],
            "created_at": self.dt(created),
            "created_by_id": operator,
        }
        if reason == "accident":
            if R() < 0.7:
                values["incident_ref"] = (
                    f"POL-{datetime.fromtimestamp(created, UTC).year}-{rng.randint(10000, 99999)}"
                )
            if R() < 0.6:
                values.update(
                    {
                        "insurer_name": rng.choice(INSURERS),
                        "insurance_policy_no": f"POL{rng.randint(10**7, 10**8)}",
                        "claim_no": f"CLM-{rng.randint(10**6, 10**7)}",
                        "claim_status": rng.choice(["open", "approved", "paid"]),
                        "insurer_authorization_no": f"AUTH-{rng.randint(10**5, 10**6)}",
                        "authorized_daily_rate_cap": Decimal(rng.choice([90, 120, 150, 200])),
                        "authorized_max_days": rng.choice([7, 10, 14, 21, 30]),
                    }
                )
        elif R() < 0.1:
            values["incident_ref"] = f"WS-{rng.randint(100000, 999999)}"

        # Lifecycle plan; the status is wherever the plan stands at "now".
        stall = (
            rng.randrange(5) if R() < 0.04 else -1
        )  # one step takes far longer (SLA breach, stuck custody)

        def delay(step: int, median: float, sigma: float = 0.8) -> float:
            value = self.lognormal(median, sigma)
            return value * rng.uniform(20, 200) if step == stall else value

        void_stage = self.pick(VOID_CHOICE)
        rejected = R() < 0.04
        fake = _RuleCustody(reason, self.branches[b]["code"], custodian_type, rate_policy, hold)
        rule = next((r for r in self.rules if rule_matches(r, fake, daily)), None)
        auto = bool(rule and rule.auto_approve)
        levels = [lvl["role"] for lvl in (rule.levels or [])] if rule else ["supervisor"]
        if not levels and not auto:
            levels = ["supervisor"]
        rule_name = rule.name if rule else ""

        status = "draft"
        version = 1
        last_ts = created
        t_submit = created + delay(0, 25 * 60)
        events = [(created, EV_CREATED, -1)]
        approvals_rows = []
        documents = []
        billing = None  # (custody, days, daily rate, policy, closed at, user) once closed
        submit_types = list(self.submit_docs.get(reason, []))
        if reason == "accident" and R() < 0.75:
            submit_types.append("police_report")
        if values.get("insurer_name"):
            submit_types.append("insurance_docs")
        for document_type in submit_types:
            documents.append((document_type, created + rng.uniform(60, max(120, t_submit - created))))
        replacement_needed = reason in ("accident", "breakdown", "damage") or R() < 0.75

        def void(at: float, kind: int, by: str):
            nonlocal status, version, last_ts
            status = "voided"
            version += 1
            last_ts = at
            values.update({"voided_at": self.dt(at), "voided_by_id": by, "void_reason": EVENT_SPEC[kind][5]})
            events.append((at, kind, -1))

        if void_stage == "draft" and created + 2 * HOUR <= now_ts and R() < 0.9:
            void(min(now_ts - 60, created + rng.uniform(0.2, 48) * HOUR), EV_VOID_DRAFT, operator)
        elif t_submit <= now_ts:
            status, version, last_ts = "pending_approval", version + 1, t_submit
            values.update(
                {"submitted_at": self.dt(t_submit), "submitted_by_id": operator, "submission_round": 1}
            )
            events.append((t_submit, EV_SUBMITTED, -1))
            round_no = 1
            due = t_submit + approve_h * HOUR
            if rejected and not auto:
                t_reject = t_submit + delay(1, approve_h * 0.35 * HOUR)
                if t_reject <= now_ts:
                    aid = self.uid()
                    approvals_rows.append(
                        {
                            "id": aid,
                            "round": 1,
                            "level": 1,
                            "role": levels[0],
                            "status": "rejected",
                            "decided_by_id": supervisor,
                            "decided_at": self.dt(t_reject),
                            "notes": EVENT_SPEC[EV_REJECTED][5],
                            "due_at": self.dt(due),
                            "created_at": self.dt(t_submit),
                            "rule_name": rule_name,
                        }
                    )
                    self.approval_ids.append(aid)
                    events.append((t_reject, EV_REJECTED_SUP, len(self.approval_ids) - 1))
                    for level_no, role in enumerate(levels[1:], start=2):
                        approvals_rows.append(
                            {
                                "id": self.uid(),
                                "round": 1,
                                "level": level_no,
                                "role": role,
                                "status": "skipped",
                                "created_at": self.dt(t_submit),
                                "rule_name": rule_name,
                            }
                        )
                    events.append((t_reject, EV_REJECTED, -1))
                    values["last_reject_reason"] = EVENT_SPEC[EV_REJECTED][5]
                    status, version = "draft", version + 1
                    t_resubmit = t_reject + self.lognormal(2 * HOUR, 0.7)
                    if t_resubmit <= now_ts:
                        status, version, last_ts = "pending_approval", version + 1, t_resubmit
                        round_no = 2
                        t_submit = t_resubmit
                        due = t_submit + approve_h * HOUR
                        values.update({"submitted_at": self.dt(t_submit), "submission_round": 2})
                        events.append((t_submit, EV_SUBMITTED, -1))
                    else:
                        last_ts = t_reject
                        values["sla_approve_due_at"] = None
                else:
                    round_no = 1
            if status == "pending_approval":
                values["sla_approve_due_at"] = self.dt(due)
                t_approved = t_submit + (rng.uniform(1, 20) if auto else delay(1, approve_h * 0.35 * HOUR))
                t_void = None
                if void_stage == "pending" and not auto:
                    t_void = t_submit + rng.uniform(0.1, 1.0) * (t_approved - t_submit)
                    if t_void > now_ts:
                        t_void = None
                if auto:
                    approvals_rows.append(
                        {
                            "id": self.uid(),
                            "round": round_no,
                            "level": 1,
                            "role": "system",
                            "status": "approved",
                            "decided_at": self.dt(t_approved),
                            "notes": f"Approved automatically: {rule_name}",
                            "created_at": self.dt(t_submit),
                            "rule_name": rule_name,
                        }
                    )
                else:
                    # levels decided one after the other between submission and final approval
                    decisions = [
                        t_submit + (t_approved - t_submit) * (k + 1) / len(levels) for k in range(len(levels))
                    ]
                    open_seen = False
                    for level_no, (role, decided) in enumerate(zip(levels, decisions, strict=True), start=1):
                        aid = self.uid()
                        level_due = due if level_no == 1 else decisions[level_no - 2] + 4 * HOUR
                        row = {
                            "id": aid,
                            "round": round_no,
                            "level": level_no,
                            "role": role,
                            "created_at": self.dt(t_submit),
                            "rule_name": rule_name,
                        }
                        cutoff = min(now_ts, t_void) if t_void else now_ts
                        if decided <= cutoff and not open_seen:
                            decider = manager if role == "manager" else supervisor
                            row.update(
                                {
                                    "status": "approved",
                                    "decided_by_id": decider,
                                    "decided_at": self.dt(decided),
                                    "due_at": self.dt(level_due),
                                }
                            )
                            self.approval_ids.append(aid)
                            events.append(
                                (
                                    decided,
                                    EV_DECIDED_MGR if role == "manager" else EV_DECIDED_SUP,
                                    len(self.approval_ids) - 1,
                                )
                            )
                            if level_no < len(levels):
                                version += 1
                        elif t_void is not None:
                            row["status"] = "skipped"
                        elif not open_seen:
                            open_seen = True
                            row["due_at"] = self.dt(level_due)
                            if level_due < now_ts - 300:
                                row.update({"status": "escalated", "escalated_at": self.dt(level_due + 300)})
                        approvals_rows.append(row)
                if t_void is not None:
                    void(t_void, EV_VOID_PENDING, manager)
                elif t_approved <= now_ts:
                    status, version, last_ts = "approved", version + 1, t_approved
                    values.update(
                        {"approved_at": self.dt(t_approved), "sla_approve_met_at": self.dt(t_approved)}
                    )
                    if t_approved > due:
                        values["sla_approve_breached_at"] = self.dt(due)
                    events.append((t_approved, EV_AUTO_APPROVED if auto else EV_APPROVED, -1))
                    handover_due = t_approved + handover_h * HOUR
                    values["sla_handover_due_at"] = self.dt(handover_due)
                    t_handover = t_approved + delay(2, handover_h * 0.4 * HOUR)
                    t_void = (
                        t_approved + rng.uniform(0.1, 1.0) * (t_handover - t_approved)
                        if void_stage == "approved"
                        else None
                    )
                    if t_void is not None and t_void <= now_ts:
                        void(t_void, EV_VOID_APPROVED, manager)
                    elif t_handover <= now_ts:
                        status, version, last_ts = "active", version + 1, t_handover
                        odometer = rng.randint(3000, 150000)
                        values.update(
                            {
                                "handed_over_at": self.dt(t_handover),
                                "handed_over_by_id": operator,
                                "sla_handover_met_at": self.dt(t_handover),
                                "handover_odometer_km": odometer,
                                "handover_fuel_level": rng.randint(4, 8),
                                "handover_notes": "Scratch on rear bumper noted." if R() < 0.1 else "",
                            }
                        )
                        if t_handover > handover_due:
                            values["sla_handover_breached_at"] = self.dt(handover_due)
                        events.append((t_handover, EV_HANDED_OVER, -1))
                        documents.append(("handover_checklist", t_handover - rng.uniform(60, 600)))
                        ready = None
                        if until_ready:
                            ready = effective + duration
                        end_basis = ready if until_ready else expected_return
                        returned = max(t_handover + HOUR, end_basis + rng.gauss(0.2, 0.6) * DAY)
                        if stall == 3:
                            returned += rng.uniform(5, 40) * DAY
                        close_start = (
                            ready
                            if (ready is not None and ready <= now_ts)
                            else (expected_return if expected_return is not None else None)
                        )
                        close_due = close_start + close_h * HOUR if close_start is not None else None
                        if ready is not None and ready <= now_ts:
                            values["original_ready_at"] = self.dt(ready)
                        values["sla_close_due_at"] = self.dt(close_due) if close_due else None
                        t_closed = returned + delay(4, close_h * 0.3 * HOUR)
                        t_void = (
                            t_handover + rng.uniform(0.1, 0.9) * (returned - t_handover)
                            if void_stage == "active"
                            else None
                        )
                        if t_void is not None and t_void <= now_ts:
                            void(t_void, EV_VOID_ACTIVE, manager)
                        elif t_closed <= now_ts:
                            status, version, last_ts = "closed", version + 1, t_closed
                            days = max(1, (returned - t_handover) / DAY)
                            values.update(
                                {
                                    "returned_at": self.dt(returned),
                                    "closed_at": self.dt(t_closed),
                                    "closed_by_id": operator,
                                    "sla_close_met_at": self.dt(t_closed),
                                    "return_odometer_km": odometer + int(days * rng.uniform(40, 260)),
                                    "return_fuel_level": rng.randint(0, 8),
                                    "return_notes": "Returned clean." if R() < 0.2 else "",
                                    "original_critical_problem": R() < 0.02,
                                    "reserved_until": self.dt(returned),
                                }
                            )
                            if "original_ready_at" not in values and R() < 0.7:
                                values["original_ready_at"] = self.dt(returned)
                            if close_due is None:
                                close_due = returned + close_h * HOUR
                                values["sla_close_due_at"] = self.dt(close_due)
                            if t_closed > close_due:
                                values["sla_close_breached_at"] = self.dt(close_due)
                            events.append((t_closed, EV_CLOSED, -1))
                            documents.append(("return_checklist", returned + rng.uniform(60, 1800)))
                            billing = (cid, days, daily, rate_policy, t_closed, operator)
                        elif close_due is not None and close_due < now_ts - 300:
                            values["sla_close_breached_at"] = self.dt(close_due)
                    elif handover_due < now_ts - 300:
                        values["sla_handover_breached_at"] = self.dt(handover_due)
                elif due < now_ts - 300:
                    values["sla_approve_breached_at"] = self.dt(due)
        # Reservation period and the replacement vehicle.
        reached_approval = "approved_at" in values
        if reached_approval:
            values["reserved_from"] = self.dt(
                effective
                if "handed_over_at" not in values
                else min(effective, values["handed_over_at"].timestamp())
            )
            if "reserved_until" not in values:
                values["reserved_until"] = None if until_ready else self.dt(expected_return)
        replacement = None
        if replacement_needed:
            if status in ("approved", "active"):
                start = values["reserved_from"].timestamp()
                until = values["reserved_until"].timestamp() if values["reserved_until"] else float("inf")
                replacement = self.pick_replacement(b, original, (start, until))
                if replacement is not None:
                    self.vehicle_final[replacement] = "reserved" if status == "approved" else "rented"
            else:
                replacement = self.pick_replacement(b, original, None)
        values["replacement_vehicle_id"] = self.vehicle_ids[replacement] if replacement is not None else None
        if status == "active" and original is not None:
            self.vehicle_final[original] = "out_of_service" if R() < 0.05 else "in_custody"

        values.update({"status": status, "version": version, "updated_at": self.dt(last_ts)})
        self.tables["custodies"].add(values)
        self.status_counts[status] = self.status_counts.get(status, 0) + 1

        for row in approvals_rows:
            row["custody_id"] = cid
            self.tables["approvals"].add(row)
        documents_table = self.tables["documents"]
        for document_type, at in documents:
            size = rng.randint(40_000, 4_000_000)
            documents_table.add(
                {
                    "id": self.uid(),
                    "custody_id": cid,
                    "document_type": document_type,
                    "file": f"documents/{cid}/{rng.getrandbits(128):032x}",
                    "file_name": f"{document_type}.pdf",
                    "size": size,
                    "content_type": "application/pdf" if document_type != "photos" else "image/jpeg",
                    "sha256": f"{rng.getrandbits(256):064x}",
                    "uploaded_by_id": operator,
                    "uploaded_at": self.dt(min(at, now_ts - 1)),
                    "expires_on": (self.now + timedelta(days=rng.randint(-30, 365))).date()
                    if document_type == "insurance_docs"
                    else None,
                }
            )
        for at, kind, extra in events:
            self.event(at, i, kind, extra)
        if billing is not None:
            self.bill(*billing)

    # Who pays a closed custody's replacement rental (the money KPIs, charges and balances at scale).
    PAYER = weighted_choice(["customer", "insurance", "company", "third_party"], [45, 35, 15, 5])
    METHOD = {
        "customer": "card",
        "insurance": "insurance_settlement",
        "company": "bank_transfer",
        "third_party": "bank_transfer",
    }

    def bill(self, cid, days: float, daily, rate_policy: str, closed: float, user) -> None:
        """A closed custody's posted lines (the rental, sometimes damage or fuel) and the payments
        received for most of them, some weeks later; VAT 5 %, amounts as the services round them."""
        rng, R = self.rng, self.rng.random
        payer = self.pick(self.PAYER)
        rate = Decimal(daily or rng.choice([120, 150, 180, 220, 300])).quantize(Decimal("0.01"))
        lines = [("replacement_rental", Decimal(max(1, round(days))), rate, payer)]
        if rate_policy == "free":
            lines[0] = ("replacement_rental", lines[0][1], Decimal("0.00"), "company")
        if R() < 0.12:
            lines.append(("damage", Decimal(1), Decimal(rng.choice([350, 800, 1500, 4200])), payer))
        if R() < 0.2:
            lines.append(("fuel", Decimal(1), Decimal(rng.choice([45, 90, 135])), "customer"))
        paid_at = closed + self.lognormal(6 * DAY, 1.0)
        paid = paid_at <= self.now_ts and R() < 0.85
        charges = self.tables["charges"]
        owed: dict[str, Decimal] = {}
        for charge_type, quantity, unit_price, who in lines:
            subtotal = (quantity * unit_price).quantize(Decimal("0.01"))
            tax = (subtotal * Decimal("0.05")).quantize(Decimal("0.01"))
            total = subtotal + tax
            settled = paid and total > 0
            charges.add(
                {
                    "id": self.uid(),
                    "custody_id": cid,
                    "charge_type": charge_type,
                    "description": charge_type.replace("_", " ").capitalize(),
                    "quantity": quantity,
                    "unit_price": unit_price,
                    "tax_rate": Decimal("5.00"),
                    "subtotal": subtotal,
                    "tax_amount": tax,
                    "total": total,
                    "amount_paid": total if settled else Decimal("0.00"),
                    "responsibility": who,
                    "status": "paid" if settled else "posted",
                    "created_by_id": user,
                    "created_at": self.dt(closed - 60),
                    "posted_by_id": user,
                    "posted_at": self.dt(closed),
                    "paid_at": self.dt(paid_at) if settled else None,
                    "updated_at": self.dt(paid_at if settled else closed),
                }
            )
            owed[who] = owed.get(who, Decimal("0.00")) + total
        if not paid:
            return
        for who, amount in owed.items():
            if amount > 0:
                self.tables["payments"].add(
                    {
                        "id": self.uid(),
                        "custody_id": cid,
                        "amount": amount,
                        "method": self.METHOD[who],
                        "payer": who,
                        "reference": f"PAY-{rng.getrandbits(40):010x}",
                        "received_at": self.dt(paid_at),
                        "recorded_by_id": user,
                        "created_at": self.dt(paid_at),
                    }
                )

    # -- audit
    def write_audit(self) -> None:
        started = time.perf_counter()
        count = len(self.ev_t)
        order = sorted(range(count), key=self.ev_t.__getitem__)
        out(f"audit: {count:,} entries sorted in {time.perf_counter() - started:.1f}s")
        last = AuditEntry.objects.order_by("-id").values_list("id", flat=True).first()
        next_id = (last or 0) + 1
        # Generated history is written in hash format 1 (chained here, cheap at a million rows) after
        # the last linked entry; the live app links its own entries in format 2 after them.
        head = audit_head()
        seq, prev = head
        table = self.audit_table = Table(AuditEntry)
        by_branch = self.users["by_branch"]
        entry = Entry()
        sources = ["web"] * 4 + ["api"]
        rng = self.rng
        for position, k in enumerate(order):
            ts, c, kind, extra = self.ev_t[k], self.ev_c[k], self.ev_k[k], self.ev_x[k]
            action, object_type, before, after, role, message = EVENT_SPEC[kind]
            actor_id, actor_email = by_branch[self.custody_branch[c]][role]
            custody_id = self.custody_ids[c]
            if object_type == "approval":
                object_id, object_repr = str(self.approval_ids[extra]), f"{custody_id} {after}"
                changes = {"status": [before, after], "level": [None, 2 if kind == EV_DECIDED_MGR else 1]}
            else:
                object_id, object_repr = str(custody_id), f"CST-{c + 1:07d}"
                changes = {"status": [before, after]}
            entry.prev_hash = prev
            entry.at = self.dt(ts)
            entry.actor_email = actor_email
            entry.source = rng.choice(sources)
            entry.action = action
            entry.object_type = object_type
            entry.object_id = object_id
            entry.changes = changes
            entry.message = message
            digest = audit_digest(entry)
            table.add(
                {
                    "id": next_id,
                    "at": entry.at,
                    "actor_id": actor_id,
                    "actor_email": actor_email,
                    "source": entry.source,
                    "request_id": str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                    "action": action,
                    "object_type": object_type,
                    "object_id": object_id,
                    "object_repr": object_repr,
                    "custody_id": custody_id,
                    "changes": changes,
                    "message": message,
                    "prev_hash": prev,
                    "entry_hash": digest,
                    "hash_version": 1,
                    "chain_seq": seq + position + 1,
                }
            )
            prev = digest
            next_id += 1
            if len(table.rows) >= 50_000 or position == count - 1:
                self.sink.put(table)
        self.last_audit_id = next_id - 1
        self.stats["audit_seconds"] = time.perf_counter() - started
        out(f"audit: {count:,} entries generated in {self.stats['audit_seconds']:.1f}s")

    def finish_vehicles(self) -> None:
        """Vehicle statuses that agree with the custodies: held replacements, originals in custody."""
        rng = self.rng
        final = dict(self.vehicle_final)
        for index in range(len(self.vehicle_ids)):
            if index not in final and rng.random() < 0.04:
                final[index] = rng.choice(["maintenance", "maintenance", "out_of_service"])
        by_status: dict[str, list] = {}
        for index, status in final.items():
            by_status.setdefault(status, []).append(self.vehicle_ids[index])
        with transaction.atomic():
            for status, ids in by_status.items():
                for start in range(0, len(ids), 5000):
                    Vehicle.objects.filter(pk__in=ids[start : start + 5000]).update(status=status)

    def finish_sequences(self) -> None:
        if IS_PG:
            with connection.cursor() as cursor:
                cursor.execute("SELECT setval('custody_no_seq', %s)", [self.n])
                cursor.execute(
                    "SELECT setval(pg_get_serial_sequence('audit_auditentry', 'id'), %s)",
                    [self.last_audit_id],
                )
        else:
            Counter.objects.update_or_create(name="custody_no", defaults={"value": self.n})


class _RuleCustody:
    """What approvals.services._matches reads from a custody."""

    __slots__ = ("reason_code", "branch", "custodian_type", "rate_policy", "damage_hold_amount")

    class _Branch:
        __slots__ = ("code",)

        def __init__(self, code):
            self.code = code

    def __init__(self, reason, branch_code, custodian_type, rate_policy, hold):
        self.reason_code = reason
        self.branch = self._Branch(branch_code)
        self.custodian_type = custodian_type
        self.rate_policy = rate_policy
        self.damage_hold_amount = hold


BULK_TABLES = [
    "custodies_custody",
    "approvals_approval",
    "documents_document",
    "billing_charge",
    "billing_payment",
    "audit_auditentry",
    "fleet_rentalagreement",
]


def drop_secondary_indexes() -> list[tuple[str, list[str]]]:
    """Drop the plain indexes of the bulk tables (not those behind primary key, unique or exclusion
    constraints) so COPY does not maintain them row by row; returns (name, statements) to rebuild
    each: its definition and the statistics targets a migration set on its columns."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT ci.relname, pg_get_indexdef(i.indexrelid),
                      ARRAY(SELECT format('ALTER INDEX %%I ALTER COLUMN %%s SET STATISTICS %%s',
                                          ci.relname, a.attnum, a.attstattarget)
                            FROM pg_attribute a
                            WHERE a.attrelid = i.indexrelid AND a.attstattarget >= 0)
               FROM pg_index i
               JOIN pg_class ci ON ci.oid = i.indexrelid
               JOIN pg_class ct ON ct.oid = i.indrelid
               WHERE ct.relname = ANY(%s) AND ct.relnamespace = 'public'::regnamespace
                 AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
               ORDER BY ct.relname, ci.relname""",
            [BULK_TABLES],
        )
        indexes = [(name, [definition, *targets]) for name, definition, targets in cursor.fetchall()]
        for name, _statements in indexes:
            cursor.execute(f'DROP INDEX "{name}"')
    out(f"{len(indexes)} secondary indexes dropped for the load (rebuilt at the end)")
    return indexes


def recreate_indexes(indexes: list[tuple[str, list[str]]]) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem TO '512MB'")
        for _name, statements in indexes:
            for statement in statements:
                cursor.execute(statement)


def analyze() -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        if IS_PG:
            for table in (
                "custodies_custody",
                "approvals_approval",
                "documents_document",
                "billing_charge",
                "billing_payment",
                "audit_auditentry",
                "fleet_vehicle",
                "fleet_customer",
                "fleet_rentalagreement",
            ):
                cursor.execute(f"VACUUM (ANALYZE) {table}")
        else:
            cursor.execute("ANALYZE")
    return time.perf_counter() - started


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--custodies", type=int, default=100_000)
    parser.add_argument("--years", type=float, default=3.0)
    parser.add_argument("--seed", type=int, default=20260101)
    parser.add_argument("--chunk", type=int, default=10_000, help="custodies per transaction")
    parser.add_argument(
        "--keep-indexes",
        action="store_true",
        help="PostgreSQL: keep secondary indexes during the load (slower)",
    )
    parser.add_argument(
        "--verify-audit", action="store_true", help="verify the whole audit hash chain afterwards"
    )
    args = parser.parse_args(argv)
    if args.custodies < 2:
        parser.error("--custodies must be at least 2")
    existing = Custody.objects.count()
    if existing:
        out(
            f"The database already holds {existing:,} custodies; generate into a fresh database "
            f"(bench/run.sh creates one)."
        )
        return 2
    db = connection.settings_dict
    out(
        f"generating {args.custodies:,} custodies into {connection.vendor} "
        f"{db.get('HOST') or ''}{':' if db.get('PORT') else ''}{db.get('PORT') or ''}/{Path(str(db['NAME'])).name}"
    )
    if IS_PG:
        with connection.cursor() as cursor:
            cursor.execute("SET synchronous_commit TO off")
    started = time.perf_counter()
    generator = Generator(
        args.custodies, args.years, args.seed, args.chunk, drop_indexes=not args.keep_indexes
    )
    generator.generate()
    load_seconds = time.perf_counter() - started
    analyze_seconds = analyze()
    total = time.perf_counter() - started
    stats = generator.stats
    rows = sum(
        int(stats.get(k, 0))
        for k in (
            "vehicles",
            "customers",
            "agreements",
            "custodies",
            "approvals",
            "documents",
            "charges",
            "payments",
            "audit",
        )
    )
    out("")
    out("| table | rows |")
    out("|---|---:|")
    for name in (
        "custodies",
        "agreements",
        "customers",
        "vehicles",
        "approvals",
        "documents",
        "charges",
        "payments",
        "audit",
    ):
        out(f"| {name} | {int(stats.get(name, 0)):,} |")
    out("")
    out("writer seconds: " + ", ".join(f"{k} {v:.1f}" for k, v in stats.items() if k.endswith("_write_s")))
    out("custody statuses: " + ", ".join(f"{k} {v:,}" for k, v in sorted(generator.status_counts.items())))
    out(
        f"loaded {rows:,} rows in {load_seconds:.1f}s = {rows / load_seconds:,.0f} rows/s "
        f"({args.custodies / load_seconds:,.0f} custodies/s with everything attached); "
        f"custody phase {stats['custody_phase_seconds']:.1f}s, audit {stats['audit_seconds']:.1f}s; "
        f"{'VACUUM ANALYZE' if IS_PG else 'ANALYZE'} {analyze_seconds:.1f}s; total {total:.1f}s; "
        f"generator CPU {time.process_time():.0f}s; load average {' / '.join(f'{x:.1f}' for x in os.getloadavg())}"
    )
    if args.verify_audit:
        from audit.services import verify_chain

        verify_started = time.perf_counter()
        broken = verify_chain()
        out(
            f"audit chain: {'intact' if not broken else f'{len(broken)} broken entries'} "
            f"(verified in {time.perf_counter() - verify_started:.1f}s)"
        )
        if broken:
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
