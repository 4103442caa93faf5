from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "billing"
    verbose_name = _("Charges and payments")

    def ready(self):
        from accounts import lists
        from custodies import hooks
        from fleet.models import TaxProfile

        from . import money, rental, selectors, services

        money.DEFAULT_TAX_RATE.watch(TaxProfile)

        # custodies sits below us: its transitions, page and API reach the custody's money through this.
        hooks.register_billing(
            hooks.CustodyBilling(
                sync_rental=services.sync_replacement_rental,
                sync_hold=services.sync_custody_hold,
                blocking_drafts=services.blocking_drafts,
                close_suggestions=rental.close_suggestions,
                finalize_on_close=services.finalize_on_close,
                balance=lambda custody, created=False: services.balance(custody, created=created).as_dict(),
                with_amounts=selectors.with_custody_amounts,
            )
        )

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
