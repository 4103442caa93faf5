"""Operating switches: maintenance mode and "new custodies off" (DESIGN §14, §15.2).

`core.switches` is where every layer asks; this module stores the switches and changes them.
"""

from django.apps import apps
from django.db import transaction
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy

from accounts import permissions
from audit import services as audit
from core.errors import ValidationFailed
from core.switches import SwitchState

from .models import SystemSettings

MESSAGE_MAX = 500


def read_state() -> SwitchState:
    row = SystemSettings.objects.filter(pk=1).values("maintenance_mode", "new_custodies_enabled", "message")
    found = row.first()
    return SwitchState(**found) if found else SwitchState()


@transaction.atomic
def set_switches(
    user,
    *,
    maintenance_mode: bool | None = None,
    new_custodies_enabled: bool | None = None,
    message: str | None = None,
) -> SystemSettings:
    """Flip the switches; audited, and every active user is told. `user=None` is the CLI (system)."""
    if user is not None:
        permissions.require(user, "settings.manage")
    if message is not None:
        message = message.strip()
        if len(message) > MESSAGE_MAX:
            raise ValidationFailed(
                gettext_lazy("The message is too long."),
                {"message": [format_lazy(gettext_lazy("At most {n} characters."), n=MESSAGE_MAX)]},
            )
    SystemSettings.objects.get_or_create(pk=1)
    row = SystemSettings.objects.select_for_update().get(pk=1)
    wanted = {
        "maintenance_mode": maintenance_mode,
        "new_custodies_enabled": new_custodies_enabled,
        "message": message,
    }
    changes = {
        field: [getattr(row, field), value]
        for field, value in wanted.items()
        if value is not None and getattr(row, field) != value
    }
    if not changes:
        return row
    for field, (_old, new) in changes.items():
        setattr(row, field, new)
    row.save(update_fields=[*changes, "updated_at"])
    audit.record("system.switches_changed", row, object_type="system_settings", changes=changes)
    _tell_everyone(row, changes)
    if changes.get("maintenance_mode") == [True, False]:
        # Held deliveries go out now rather than at the next scheduled retry.
        from .tasks import release_held_outbound

        transaction.on_commit(lambda: release_held_outbound.enqueue())
    return row


def _tell_everyone(row: SystemSettings, changes: dict) -> None:
    if not apps.is_installed("notifications"):
        return
    from accounts.models import User
    from notifications.services import notify_users

    notes = []
    if "maintenance_mode" in changes:
        notes.append(
            gettext_lazy("Maintenance mode is on: the system is read-only for now.")
            if row.maintenance_mode
            else gettext_lazy("Maintenance is over: you can work as usual.")
        )
    if "new_custodies_enabled" in changes:
        notes.append(
            gettext_lazy("New custodies can be opened again.")
            if row.new_custodies_enabled
            else gettext_lazy("Opening new custodies is switched off; running custodies continue.")
        )
    if not notes:  # only the message changed
        notes.append(gettext_lazy("The administrators updated the system notice."))
    stamp = row.updated_at.strftime("%Y%m%d%H%M%S%f")
    for note in notes:
        notify_users(
            User.objects.filter(is_active=True),
            "system_status",
            note,
            row.message,
            url="/",
            dedupe_key=f"system:{stamp}:{str(note)[:40]}",
        )
