"""The demo data set behind `custody demo-data`: a small UAE rental company ready to click through.

`build_plan()` is pure (seeded random, relative to the given moment) so the same day always gives
the same data; `load()` writes it in one transaction and creates one demo user per role.
Reference data is written with the plain ORM (it is seed data, not a user's change); the users
go through accounts.services so they are validated and audited like any other account, and the
demo custodies (ops/demo_custodies.py) through the custody services, as the demo users.
"""

import logging
import random
import string
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from itertools import zip_longest
from zoneinfo import ZoneInfo

from django.contrib.auth.hashers import check_password
from django.db import transaction
from django.utils import timezone

from accounts import services as account_services
from accounts.choices import Role
from accounts.models import User
from audit.context import acting_as
from fleet import services as fleet_services
from fleet.choices import AgreementStatus, CustomerKind, VehicleStatus
from fleet.models import Branch, Customer, RentalAgreement, SpecialRateCode, TaxProfile, Vehicle, VehicleClass

SEED = 971  # the UAE's calling code; any constant keeps the data reproducible
DEMO_DOMAIN = "demo.custody.local"
# Published on purpose (README, `make run`): demo users are for trying the product, never production.
DEMO_PASSWORD = "Falcon-Dunes-2025"
DUBAI = ZoneInfo("Asia/Dubai")
logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class DemoUser:
    role: str
    full_name: str
    branch_codes: tuple[str, ...] = ()
    all_branches: bool = False

    @property
    def email(self) -> str:
        return f"{self.role}@{DEMO_DOMAIN}"

    @property
    def branches_label(self) -> str:
        return "all" if self.all_branches else ", ".join(self.branch_codes)


# The viewer works at the airport only, to show branch scoping; the others see every branch so
# each can act on every demo custody (and the submitter and approver are never the same person).
DEMO_USERS = [
    DemoUser(Role.VIEWER, "Layla Al Mazrouei", ("DXB",)),
    DemoUser(Role.OPERATOR, "Omar Al Falasi", all_branches=True),
    DemoUser(Role.SUPERVISOR, "Aisha Al Ketbi", all_branches=True),
    DemoUser(Role.MANAGER, "Khalid Al Nuaimi", all_branches=True),
    DemoUser(Role.FINANCE, "Noura Al Shamsi", all_branches=True),
    DemoUser(Role.ADMIN, "Saeed Al Marri", all_branches=True),
]

# code, name, city; `plate` is the emirate code on the branch's number plates; `fleet` its cars by
# status. Every rented car has an active agreement; the demo custodies (ops/demo_custodies.py) then move
# some cars on through the real services: originals into custody, replacements reserved or rented.
BRANCHES = [
    {
        "code": "DXB",
        "name": "Dubai International Airport T3",
        "city": "Dubai",
        "plate": "DXB",
        "fleet": {"rented": 12, "available": 5, "maintenance": 2, "out_of_service": 1},
    },
    {
        "code": "DXM",
        "name": "Dubai Marina",
        "city": "Dubai",
        "plate": "DXB",
        "fleet": {"rented": 9, "available": 5, "maintenance": 2, "out_of_service": 1},
    },
    {
        "code": "AUH",
        "name": "Abu Dhabi Corniche",
        "city": "Abu Dhabi",
        "plate": "AUH",
        "fleet": {"rented": 10, "available": 5, "maintenance": 1, "out_of_service": 1},
    },
    {
        "code": "SHJ",
        "name": "Sharjah Al Nahda",
        "city": "Sharjah",
        "plate": "SHJ",
        "fleet": {"rented": 7, "available": 5, "maintenance": 1, "out_of_service": 1},
    },
]

