from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustodiesConfig(AppConfig):
    name = "custodies"
    verbose_name = _("Custodies")

    def ready(self):
        from django.db.models.signals import post_save

        from accounts import lists
        from fleet import selectors as fleet_selectors
        from fleet import services as fleet_services
        from fleet.models import Customer

        from .models import Custody
        from .selectors import forget_recent_customers, held_vehicle_ids, holding_custody_no

        post_save.connect(forget_recent_customers, sender=Custody, dispatch_uid="custodies_recent_customers")
        post_save.connect(forget_recent_customers, sender=Customer, dispatch_uid="custodies_recent_customers")

        # fleet sits below custodies: it learns who holds a vehicle through these registrations.
        fleet_services.register_holder(holding_custody_no)
        fleet_selectors.register_hold(held_vehicle_ids)
        # Saved filters (accounts, below us) keep only what the list's own filter form accepts.
        lists.register(
            lists.FilterList(
                "custodies",
                _("Custodies"),
                "custodies:list",
                "custodies.views.list_filter_form",
                "custodies.views.LIST_SORTS",
            )
        )
