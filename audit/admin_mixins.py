from audit import services as audit


class AuditedAdmin:
    """Django-admin changes to settings are audited like any other change (before → after)."""

    def save_model(self, request, obj, form, change):
        before = audit.snapshot(type(obj).objects.get(pk=obj.pk)) if change else {}
        super().save_model(request, obj, form, change)
        changes = audit.diff(before, audit.snapshot(obj))
        changes.pop("updated_at", None)
        verb = "updated" if change else "created"
        audit.record(f"{obj._meta.model_name}.{verb}", obj, changes=changes, message="Django admin")

    def delete_model(self, request, obj):
        audit.record(
            f"{obj._meta.model_name}.deleted",
            obj,
            changes=audit.diff(audit.snapshot(obj), {}),
            message="Django admin",
        )
        super().delete_model(request, obj)


class ReadOnlyAdmin:
    """Shown in Django admin for support, changed only through the product (its services audit it)."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