# code, name, daily and monthly rate (AED), deposit on an agreement, share of the fleet.
VEHICLE_CLASSES = [
    {
        "code": "ECON",
        "name": "Economy",
        "daily": "99.00",
        "monthly": "1950.00",
        "deposit": "1000.00",
        "count": 13,
    },
    {
        "code": "COMP",
        "name": "Compact",
        "daily": "129.00",
        "monthly": "2500.00",
        "deposit": "1000.00",
        "count": 15,
    },
    {
        "code": "MID",
        "name": "Midsize sedan",
        "daily": "169.00",
        "monthly": "3300.00",
        "deposit": "1500.00",
        "count": 13,
    },
    {
        "code": "SUV-M",
        "name": "Medium SUV",
        "daily": "219.00",
        "monthly": "4200.00",
        "deposit": "2000.00",
        "count": 13,
    },
    {
        "code": "SUV-L",
        "name": "Large SUV",
        "daily": "399.00",
        "monthly": "7900.00",
        "deposit": "3000.00",
        "count": 8,
    },
    {
        "code": "LUX",
        "name": "Luxury",
        "daily": "649.00",
        "monthly": "12900.00",
        "deposit": "5000.00",
        "count": 6,
    },
]

# make, model, WMI (maker code, VIN positions 1-3), VDS (model descriptor, positions 4-8).
CATALOGUE = {
    "ECON": [
        ("Nissan", "Sunny", "JN1", "BN7AP"),
        ("Kia", "Pegas", "KNA", "B2512"),
        ("Hyundai", "Accent", "KMH", "C4A4A"),
        ("Mitsubishi", "Attrage", "ML3", "2AGBA"),
        ("Toyota", "Yaris", "MR2", "B3BF1"),
    ],
    "COMP": [
        ("Toyota", "Corolla", "JTD", "B4MEE"),
        ("Kia", "Cerato", "KNA", "F4112"),
        ("Hyundai", "Elantra", "KMH", "L341A"),
        ("Nissan", "Sentra", "3N1", "AB8CV"),
    ],
    "MID": [
        ("Toyota", "Camry", "4T1", "B11HK"),
        ("Nissan", "Altima", "1N4", "BL4DV"),
        ("Kia", "K5", "KNA", "G4142"),
        ("Hyundai", "Sonata", "KMH", "L441A"),
    ],
    "SUV-M": [
        ("Toyota", "RAV4", "JTM", "W1RFV"),
        ("Nissan", "X-Trail", "JN1", "T3NT3"),
        ("Kia", "Sportage", "KNA", "PU813"),
        ("Hyundai", "Tucson", "KM8", "J3CA4"),
        ("Mitsubishi", "Outlander", "JA4", "J4A3A"),
    ],
    "SUV-L": [
        ("Toyota", "Land Cruiser", "JTM", "HX01J"),
        ("Nissan", "Patrol", "JN8", "AY2NY"),
        ("Toyota", "Fortuner", "MR0", "BA3FS"),
        ("Mitsubishi", "Pajero", "JMY", "LYV98"),
    ],
    "LUX": [
        ("Lexus", "ES 350", "58A", "D1ZG2"),
        ("Lexus", "RX 350", "2T2", "AAAB5"),
        ("Lexus", "LX 600", "JTJ", "GB7CX"),
        ("Lexus", "LS 500", "JTH", "B5FF1"),
    ],
}

SPECIAL_RATE_CODES = [
    {
        "code": "INS-STD",
        "description": "Insurance replacement, standard car (insurer-authorized rate)",
        "daily_rate": "95.00",
    },
    {
        "code": "CORP-FLEX",
        "description": "Corporate accounts: replacement at the contracted flat rate",
        "daily_rate": "140.00",
    },
]
TAX_PROFILE = {"name": "UAE VAT", "rate_percent": "5.00"}

