from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustodiesConfig(AppConfig):
    name = "custodies"
    verbose_name = _("Custodies")

    def ready(self):
        from fleet import selectors as fleet_selectors
        from fleet import services as fleet_services

        from .selectors import held_vehicle_ids, holding_custody_no

        # fleet sits below custodies: it learns who holds a vehicle through these registrations.
        fleet_services.register_holder(holding_custody_no)
        fleet_selectors.register_hold(held_vehicle_ids)
