"""The car's condition at handover and return (DESIGN §4.3, §7): readings entered once and damage marked
on fixed zones, so out and in compare zone by zone and new damage can be charged."""

from dataclasses import dataclass, field

from django.db import transaction
from django.utils.translation import gettext as _

from accounts import permissions
from audit import services as audit
from core.errors import InvalidTransition, ValidationFailed
from custodies.choices import TERMINAL_STATUSES, CustodyStatus
from custodies.models import Custody

from .choices import ConditionStage, DamageSeverity, DamageType, DamageZone
from .models import ConditionReport, DamageMark


def vehicle_for(custody: Custody):
    """The car whose condition is recorded: the replacement, else the original."""
    return custody.replacement_vehicle or custody.original_vehicle


def report_for(custody: Custody, stage: str) -> ConditionReport | None:
    return (
        ConditionReport.objects.filter(custody=custody, stage=stage).prefetch_related("marks__photo").first()
    )


def stage_problem(custody: Custody, stage: str) -> str | None:
    """Why this stage's condition cannot be changed now, or None."""
    if custody.status in TERMINAL_STATUSES:
        return _("The custody is finished.")
    if stage == ConditionStage.HANDOVER and custody.status == CustodyStatus.ACTIVE:
        return _("The car was already handed over; its handover condition is kept as it was.")
    if stage == ConditionStage.RETURN and custody.status != CustodyStatus.ACTIVE:
        return _("The return condition is recorded when the car comes back (active custody).")
    return None


def _lock_open(user, custody_id, stage: str) -> Custody:
    custody = Custody.objects.select_for_update(of=("self",)).select_related(
        "replacement_vehicle", "original_vehicle"
    )
    custody = custody.get(pk=custody_id)
    permissions.require(user, "document.upload", custody)
    if stage not in ConditionStage.values:
        raise ValidationFailed(_("Unknown stage."), {"stage": [_("Handover or return.")]})
    problem = stage_problem(custody, stage)
    if problem:
        raise InvalidTransition(problem, {"status": custody.status, "stage": stage})
    if vehicle_for(custody) is None:
        raise ValidationFailed(
            _("The custody has no vehicle yet."), {"vehicle": [_("Choose a vehicle first.")]}
        )
    return custody


def _report(custody: Custody, stage: str, user) -> ConditionReport:
    report, _created = ConditionReport.objects.select_for_update().get_or_create(
        custody=custody, stage=stage, defaults={"vehicle": vehicle_for(custody), "created_by": user}
    )
    return report


@dataclass
class Readings:
    report: ConditionReport
    warnings: list[str] = field(default_factory=list)


@transaction.atomic
def record_readings(user, custody_id, stage: str, odometer_km, fuel_level, notes: str = "") -> Readings:
    """Odometer and fuel, once: the handover and close dialogs start from them."""
    from custodies import rules

    custody = _lock_open(user, custody_id, stage)
    vehicle = vehicle_for(custody)
    errors: dict[str, list[str]] = {}
    warnings: list[str] = []
    if odometer_km is not None:
        if stage == ConditionStage.RETURN and custody.handover_odometer_km is not None:
            last, since = custody.handover_odometer_km, custody.handed_over_at
        else:
            last, since = vehicle.odometer_km, vehicle.updated_at
        error, warning = rules.odometer_problems(odometer_km, last, since, None if since is None else _now())
        if error:
            errors["odometer_km"] = [error]
        if warning:
            warnings.append(warning)
    if fuel_level is not None and not 0 <= fuel_level <= 8:
        errors["fuel_level"] = [_("Fuel level is in eighths, 0 to 8.")]
    if errors:
        raise ValidationFailed(_("Check the readings."), errors)
    report = _report(custody, stage, user)
    before = audit.snapshot(report, ["odometer_km", "fuel_level", "notes"])
    report.odometer_km, report.fuel_level, report.notes = odometer_km, fuel_level, (notes or "").strip()
    report.vehicle = vehicle
    report.save()
    changes = audit.diff(before, audit.snapshot(report, ["odometer_km", "fuel_level", "notes"]))
    if changes:
        audit.record(
            "condition.recorded",
            report,
            object_type="condition_report",
            custody_id=custody.pk,
            changes=changes,
        )
    return Readings(report, warnings)


