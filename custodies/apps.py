from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CustodiesConfig(AppConfig):
    name = "custodies"
    verbose_name = _("Custodies")
