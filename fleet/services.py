"""Creating and changing reference data: validated, permission-checked, audited."""

from django.db import transaction
from django.db.models import Model

from accounts import permissions
from audit import services as audit

from .models import TaxProfile

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
