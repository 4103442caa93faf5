"""Demo custodies: ~25 custodies in every status and reason, run through the real services so
approvals, vehicle moves, SLA stamps, documents and the audit trail are all genuine."""

import io
import random
from contextlib import contextmanager
from datetime import timedelta
from decimal import Decimal
from unittest import mock

from django.apps import apps
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts import permissions
from accounts.choices import Role
from audit.context import acting_as
from custodies import services
from custodies.choices import SUBCODES_BY_REASON
from custodies.models import Custody
from documents import services as document_services
from fleet.choices import AgreementStatus, CustomerKind, VehicleStatus
from fleet.models import RentalAgreement, Vehicle

PLAN = [  # (target status, reason)
    ("draft", "accident"),
    ("draft", "breakdown"),
    ("draft", "damage"),
    ("draft", "maintenance"),
    ("pending_approval", "accident"),
    ("pending_approval", "breakdown"),
    ("pending_approval", "damage"),
    ("pending_approval", "other"),
    ("pending_approval", "breakdown"),
    ("approved", "breakdown"),
    ("approved", "accident"),
    ("approved", "maintenance"),
    ("active", "accident"),
    ("active", "breakdown"),
    ("active", "damage"),
    ("active", "breakdown"),
    ("active", "maintenance"),
    ("active", "other"),
    ("closed", "breakdown"),
    ("closed", "accident"),
    ("closed", "maintenance"),
    ("closed", "damage"),
    ("voided", "breakdown"),
    ("voided", "other"),
    ("rejected", "damage"),
]

# One story per reason detail, so the narrative always matches the subcode staff see beside it.
NARRATIVES = {
    "collision_third_party": "Hit by another car at a junction on Sheikh Zayed Road; front bumper and bonnet damaged.",
    "collision_own_damage": "Reversed into a pillar in a car park; rear bumper cracked.",
    "hit_and_run": "Found with a dented rear door after shopping; the other driver did not stop.",
    "rollover": "Rolled over on a desert road after a tyre burst; the driver was unhurt.",
    "fire": "Smoke from the engine bay on Emirates Road; put out by Civil Defence.",
    "engine_failure": "Engine warning light and loss of power on Al Khail Road; towed to the workshop.",
    "transmission_issue": "Gearbox slipping and will not change up; towed to the dealer.",
    "electrical_problem": "Dashboard and headlights cut out while driving; the car will not restart.",
    "tire_blowout": "Rear tyre burst on the highway; rim damaged, spare not usable.",
    "battery_dead": "The car would not start at the customer's home; battery failed the test.",
    "regular_service": "Scheduled 20,000 km service and brake inspection at the dealer.",
    "recall_campaign": "Manufacturer recall: airbag module replacement at the dealer.",
    "warranty_work": "Air conditioning compressor replaced under warranty.",
    "inspection": "Annual RTA inspection before the registration renewal.",
    "vandalism": "Keyed along the driver side and a mirror broken overnight in a residential car park.",
    "theft_attempted": "Door lock forced and the ignition damaged in an attempted theft.",
    "weather_damage": "Hail dents on the roof and bonnet after the storm.",
    "interior_damage": "Seat upholstery torn and a coffee stain on the headliner.",
    "customer_request": "Customer asked for a larger car for a family trip.",
    "upgrade": "Customer upgraded to an SUV for the rest of the rental.",
    "downgrade": "Customer asked for a smaller, cheaper car.",
}

# Drivers named on the agreements who sometimes hold the car instead of the customer.
DRIVERS = [
    ("Khalid Al Nuaimi", "+971 55 234 5678"),
    ("Mariam Al Suwaidi", "+971 50 318 2290"),
    ("Omar Haddad", "+971 52 774 1036"),
]

# How long ago (hours, low..high) a custody in each target status was opened, so the demo spreads
# over the last weeks: closed ones long ago, pending ones within the approval window.
AGE_HOURS = {
    "draft": (1, 20),
    "pending_approval": (1, 5),
    "approved": (6, 30),
    "active": (30, 240),
    "closed": (120, 720),
    "voided": (48, 480),
    "rejected": (48, 480),
}

DOCS_FOR = {
    "accident": ["incident_report", "photos", "customer_acknowledgment", "police_report"],
    "breakdown": ["incident_report", "customer_acknowledgment"],
    "maintenance": ["customer_acknowledgment"],
    "damage": ["incident_report", "photos", "customer_acknowledgment"],
    "other": ["customer_acknowledgment"],
}


def _pdf(title: str) -> bytes:
    body = f"BT /F1 18 Tf 72 720 Td ({title}) Tj ET".encode()
    return (
        b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>"
        b"endobj\n3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]/Contents 4 0 R>>endobj\n"
        b"4 0 obj<</Length " + str(len(body)).encode() + b">>stream\n" + body + b"\nendstream endobj\n"
        b"trailer<</Root 1 0 R>>\n%%EOF\n"
    )


