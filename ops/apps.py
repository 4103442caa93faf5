from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = _("Ops")

    def ready(self):
        from core import schedule, switches

        from .jobs import first_time
        from .services import read_state

        switches.register(read_state)
        schedule.register_marker_store(first_time)