MALE_NAMES = [
    "Mohammed",
    "Ahmed",
    "Khalid",
    "Saeed",
    "Rashid",
    "Hamdan",
    "Sultan",
    "Obaid",
    "Majid",
    "Abdulla",
    "Hamad",
    "Yousef",
    "Omar",
    "Ali",
    "Faisal",
    "Juma",
]
FEMALE_NAMES = [
    "Fatima",
    "Mariam",
    "Aisha",
    "Noura",
    "Shamma",
    "Hessa",
    "Maitha",
    "Latifa",
    "Moza",
    "Amna",
    "Salama",
    "Reem",
]
FAMILY_NAMES = [
    "Al Hashimi",
    "Al Suwaidi",
    "Al Mansoori",
    "Al Nuaimi",
    "Al Ketbi",
    "Al Falasi",
    "Al Marri",
    "Al Shamsi",
    "Al Mazrouei",
    "Al Dhaheri",
    "Al Qasimi",
    "Al Zaabi",
    "Al Mheiri",
    "Al Blooshi",
    "Al Kaabi",
    "Al Hammadi",
    "Al Muhairi",
    "Al Romaithi",
    "Al Tayer",
    "Al Ameri",
]
RESIDENT_NAMES = [
    "Priya Nair",
    "Rahul Menon",
    "Sarah Thompson",
    "Ahmed Hassan",
    "Olena Kovalenko",
    "Jose Santos",
]
AREAS = [
    "Al Barsha 1, Dubai",
    "Jumeirah Village Circle, Dubai",
    "Mirdif, Dubai",
    "Al Nahda 2, Dubai",
    "Dubai Marina, Dubai",
    "Downtown Dubai, Dubai",
    "Khalifa City A, Abu Dhabi",
    "Al Reem Island, Abu Dhabi",
    "Al Mushrif, Abu Dhabi",
    "Al Majaz 3, Sharjah",
    "Al Khan, Sharjah",
    "Muwaileh, Sharjah",
]
# name, landline area code, office address
COMPANIES = [
    ("Gulf Horizon Contracting LLC", "4", "Business Bay, Dubai"),
    ("Al Noor Logistics LLC", "4", "Al Quoz Industrial Area 3, Dubai"),
    ("Desert Rose Hospitality LLC", "4", "Jumeirah Lake Towers, Dubai"),
    ("Emirates Pearl Trading LLC", "2", "Al Maryah Island, Abu Dhabi"),
    ("Marina Crest Facilities Management LLC", "4", "Dubai Marina, Dubai"),
    ("Falcon Ridge Engineering FZE", "6", "Sharjah Airport Free Zone, Sharjah"),
]

VIN_ALPHABET = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789"  # never I, O or Q
_VIN_VALUES = {
    **{str(d): d for d in range(10)},
    **dict(zip("ABCDEFGH", range(1, 9), strict=True)),
    **dict(zip("JKLMN", range(1, 6), strict=True)),
    "P": 7,
    "R": 9,
    **dict(zip("STUVWXYZ", range(2, 10), strict=True)),
}
_VIN_WEIGHTS = [8, 7, 6, 5, 4, 3, 2, 10, 0, 9, 8, 7, 6, 5, 4, 3, 2]
_MODEL_YEAR = {
    2019: "K",
    2020: "L",
    2021: "M",
    2022: "N",
    2023: "P",
    2024: "R",
    2025: "S",
    2026: "T",
    2027: "V",
    2028: "W",
    2029: "X",
    2030: "Y",
}


def vin_check_digit(vin: str) -> str:
    """The ISO 3779 / North American check digit (position 9) of a 17-character VIN."""
    total = sum(_VIN_VALUES[c] * w for c, w in zip(vin.upper(), _VIN_WEIGHTS, strict=True))
    remainder = total % 11
    return "X" if remainder == 10 else str(remainder)


def make_vin(rng: random.Random, wmi: str, vds: str, year: int) -> str:
    plant = rng.choice(VIN_ALPHABET[:23])
    serial = f"{rng.randrange(10**6):06d}"
    draft = f"{wmi}{vds}0{_MODEL_YEAR[year]}{plant}{serial}"
    return draft[:8] + vin_check_digit(draft) + draft[9:]


