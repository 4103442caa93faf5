from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Charges and payments")

    def ready(self):
        from accounts import lists

        # Saved filters (accounts, below us) keep only what the list's own filter form accepts.
        lists.register(
            lists.FilterList(
                "charges",
                _("Charges"),
                "billing:charges",
                "billing.views.charge_filter_form",
                "billing.selectors.ORDERINGS",
            )
        )
