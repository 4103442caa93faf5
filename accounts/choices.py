from django.db import models
from django.utils.translation import gettext_lazy as _


class Role(models.TextChoices):
    VIEWER = "viewer", _("Viewer")
    OPERATOR = "operator", _("Operator")
    SUPERVISOR = "supervisor", _("Supervisor")
    MANAGER = "manager", _("Manager")
    FINANCE = "finance", _("Finance")
    ADMIN = "admin", _("Admin")


class Language(models.TextChoices):
    ENGLISH = "en", _("English")
    ARABIC = "ar", _("Arabic")