def luhn_digit(digits: str) -> str:
    """The Luhn check digit appended to `digits` (Emirates ID numbers end with one)."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2 == 0:
            n *= 2
            if n > 9:
                n -= 9
        total += n
    return str((10 - total % 10) % 10)


def emirates_id(rng: random.Random, birth_year: int) -> str:
    body = f"784{birth_year}{rng.randrange(10**7):07d}"
    return f"784-{birth_year}-{body[7:]}-{luhn_digit(body)}"


def uae_mobile(rng: random.Random) -> str:
    return f"+971 5{rng.choice('024568')} {rng.randrange(100, 1000)} {rng.randrange(10**4):04d}"


def _slug(name: str) -> str:
    return "".join(c for c in name.lower() if c in string.ascii_lowercase)


@dataclass
class Plan:
    vehicles: list[dict]
    customers: list[dict]
    agreements: list[dict]


def build_plan(now: datetime | None = None, seed: int = SEED) -> Plan:
    """Everything to create, as plain values, from a seeded random generator (no database access)."""
    rng = random.Random(seed)
    now = now or timezone.now()
    today = timezone.localtime(now, DUBAI).date()
    midnight = datetime.combine(today, time(0), tzinfo=DUBAI)

    vehicles = _plan_vehicles(rng, today, midnight)
    customers = _plan_customers(rng, today, midnight)
    agreements = _plan_agreements(rng, now, midnight, vehicles, customers)
    return Plan(vehicles=vehicles, customers=customers, agreements=agreements)


def _plan_vehicles(rng: random.Random, today: date, midnight: datetime) -> list[dict]:
    classes = [c["code"] for c in VEHICLE_CLASSES for _ in range(c["count"])]
    fleet = [(b, status) for b in BRANCHES for status, n in b["fleet"].items() for _ in range(n)]
    assert len(classes) == len(fleet)
    rng.shuffle(classes)
    rng.shuffle(fleet)
    plates: set[str] = set()
    vehicles = []
    for class_code, (branch, status) in zip(classes, fleet, strict=True):
        make, model, wmi, vds = rng.choice(CATALOGUE[class_code])
        year = rng.randint(today.year - 4, min(today.year, max(_MODEL_YEAR)))
        while True:
            plate = f"{branch['plate']}-{rng.choice('ABCDEFGHJKLMNPRSTUVWXZ')}-{rng.randrange(10000, 100000)}"
            if plate not in plates:
                plates.add(plate)
                break
        age = max(today.year - year, 0) + rng.random()
        vehicles.append(
            {
                "plate": plate,
                "vin": make_vin(rng, wmi, vds, year),
                "make": make,
                "model": model,
                "year": year,
                "class_code": class_code,
                "branch_code": branch["code"],
                "status": str(status),
                "odometer_km": int(age * rng.randint(18000, 38000)) + rng.randint(300, 4000),
                "fuel_level": rng.randint(5, 8) if status == VehicleStatus.AVAILABLE else rng.randint(1, 8),
                "registration_expiry": today + timedelta(days=rng.randint(45, 360)),
                "insurance_expiry": today + timedelta(days=rng.randint(45, 360)),
                "created_at": _in_fleet_since(rng, today, midnight, year),
                "status_since": _status_since(rng, midnight, status),
            }
        )
    # A few papers about to lapse, so the "expiring within 30 days" warnings have something to show,
    # including on cars that could be handed over as replacements.
    available = [v for v in vehicles if v["status"] == VehicleStatus.AVAILABLE]
    others = [v for v in vehicles if v["status"] != VehicleStatus.AVAILABLE]
    for v in available[:2] + available[-2:] + others[:2]:
        v["registration_expiry"] = today + timedelta(days=rng.randint(3, 28))
    for v in available[2:4] + available[-4:-2] + others[2:4]:
        v["insurance_expiry"] = today + timedelta(days=rng.randint(3, 28))
    return vehicles


def _in_fleet_since(rng: random.Random, today: date, midnight: datetime, year: int) -> datetime:
    """Some day since the start of the car's model year, at most two years ago."""
    days_in_service = min(720, (today - date(year, 1, 1)).days)
    return midnight - timedelta(
        days=rng.randint(min(20, days_in_service), max(20, days_in_service)), hours=rng.randint(0, 12)
    )


def _status_since(rng: random.Random, midnight: datetime, status: str) -> datetime | None:
    """Since when a car is at the workshop or off the road (the dashboard shows the age)."""
    if status == VehicleStatus.MAINTENANCE:
        return midnight - timedelta(days=rng.randint(1, 9), hours=rng.randint(0, 9))
    if status == VehicleStatus.OUT_OF_SERVICE:
        return midnight - timedelta(days=rng.randint(6, 40))
    return None