def _png() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 60, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def _attach(custody: Custody, document_type: str, user) -> None:
    is_photo = document_type == "photos"
    content = _png() if is_photo else _pdf(f"{custody.custody_no} {document_type}")
    name = f"{document_type}.{'png' if is_photo else 'pdf'}"
    upload = SimpleUploadedFile(name, content, "image/png" if is_photo else "application/pdf")
    document_services.upload_document(user, custody, upload, document_type)


def _actor(users: dict, role: str, branch_id):
    user = users.get(role)
    if user is not None and permissions.in_branch(user, branch_id):
        return user
    return users[Role.ADMIN]


class _Clock:
    """Runs the services at a chosen moment in the past, so the demo's custodies, audit trail, SLA
    stamps and events carry the times a real branch would have produced over the last weeks.
    `django.utils.timezone.now` and the model fields defaulting to it read this clock (demo only)."""

    def __init__(self):
        self.at = self.opened = self.ceiling = None
        self.real_now = timezone.now

    def now(self):
        return self.at or self.real_now()

    def open(self, opened, ceiling) -> None:
        """Start a custody's story at `opened`; no step of it goes past `ceiling`."""
        self.opened, self.ceiling = opened, ceiling
        self.at = min(opened, ceiling)

    def after(self, hours: float) -> None:
        """Move to `hours` after the custody was opened."""
        self.at = min(self.opened + timedelta(hours=hours), self.ceiling)

    def later(self, hours: float) -> None:
        self.at = min(self.at + timedelta(hours=hours), self.ceiling)

    @contextmanager
    def running(self):
        fields = [
            field
            for model in apps.get_models()
            for field in model._meta.concrete_fields
            if field.default is self.real_now
        ]
        with mock.patch.object(timezone, "now", self.now):
            self._set_default(fields, self.now)
            try:
                yield self
            finally:
                self._set_default(fields, self.real_now)

    @staticmethod
    def _set_default(fields, function):
        for field in fields:
            field.default = function
            field.__dict__.pop("_get_default", None)  # Field caches its default callable


def create_demo_custodies(users: dict, seed: int = 7) -> list[Custody]:
    """`users` maps role → user. Skips quietly when custodies exist already."""
    if Custody.objects.exists():
        return []
    clock = _Clock()
    with clock.running():
        return _create(users, random.Random(seed), clock)


