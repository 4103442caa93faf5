"""`/api/v1/system`: the maintenance and new-custodies switches (DESIGN §15.2)."""

from django.core.exceptions import PermissionDenied
from ninja import Field, Router, Schema

from accounts import permissions
from core import switches

from . import services

router = Router(tags=["system"])


class SystemOut(Schema):
    maintenance_mode: bool
    new_custodies_enabled: bool
    message: str


class SystemPatch(Schema):
    maintenance_mode: bool | None = None
    new_custodies_enabled: bool | None = None
    message: str | None = Field(None, max_length=services.MESSAGE_MAX)


def _out() -> dict:
    state = switches.state()
    return {
        "maintenance_mode": state.maintenance_mode,
        "new_custodies_enabled": state.new_custodies_enabled,
        "message": state.message,
    }


@router.get("system", response=SystemOut, summary="The system switches (any signed-in user)")
def get_system(request):
    return _out()


@router.patch(
    "system",
    response=SystemOut,
    summary="Switch maintenance mode or new custodies (admins; works during maintenance)",
)
def patch_system(request, payload: SystemPatch):
    if not permissions.may(request.user, "settings.manage"):
        raise PermissionDenied("Only administrators change the system switches.")
    services.set_switches(request.user, **payload.dict(exclude_unset=True))
    return _out()