def _now():
    from django.utils import timezone

    return timezone.now()


def add_mark(user, custody_id, stage: str, data: dict, photo=None) -> DamageMark:
    """Mark damage on a zone (type, severity, note, optional photo from the phone's camera)."""
    errors: dict[str, list[str]] = {}
    if data.get("zone") not in DamageZone.values:
        errors["zone"] = [_("Tap a zone of the car.")]
    if data.get("damage_type") not in DamageType.values:
        errors["damage_type"] = [_("Choose the kind of damage.")]
    if data.get("severity") not in DamageSeverity.values:
        errors["severity"] = [_("Choose how bad it is.")]
    if errors:
        raise ValidationFailed(_("The damage mark is not complete."), errors)
    document = None
    if photo is not None:
        from .services import upload_documents

        custody = Custody.objects.get(pk=custody_id)
        result = upload_documents(user, custody, [photo], "photos")
        if result.errors:
            messages = [m for found in result.errors.values() for m in found]
            raise ValidationFailed(_("The photo was refused."), {"photo": messages})
        document = result.documents[0]
    with transaction.atomic():
        custody = _lock_open(user, custody_id, stage)
        report = _report(custody, stage, user)
        mark = DamageMark.objects.create(
            report=report,
            zone=data["zone"],
            damage_type=data["damage_type"],
            severity=data["severity"],
            note=(data.get("note") or "").strip()[:300],
            photo=document,
            created_by=user,
        )
        audit.record(
            "damage.marked",
            mark,
            object_type="damage_mark",
            custody_id=custody.pk,
            changes={
                "stage": [None, stage],
                "zone": [None, mark.zone],
                "damage_type": [None, mark.damage_type],
                "severity": [None, mark.severity],
            },
            message=mark.note,
        )
    return mark


@transaction.atomic
def remove_mark(user, mark_id) -> None:
    mark = DamageMark.objects.select_related("report").get(pk=mark_id)
    custody = _lock_open(user, mark.report.custody_id, mark.report.stage)
    audit.record(
        "damage.removed",
        mark,
        object_type="damage_mark",
        custody_id=custody.pk,
        changes={"zone": [mark.zone, None], "damage_type": [mark.damage_type, None]},
    )
    mark.delete()


@dataclass
class ZoneRow:
    zone: str
    label: str
    out: list
    back: list
    new: list


def comparison(custody: Custody) -> list[ZoneRow]:
    """Out (handover) vs in (return), zone by zone; a mark at return of a kind not seen there at handover
    is new damage."""
    out = report_for(custody, ConditionStage.HANDOVER)
    back = report_for(custody, ConditionStage.RETURN)
    out_marks = list(out.marks.all()) if out else []
    back_marks = list(back.marks.all()) if back else []
    rows = []
    for zone, label in DamageZone.choices:
        zone_out = [m for m in out_marks if m.zone == zone]
        zone_back = [m for m in back_marks if m.zone == zone]
        known = {m.damage_type for m in zone_out}
        rows.append(
            ZoneRow(
                zone, str(label), zone_out, zone_back, [m for m in zone_back if m.damage_type not in known]
            )
        )
    return rows


def new_damage(custody: Custody) -> list[DamageMark]:
    return [m for row in comparison(custody) for m in row.new]


def readings_for(custody: Custody, stage: str) -> tuple[int | None, int | None]:
    """(odometer_km, fuel_level) recorded for a stage, to prefill the handover or close dialog."""
    values = (
        ConditionReport.objects.filter(custody=custody, stage=stage)
        .values_list("odometer_km", "fuel_level")
        .first()
    )
    return values or (None, None)