def _create(users: dict, rng: random.Random, clock: _Clock) -> list[Custody]:
    now = clock.real_now()
    agreements = list(
        RentalAgreement.objects.filter(status=AgreementStatus.ACTIVE, vehicle__status=VehicleStatus.RENTED)
        .select_related("vehicle", "branch", "customer")
        .order_by("agreement_no")
    )
    # Each custody's opening time first, then the stories in time order, so custody numbers rise
    # with time as they would at a counter.
    stories = []
    for index, (target, reason) in enumerate(PLAN[: len(agreements)]):
        agreement = agreements[index]
        low, high = AGE_HOURS[target]
        opened = now - timedelta(hours=rng.uniform(low, high))
        # Never before the rental began, and never in the future.
        opened = min(max(opened, agreement.start_at + timedelta(hours=6)), now - timedelta(minutes=20))
        stories.append((opened, index, target, reason, agreement))
    stories.sort(key=lambda story: story[:2])
    created = []
    for opened, index, target, reason, agreement in stories:
        branch_id = agreement.branch_id
        operator = _actor(users, Role.OPERATOR, branch_id)
        supervisor = _actor(users, Role.SUPERVISOR, branch_id)
        manager = _actor(users, Role.MANAGER, branch_id)
        spare = (
            Vehicle.objects.filter(branch_id=branch_id, status=VehicleStatus.AVAILABLE)
            .order_by("vehicle_class_id" if index % 2 else "plate")
            .first()
        )
        clock.open(opened, ceiling=now - timedelta(minutes=5))
        incident = opened - timedelta(hours=rng.uniform(1, 5))
        subcode = rng.choice(SUBCODES_BY_REASON[reason])
        # A company's car is held by its driver; a person holds it, or now and then their driver.
        by_driver = agreement.customer.kind == CustomerKind.COMPANY or index % 4 == 0
        driver_name, driver_phone = DRIVERS[index % len(DRIVERS)]
        data = {
            "agreement_id": agreement.id,
            "replacement_vehicle_id": spare.id if spare else None,
            "custodian_type": "driver" if by_driver else "customer",
            "custodian_name": driver_name if by_driver else "",
            "custodian_phone": driver_phone if by_driver else "",
            "reason_code": reason,
            "reason_subcode": subcode,
            "incident_at": incident,
            "incident_ref": f"DXB-POL-{2026}-{10000 + index * 37}" if reason == "accident" else "",
            "incident_narrative": NARRATIVES[subcode],
            "incident_location": rng.choice(
                ["Sheikh Zayed Road", "Dubai Marina", "Al Wahda Mall", "Deira City Centre"]
            ),
            "incident_odometer_km": agreement.vehicle.odometer_km,
            "effective_from": opened,
            "expected_return_at": opened + timedelta(days=rng.randint(2, 9)),
            "rate_policy": "free"
            if reason == "maintenance"
            else rng.choice(["inherit", "inherit", "prorate"]),
            "damage_hold_amount": Decimal("1500.00") if reason == "damage" else Decimal("0"),
            "notes": "Demo custody",
        }
        if not spare and reason in ("accident", "breakdown", "damage"):
            data.update(no_replacement_needed=True, no_replacement_reason="No car of the class free")
        if reason == "accident":
            data.update(
                {
                    "insurer_name": "Oman Insurance",
                    "claim_no": f"CLM-{880000 + index}",
                    "insurance_policy_no": f"POL-{551000 + index}",
                    "authorized_daily_rate_cap": Decimal("150"),
                    "authorized_max_days": 10,
                }
            )
        with acting_as(operator, "web"):
            custody = services.create_custody(operator, data)
            for document_type in DOCS_FOR[reason]:
                _attach(custody, document_type, operator)
        created.append(custody)
        if target == "draft":
            continue
        clock.after(0.25)
        if target == "voided":
            with acting_as(operator, "web"):
                services.void_custody(operator, custody.id, "Opened twice for the same incident")
            continue
        with acting_as(operator, "web"):
            services.submit_custody(operator, custody.id)
        custody.refresh_from_db()
        if target == "rejected":
            clock.after(1)
            with acting_as(supervisor, "web"):
                services.reject_custody(
                    supervisor, custody.id, "Photos do not show the damage; please retake."
                )
            continue
        if target == "pending_approval":
            if index % 2:  # some are late, so the SLA indicators show every colour
                Custody.objects.filter(pk=custody.pk).update(sla_approve_due_at=now - timedelta(minutes=20))
            continue
        if custody.status == "pending_approval":
            clock.after(0.75)
            with acting_as(supervisor, "web"):
                services.approve_custody(supervisor, custody.id, "Checked the documents")
            custody.refresh_from_db()
        if custody.status == "pending_approval":
            clock.after(1.5)
            with acting_as(manager, "web"):
                services.approve_custody(manager, custody.id, "OK")
            custody.refresh_from_db()
        if target == "approved" or custody.status != "approved":
            continue
        clock.after(2.5)
        with acting_as(operator, "web"):
            _attach(custody, "handover_checklist", operator)
            replacement = custody.replacement_vehicle
            services.hand_over_custody(
                operator,
                custody.id,
                {
                    "odometer_km": replacement.odometer_km if replacement else None,
                    "fuel_level": 8 if replacement else None,
                    "notes": "Customer checked the car with our staff.",
                },
            )
        if target == "active":
            if reason in ("damage", "accident"):
                clock.after(26)
                _demo_money(users, custody, rng, settle=False)
            continue
        custody.refresh_from_db()
        clock.after(rng.uniform(48, 100))
        with acting_as(operator, "web"):
            _attach(custody, "return_checklist", operator)
            services.close_custody(
                operator,
                custody.id,
                {
                    "returned_at": clock.at,
                    "odometer_km": (custody.handover_odometer_km or 0) + rng.randint(80, 900)
                    if custody.replacement_vehicle_id
                    else None,
                    "fuel_level": rng.randint(2, 8) if custody.replacement_vehicle_id else None,
                    "notes": "Returned clean.",
                    "original_ready": True,
                },
            )
        clock.later(2)
        _demo_money(users, custody, rng, settle=index % 2 == 0)
    clock.at = None
    return created


def _demo_money(users: dict, custody: Custody, rng: random.Random, settle: bool) -> None:
    """Realistic settlement: a posted damage or admin-fee line, a payment, sometimes fully settled."""
    from billing import services as billing

    finance = _actor(users, Role.FINANCE, custody.branch_id)
    with acting_as(finance, "web"):
        if custody.reason_code in ("damage", "accident"):
            line = billing.add_charge(
                finance,
                custody.id,
                {
                    "charge_type": "damage",
                    "description": "Repair of the customer's share of the damage",
                    "quantity": "1",
                    "unit_price": str(rng.choice([350, 500, 750, 1200])),
                    "responsibility": "customer",
                },
            )
        else:
            line = billing.add_charge(
                finance,
                custody.id,
                {
                    "charge_type": "admin_fee",
                    "description": "Custody handling fee",
                    "quantity": "1",
                    "unit_price": "50.00",
                    "responsibility": "customer",
                },
            )
        billing.post_charge(finance, line.id)
        custody.refresh_from_db()
        owed = billing.balance(custody).by_responsibility["customer"]["outstanding"]
        if owed > 0:
            amount = owed if settle else (owed / 2).quantize(Decimal("0.01"))
            billing.record_payment(
                finance,
                custody.id,
                {
                    "amount": str(amount),
                    "method": rng.choice(["card", "cash"]),
                    "payer": "customer",
                    "reference": f"POS-{rng.randint(1000, 9999)}",
                },
            )
