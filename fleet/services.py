"""Creating and changing reference data: validated, permission-checked, audited."""

from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Model
from django.utils.translation import gettext as _

from accounts import permissions
from audit import services as audit
from core.errors import Conflict

from .models import TaxProfile, Vehicle

# model_name → permission action prefix ("<prefix>.create" / "<prefix>.edit")
EDIT_ACTIONS = {
    "branch": ("branch.edit", "branch.edit"),
    "customer": ("customer.create", "customer.edit"),
    "vehicleclass": ("vehicle_class.edit", "vehicle_class.edit"),
    "vehicle": ("vehicle.create", "vehicle.edit"),
    "rentalagreement": ("agreement.create", "agreement.edit"),
    "specialratecode": ("special_rate_code.edit", "special_rate_code.edit"),
    "taxprofile": ("tax_profile.edit", "tax_profile.edit"),
}


def may_create(user, model: type[Model]) -> bool:
    return permissions.may(user, EDIT_ACTIONS[model._meta.model_name][0])


def may_edit(user, model: type[Model]) -> bool:
    return permissions.may(user, EDIT_ACTIONS[model._meta.model_name][1])


def require_role(user, instance: Model) -> None:
    """403 unless the role may create (a new instance) or edit (a saved one) records of its kind."""
    create_action, edit_action = EDIT_ACTIONS[instance._meta.model_name]
    permissions.require(user, create_action if instance._state.adding else edit_action)


@transaction.atomic
def save_record(user, instance: Model, data: dict | None = None) -> Model:
    """Apply `data` (may be empty when a ModelForm already set the fields), validate, save, audit.

    Raises django.core.exceptions.ValidationError with per-field messages on bad input.
    """
    model = type(instance)
    creating = instance._state.adding
    create_action, edit_action = EDIT_ACTIONS[model._meta.model_name]
    permissions.require(user, create_action if creating else edit_action, None if creating else instance)
    if creating and getattr(instance, "branch_id", None) is not None:
        # Creating in a branch the user does not work in is refused like any other action.
        permissions.require(user, create_action, instance)
    before = {} if creating else audit.snapshot(model.objects.get(pk=instance.pk))
    for field, value in (data or {}).items():
        setattr(instance, field, value)
    instance.full_clean()
    if isinstance(instance, Vehicle) and not creating and before.get("status") != instance.status:
        refusal = status_change_refusal(instance)
        if refusal:
            raise ValidationError({"status": [refusal]})
    if isinstance(instance, TaxProfile) and instance.is_default:
        TaxProfile.objects.exclude(pk=instance.pk).filter(is_default=True).update(is_default=False)
    instance.save()
    changes = audit.diff(before, audit.snapshot(instance))
    changes.pop("updated_at", None)
    if creating or changes:
        audit.record(
            f"{model._meta.model_name}.{'created' if creating else 'updated'}", instance, changes=changes
        )
    return instance


# ---- vehicle status ----------------------------------------------------------------------------------
# Apps above fleet say who holds a vehicle (custodies registers "an open custody" in its AppConfig.ready).
# A held vehicle's status follows its holder: the holder's own services move it (`set_status(...,
# by_holder=True)`); every other change (form, API, Django admin, fleet integration) is refused.
_HOLDERS: list[Callable[[Vehicle], str | None]] = []


def register_holder(holder: Callable[[Vehicle], str | None]) -> None:
    """`holder(vehicle)` names what holds the vehicle (a custody number) or returns None."""
    if holder not in _HOLDERS:
        _HOLDERS.append(holder)


def held_by(vehicle: Vehicle) -> str | None:
    for holder in _HOLDERS:
        name = holder(vehicle)
        if name:
            return name
    return None


def status_change_refusal(vehicle: Vehicle) -> str | None:
    """Why the vehicle's status may not be changed by hand now, or None."""
    holder = held_by(vehicle)
    if holder:
        return _("%(holder)s holds this vehicle; its status follows the custody.") % {"holder": holder}
    return None


