"""Effects of inbound integration events, applied through the same services as the pages (DESIGN §9)."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext as _

from billing import services as billing
from billing.models import Charge
from core.errors import Conflict, ValidationFailed
from custodies import services as custody_services
from custodies.models import Custody
from fleet import services as fleet_services
from fleet.choices import VehicleStatus
from fleet.models import Vehicle

OPEN = ("approved", "active", "pending_approval", "draft")


def _when(value) -> datetime:
    parsed = parse_datetime(value) if isinstance(value, str) else None
    return parsed or timezone.now()


def _vehicle(data: dict) -> Vehicle:
    vehicle = None
    if data.get("vehicle_id"):
        vehicle = Vehicle.objects.filter(pk=data["vehicle_id"]).first()
    elif data.get("plate"):
        vehicle = Vehicle.objects.filter(plate=str(data["plate"]).upper()).first()
    if vehicle is None:
        raise ValidationFailed(_("Unknown vehicle."), {"data.vehicle_id": [_("No such vehicle.")]})
    return vehicle


def _custody(data: dict) -> Custody:
    custody = None
    if data.get("custody_id"):
        custody = Custody.objects.filter(pk=data["custody_id"]).first()
    elif data.get("custody_no"):
        custody = Custody.objects.filter(custody_no=data["custody_no"]).first()
    elif data.get("claim_no"):
        custody = Custody.objects.filter(claim_no=data["claim_no"]).order_by("-created_at").first()
    if custody is None:
        raise ValidationFailed(_("Unknown custody."), {"data.custody_id": [_("No such custody.")]})
    return custody


def vehicle_ready(data: dict) -> str:
    vehicle = _vehicle(data)
    custodies = Custody.objects.filter(
        original_vehicle=vehicle, status__in=OPEN, original_ready_at__isnull=True
    )
    done = []
    for custody in custodies:
        custody_services.mark_original_ready(None, custody.pk, _when(data.get("ready_at")))
        done.append(custody.custody_no)
    return f"original ready for {', '.join(done) or 'no open custody'}"


def vehicle_status_changed(data: dict) -> str:
    vehicle = _vehicle(data)
    status = data.get("status")
    if status not in VehicleStatus.values:
        raise ValidationFailed(_("Unknown vehicle status."), {"data.status": [_("Unknown status.")]})
    with transaction.atomic():
        locked = Vehicle.objects.select_for_update().get(pk=vehicle.pk)
        old = locked.status
        try:
            fleet_services.set_status(locked, status, message="fleet integration")
        except Conflict:
            return "ignored: the vehicle is held by a custody; its status follows the custody"
    return f"{vehicle.plate}: {old} → {status}"


def invoice_created(data: dict) -> str:
    ref = (data.get("invoice_ref") or "").strip()
    ids = [str(i) for i in data.get("charge_ids") or []]
    if not ref or not ids:
        raise ValidationFailed(
            _("invoice_ref and charge_ids are required."), {"data": [_("Missing fields.")]}
        )
    posted = list(Charge.objects.filter(pk__in=ids, status="posted").values_list("id", flat=True))
    billing.invoice_charges(None, posted, ref)
    return f"{len(posted)} charges invoiced as {ref}"


def invoice_paid(data: dict) -> str:
    custody = _custody(data)
    payment = billing.record_payment(
        None,
        custody.pk,
        {
            "amount": data.get("amount"),
            "method": data.get("method") or "bank_transfer",
            "payer": data.get("payer") or "customer",
            "reference": data.get("invoice_ref") or data.get("reference") or "",
            "received_at": _when(data.get("paid_at")),
        },
    )
    return f"payment {payment.amount} recorded on {custody.custody_no}"


def claim_updated(data: dict) -> str:
    custody = custody_services.update_claim(
        _custody(data).pk, claim_no=data.get("claim_no"), claim_status=data.get("claim_status")
    )
    return f"{custody.custody_no}: claim {custody.claim_no} {custody.claim_status}"


HANDLERS = {
    ("fleet", "vehicle.ready"): vehicle_ready,
    ("fleet", "vehicle.status_changed"): vehicle_status_changed,
    ("billing", "invoice.created"): invoice_created,
    ("billing", "invoice.paid"): invoice_paid,
    ("claims", "claim.updated"): claim_updated,
}