def _plan_customers(rng: random.Random, today: date, midnight: datetime) -> list[dict]:
    names: list[str] = []
    while len(names) < 34:
        first = rng.choice(MALE_NAMES if rng.random() < 0.6 else FEMALE_NAMES)
        name = f"{first} {rng.choice(FAMILY_NAMES)}"
        if name not in names:
            names.append(name)
    names += RESIDENT_NAMES
    customers = []
    for number, name in enumerate(names, start=1):
        birth_year = rng.randint(1965, 2003)
        first, _sep, last = name.partition(" ")
        customers.append(
            {
                "customer_no": f"C-{number:06d}",
                "kind": CustomerKind.PERSON,
                "full_name": name,
                "email": f"{_slug(first)}.{_slug(last)}{rng.randint(1, 99)}@example.com",
                "phone": uae_mobile(rng),
                "national_id": emirates_id(rng, birth_year),
                "driving_licence_no": f"{rng.randrange(10**6, 10**7)}",
                "driving_licence_expiry": today + timedelta(days=rng.randint(20, 3000)),
                "address": f"{rng.choice(['Villa', 'Apartment'])} {rng.randint(1, 2400)}, {rng.choice(AREAS)}",
                "notes": "",
                "created_at": midnight - timedelta(days=rng.randint(160, 1500), hours=rng.randint(0, 12)),
            }
        )
    for name, area_code, address in COMPANIES:
        number = len(customers) + 1
        customers.append(
            {
                "customer_no": f"C-{number:06d}",
                "kind": CustomerKind.COMPANY,
                "full_name": name,
                "email": f"fleet@{_slug(' '.join(name.split()[:2]))}.example.com",
                "phone": f"+971 {area_code} {rng.randrange(200, 900)} {rng.randrange(10**4):04d}",
                "national_id": "",
                "driving_licence_no": "",
                "driving_licence_expiry": None,
                "address": f"Office {rng.randint(101, 2999)}, {address}",
                "notes": f"Trade licence {rng.randrange(10**5, 10**6)}. Corporate account, monthly invoicing.",
                "created_at": midnight - timedelta(days=rng.randint(320, 1800)),
            }
        )
    return customers


