from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustodiesConfig(AppConfig):
    name = "custodies"
    verbose_name = _("Custodies")

    def ready(self):
        from accounts import lists
        from fleet import selectors as fleet_selectors
        from fleet import services as fleet_services
        from fleet.models import Customer

        from .models import Custody, SlaPolicy
        from .selectors import RECENT_CUSTOMERS, held_vehicle_ids, holding_custody_no
        from .sla import POLICIES

        RECENT_CUSTOMERS.watch(Custody, Customer)
        POLICIES.watch(SlaPolicy)

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