def set_status(
    vehicle: Vehicle,
    status: str,
    *,
    by_holder: bool = False,
    message: str = "",
    custody_id=None,
    entries: list | None = None,
    **readings,
) -> dict:
    """Move a (locked) vehicle to `status`, with optional readings (odometer_km, fuel_level); audited.

    Returns the changes. Raises Conflict when a holder keeps the vehicle and the caller is not it.
    `entries`: the audit entry is appended there, for the caller to write with its own in one INSERT
    (audit.record_many, in the same transaction), instead of being written now.
    """
    if not by_holder and status != vehicle.status:
        refusal = status_change_refusal(vehicle)
        if refusal:
            raise Conflict(refusal, {"status": [refusal]})
    changed = {"status": [vehicle.status, status]} if vehicle.status != status else {}
    vehicle.status = status
    for name, value in readings.items():
        if value is not None and getattr(vehicle, name) != value:
            changed[name] = [getattr(vehicle, name), value]
            setattr(vehicle, name, value)
    if changed:
        vehicle.save(update_fields=["status", *readings.keys(), "updated_at"])
        entry = audit.entry(
            "vehicle.updated", vehicle, custody_id=custody_id, changes=changed, message=message
        )
        if entries is None:
            audit.record_many([entry])
        else:
            entries.append(entry)
    return changed


# ---- seed rows in bulk (demo data) -----------------------------------------------------------------
# System writes, not a user's: the caller runs them inside `acting_as(source="system")`.


@transaction.atomic
def ensure_row(model: type[Model], key: dict, defaults: dict) -> Model:
    """The row matching `key`, created from `defaults` (validated and audited) when there is none."""
    existing = model.objects.filter(**key).first()
    if existing is not None:
        return existing
    instance = model(**key, **defaults)
    instance.full_clean()
    if isinstance(instance, TaxProfile) and instance.is_default:
        TaxProfile.objects.filter(is_default=True).update(is_default=False)
    instance.save()
    audit.record(f"{model._meta.model_name}.created", instance, changes=audit.snapshot(instance))
    return instance


@transaction.atomic
def add_in_bulk(objects: list[Model], status_since: dict | None = None) -> list[Model]:
    """Insert new rows of one model in one statement, each validated like a form save (the caller has
    skipped rows whose natural key exists), with one audit entry for the batch. `status_since` maps a
    vehicle's pk to the time its current status began (kept in `updated_at`)."""
    if not objects:
        return objects
    for obj in objects:
        obj.full_clean(validate_unique=False, validate_constraints=False)
    model = type(objects[0])
    model.objects.bulk_create(objects)
    for pk, since in (status_since or {}).items():
        model.objects.filter(pk=pk).update(updated_at=since)  # update() leaves auto_now alone
    audit.record(
        f"{model._meta.model_name}.created_in_bulk",
        object_type=model._meta.model_name,
        object_id="",
        changes={"count": len(objects)},
        message=f"{len(objects)} {model._meta.verbose_name_plural} added in bulk",
    )
    return objects


# ---- company profile (admin configuration page) -----------------------------------------------------

COMPANY_FIELDS = ["name", "name_ar", "address", "address_ar", "trn", "phone", "email", "website"]
LOGO_TYPES = {b"\x89PNG\r\n\x1a\n": "image/png", b"\xff\xd8\xff": "image/jpeg"}
LOGO_MAX_BYTES = 512 * 1024


@transaction.atomic
def save_company_profile(user, data: dict, logo: bytes | None = None):
    """The one seller profile printed on invoices and forms (admins); the logo is a PNG or JPEG, sniffed."""
    from core.errors import ValidationFailed

    from .models import CompanyProfile

    permissions.require(user, "settings.manage")
    profile = CompanyProfile.objects.select_for_update().order_by("created_at").first() or CompanyProfile()
    creating = profile._state.adding
    before = {} if creating else audit.snapshot(profile, COMPANY_FIELDS)
    for name, value in data.items():
        if name in COMPANY_FIELDS:
            setattr(profile, name, "" if value is None else str(value).strip())
    changes_logo = None
    if logo:
        content_type = next((t for magic, t in LOGO_TYPES.items() if logo.startswith(magic)), None)
        if content_type is None:
            raise ValidationFailed(
                _("The logo must be a PNG or JPEG image."),
                {"logo": [_("The logo must be a PNG or JPEG image.")]},
            )
        if len(logo) > LOGO_MAX_BYTES:
            raise ValidationFailed(_("The logo is too large."), {"logo": [_("At most 512 KB.")]})
        profile.logo, profile.logo_content_type = logo, content_type
        changes_logo = [None, content_type]
    try:
        profile.full_clean(exclude=["logo", "logo_content_type"])
    except ValidationError as exc:
        raise ValidationFailed(_("The company profile is not valid."), exc.message_dict) from exc
    profile.save()
    changes = audit.diff(before, audit.snapshot(profile, COMPANY_FIELDS))
    if changes_logo:
        changes["logo"] = changes_logo
    audit.record(
        "companyprofile.created" if creating else "companyprofile.updated",
        profile,
        object_type="company_profile",
        changes=changes,
    )
    return profile