def _plan_agreements(rng, now, midnight, vehicles, customers) -> list[dict]:
    rates = {c["code"]: c for c in VEHICLE_CLASSES}
    persons = [c for c in customers if c["kind"] == CustomerKind.PERSON]
    companies = [c for c in customers if c["kind"] == CustomerKind.COMPANY]
    rng.shuffle(persons)
    agreements = []

    def at(days: int) -> datetime:
        return midnight + timedelta(days=days, hours=rng.randint(8, 21), minutes=rng.choice([0, 15, 30, 45]))

    # Rental terms first (every fourth a corporate long-term lease), oldest first; the cars take
    # them branch by branch in turn, so consecutive agreement numbers alternate between branches
    # (and so do the demo custodies, which take agreements in number order).
    rented = [v for v in vehicles if v["status"] == VehicleStatus.RENTED]
    terms = []
    for i in range(len(rented)):
        if i % 4 == 3:
            start = at(-rng.randint(10, 300))
            terms.append((start, start + timedelta(days=365), companies[(i // 4) % len(companies)]))
        else:
            terms.append((at(-rng.randint(1, 45)), at(rng.randint(2, 40)), None))
    terms.sort(key=lambda term: term[0])
    by_branch: dict[str, list[dict]] = {}
    for vehicle in rented:
        by_branch.setdefault(vehicle["branch_code"], []).append(vehicle)
    in_turn = [v for group in zip_longest(*by_branch.values()) for v in group if v is not None]
    for vehicle, (start, end, company) in zip(in_turn, terms, strict=True):
        cls = rates[vehicle["class_code"]]
        if company is not None:
            customer = company
            daily = Decimal(cls["daily"])
            monthly = (Decimal(cls["monthly"]) * Decimal("0.90")).quantize(Decimal("1.00"))
        else:
            customer = persons.pop()
            daily, monthly = Decimal(cls["daily"]), Decimal(cls["monthly"])
        vehicle["created_at"] = min(vehicle["created_at"], start - timedelta(days=rng.randint(3, 60)))
        agreements.append(
            {
                "customer_no": customer["customer_no"],
                "plate": vehicle["plate"],
                "branch_code": vehicle["branch_code"],
                "start_at": start,
                "end_at": end,
                "daily_rate": daily,
                "monthly_rate": monthly,
                "deposit_amount": Decimal(cls["deposit"]),
                "status": AgreementStatus.ACTIVE,
            }
        )
    # Some history: finished rentals of cars that are back in the yard.
    returned = [v for v in vehicles if v["status"] in (VehicleStatus.AVAILABLE, VehicleStatus.MAINTENANCE)]
    for i, vehicle in enumerate(returned[:10]):
        cls = rates[vehicle["class_code"]]
        start = at(-rng.randint(40, 150))
        vehicle["created_at"] = min(vehicle["created_at"], start - timedelta(days=rng.randint(3, 60)))
        agreements.append(
            {
                "customer_no": persons.pop()["customer_no"]
                if persons
                else companies[i % len(companies)]["customer_no"],
                "plate": vehicle["plate"],
                "branch_code": vehicle["branch_code"],
                "start_at": start,
                "end_at": start + timedelta(days=rng.randint(3, 30)),
                "daily_rate": Decimal(cls["daily"]),
                "monthly_rate": Decimal(cls["monthly"]),
                "deposit_amount": Decimal(cls["deposit"]),
                "status": AgreementStatus.TERMINATED if i == 0 else AgreementStatus.COMPLETED,
            }
        )
    agreements.sort(key=lambda a: a["start_at"])
    for number, agreement in enumerate(agreements, start=100001):
        agreement["agreement_no"] = f"RA-{number}"
        agreement["created_at"] = agreement["start_at"] - timedelta(minutes=rng.randint(10, 90))
    assert all(a["end_at"] > now for a in agreements if a["status"] == AgreementStatus.ACTIVE)
    return agreements


# --- loading -------------------------------------------------------------------------------------


def demo_users() -> list[User]:
    return list(User.objects.filter(email__in=[u.email for u in DEMO_USERS]))


def is_loaded() -> bool:
    return User.objects.filter(email__in=[u.email for u in DEMO_USERS]).exists()


@dataclass
class LoadResult:
    created: dict[str, int]  # kind → how many were created
    warnings: list[str]


def load(now: datetime | None = None) -> LoadResult:
    """Create the demo data set in one transaction; returns what was created per kind.

    Rows that already exist (same code, plate, VIN, number) are kept as they are and skipped,
    so loading into a database with some real reference data never fails on a duplicate.
    """
    plan = build_plan(now)
    with transaction.atomic(), acting_as(source="system"):
        branches = {
            b["code"]: fleet_services.ensure_row(
                Branch, {"code": b["code"]}, {"name": b["name"], "city": b["city"], "timezone": "Asia/Dubai"}
            )
            for b in BRANCHES
        }
        classes = {
            c["code"]: fleet_services.ensure_row(
                VehicleClass,
                {"code": c["code"]},
                {"name": c["name"], "daily_rate": Decimal(c["daily"]), "monthly_rate": Decimal(c["monthly"])},
            )
            for c in VEHICLE_CLASSES
        }
        for code in SPECIAL_RATE_CODES:
            fleet_services.ensure_row(
                SpecialRateCode,
                {"code": code["code"]},
                {"description": code["description"], "daily_rate": Decimal(code["daily_rate"])},
            )
        fleet_services.ensure_row(
            TaxProfile,
            {"name": TAX_PROFILE["name"]},
            {
                "rate_percent": Decimal(TAX_PROFILE["rate_percent"]),
                "is_default": not TaxProfile.objects.filter(is_default=True).exists(),
            },
        )

        taken_plates = set(Vehicle.objects.values_list("plate", flat=True))
        taken_vins = set(Vehicle.objects.values_list("vin", flat=True))
        vehicles, status_since = [], {}
        for v in plan.vehicles:
            if v["plate"] in taken_plates or v["vin"] in taken_vins:
                continue
            fields = {
                k: val for k, val in v.items() if k not in ("class_code", "branch_code", "status_since")
            }
            vehicle = Vehicle(
                vehicle_class=classes[v["class_code"]], branch=branches[v["branch_code"]], **fields
            )
            vehicles.append(vehicle)
            if v["status_since"]:
                status_since[vehicle.pk] = v["status_since"]
        fleet_services.add_in_bulk(vehicles, status_since)
        new_vehicles = {v.plate: v for v in vehicles}

        taken_numbers = set(Customer.objects.values_list("customer_no", flat=True))
        customers = [Customer(**c) for c in plan.customers if c["customer_no"] not in taken_numbers]
        fleet_services.add_in_bulk(customers)
        all_customers = {
            c.customer_no: c
            for c in Customer.objects.filter(customer_no__in=[c["customer_no"] for c in plan.customers])
        }

        taken_numbers = set(RentalAgreement.objects.values_list("agreement_no", flat=True))
        agreements = [
            RentalAgreement(
                customer=all_customers[a["customer_no"]],
                vehicle=new_vehicles[a["plate"]],
                branch=branches[a["branch_code"]],
                **{k: val for k, val in a.items() if k not in ("customer_no", "plate", "branch_code")},
            )
            for a in plan.agreements
            if a["agreement_no"] not in taken_numbers and a["plate"] in new_vehicles
        ]
        fleet_services.add_in_bulk(agreements)

        users = {}
        for demo_user in DEMO_USERS:
            users[demo_user.role] = account_services.create_user(
                email=demo_user.email,
                role=demo_user.role,
                password=DEMO_PASSWORD,
                full_name=demo_user.full_name,
                branch_codes=demo_user.branch_codes,
                all_branches=demo_user.all_branches,
            )
        created = {
            "branches": len(branches),
            "vehicle classes": len(classes),
            "vehicles": len(vehicles),
            "customers": len(customers),
            "active agreements": sum(a.status == AgreementStatus.ACTIVE for a in agreements),
            "users": len(DEMO_USERS),
        }
        created["custodies"], problem = _load_custodies(users)
        created["quotes"], quote_problem = _load_quotes(users)
    problems = [p for p in (problem, quote_problem) if p]
    return LoadResult(created=created, warnings=problems)


def _load_custodies(users: dict) -> tuple[int, str | None]:
    """Custodies in every status, made by the custodies app through its real services.

    They run in a savepoint: if a workflow change breaks them, the reference data and the
    logins still load (so `make run` still starts) and the command reports the problem.
    """
    from .demo_custodies import create_demo_custodies

    try:
        with transaction.atomic():
            return len(create_demo_custodies(users)), None
    except Exception as exc:
        logger.exception("The demo custodies could not be created")
        return 0, f"The demo custodies could not be created ({exc.__class__.__name__}: {exc})."


def _load_quotes(users: dict) -> tuple[int, str | None]:
    """Three companies' quotes (draft, sent, accepted) with cost sheets, made by the quotes app's services."""
    from quotes.demo import create_demo_quotes

    try:
        with transaction.atomic():
            return len(create_demo_quotes(users)), None
    except Exception as exc:
        logger.exception("The demo quotes could not be created")
        return 0, f"The demo quotes could not be created ({exc.__class__.__name__}: {exc})."


def logins_table() -> str:
    """The demo logins as a text table (e-mail, role, password, branches)."""
    users = {u.email: u for u in demo_users()}
    rows = [("E-mail", "Role", "Password", "Branches")]
    for demo_user in DEMO_USERS:
        user = users.get(demo_user.email)
        if user is None:
            continue
        if not user.is_active:
            password = "(deactivated)"
        elif check_password(DEMO_PASSWORD, user.password):
            password = DEMO_PASSWORD
        else:
            password = "(changed)"
        rows.append((user.email, user.role, password, demo_user.branches_label))
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    lines = ["  " + "  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row)).rstrip() for row in rows]
    lines.insert(1, "  " + "  ".join("-" * w for w in widths))
    return "\n".join(lines)
