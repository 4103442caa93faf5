"""Operating switches: maintenance mode and "new custodies off" (DESIGN §14)."""

from django.utils.translation import gettext as _

from core.errors import Maintenance

from .models import SystemSettings


def ensure_new_custodies_allowed() -> None:
    if not SystemSettings.load().new_custodies_enabled:
        raise Maintenance(_("Creating new custodies is switched off by an administrator."))
