"""Demo custodies: ~25 custodies in every status and reason, run through the real services so
approvals, vehicle moves, SLA stamps, documents and the audit trail are all genuine."""

import io
import random
from datetime import timedelta
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from accounts import permissions
from accounts.choices import Role
from audit.context import acting_as
from custodies import services
from custodies.choices import SUBCODES_BY_REASON
from custodies.models import Custody
from documents import services as document_services
from fleet.choices import AgreementStatus, VehicleStatus
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

NARRATIVES = {
    "accident": "Rear-ended at a traffic light on Sheikh Zayed Road; rear bumper and tail light damaged.",
    "breakdown": "Engine warning light and loss of power on Al Khail Road; towed to the workshop.",
    "maintenance": "Scheduled 20,000 km service and brake inspection at the dealer.",
    "damage": "Scratches along the driver side found in a mall car park.",
    "other": "Customer asked for a larger car for a family trip.",
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


def create_demo_custodies(users: dict, seed: int = 7) -> list[Custody]:
    """`users` maps role → user. Skips quietly when custodies exist already."""
    if Custody.objects.exists():
        return []
    rng = random.Random(seed)
    now = timezone.now()
    agreements = list(
        RentalAgreement.objects.filter(status=AgreementStatus.ACTIVE, vehicle__status=VehicleStatus.RENTED)
        .select_related("vehicle", "branch", "customer")
        .order_by("agreement_no")
    )
    created = []
    for index, (target, reason) in enumerate(PLAN):
        if not agreements:
            break
        agreement = agreements.pop(0)
        branch_id = agreement.branch_id
        operator = _actor(users, Role.OPERATOR, branch_id)
        supervisor = _actor(users, Role.SUPERVISOR, branch_id)
        manager = _actor(users, Role.MANAGER, branch_id)
        spare = (
            Vehicle.objects.filter(branch_id=branch_id, status=VehicleStatus.AVAILABLE)
            .order_by("vehicle_class_id" if index % 2 else "plate")
            .first()
        )
        incident = now - timedelta(hours=rng.randint(3, 60))
        data = {
            "agreement_id": agreement.id,
            "replacement_vehicle_id": spare.id if spare else None,
            "custodian_type": "customer" if index % 4 else "driver",
            "custodian_name": "" if index % 4 else "Khalid Al Nuaimi",
            "custodian_phone": "" if index % 4 else "+971 55 234 5678",
            "reason_code": reason,
            "reason_subcode": rng.choice(SUBCODES_BY_REASON[reason]),
            "incident_at": incident,
            "incident_ref": f"DXB-POL-{2026}-{10000 + index * 37}" if reason == "accident" else "",
            "incident_narrative": NARRATIVES[reason],
            "incident_location": rng.choice(
                ["Sheikh Zayed Road", "Dubai Marina", "Al Wahda Mall", "Deira City Centre"]
            ),
            "incident_odometer_km": agreement.vehicle.odometer_km,
            "effective_from": incident + timedelta(hours=1),
            "expected_return_at": incident + timedelta(days=rng.randint(2, 9)),
            "rate_policy": "free"
            if reason == "maintenance"
            else rng.choice(["inherit", "inherit", "prorate"]),
            "damage_hold_amount": Decimal("1500.00") if reason == "damage" else Decimal("0"),
            "notes": "Demo custody",
        }
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
        if target == "voided":
            with acting_as(operator, "web"):
                services.void_custody(operator, custody.id, "Opened twice for the same incident")
            continue
        with acting_as(operator, "web"):
            services.submit_custody(operator, custody.id)
        custody.refresh_from_db()
        if target == "rejected":
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
            with acting_as(supervisor, "web"):
                services.approve_custody(supervisor, custody.id, "Checked the documents")
            custody.refresh_from_db()
        if custody.status == "pending_approval":
            with acting_as(manager, "web"):
                services.approve_custody(manager, custody.id, "OK")
            custody.refresh_from_db()
        if target == "approved" or custody.status != "approved":
            continue
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
                _demo_money(users, custody, rng, settle=False)
            continue
        custody.refresh_from_db()
        with acting_as(operator, "web"):
            _attach(custody, "return_checklist", operator)
            services.close_custody(
                operator,
                custody.id,
                {
                    "returned_at": timezone.now(),
                    "odometer_km": (custody.handover_odometer_km or 0) + rng.randint(80, 900)
                    if custody.replacement_vehicle_id
                    else None,
                    "fuel_level": rng.randint(2, 8) if custody.replacement_vehicle_id else None,
                    "notes": "Returned clean.",
                    "original_ready": True,
                },
            )
        _demo_money(users, custody, rng, settle=index % 2 == 0)
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
