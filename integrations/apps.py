from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class IntegrationsConfig(AppConfig):
    name = "integrations"
    verbose_name = _("Integrations")

    def ready(self):
        from core import events

        from .events import emit, emit_many

        # Apps below integrations emit through core.events; the outbox is where the events go.
        events.register_sink(emit, emit_many)
