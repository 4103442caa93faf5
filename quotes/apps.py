from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class QuotesConfig(AppConfig):
    name = "quotes"
    verbose_name = _("Quotes and cost sheets")

    def ready(self):
        from accounts import lists

        # Saved filters (accounts, below us) keep only what the list's own filter form accepts.
        lists.register(
            lists.FilterList(
                "quotes",
                _("Quotes"),
                "quotes:list",
                "quotes.views.quote_filter_form",
                "quotes.selectors.LIST_ORDERINGS",
            )
        )
