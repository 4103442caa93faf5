from django.db import models
from django.utils.translation import gettext_lazy as _


class Severity(models.TextChoices):
    LOW = "low", _("Low")
    NORMAL = "normal", _("Normal")
    HIGH = "high", _("High")
    URGENT = "urgent", _("Urgent")

    @property
    def colour(self) -> str:
        return {"low": "secondary", "normal": "info", "high": "warning", "urgent": "danger"}[self.value]


class TicketStatus(models.TextChoices):
    OPEN = "open", _("Open")
    IN_PROGRESS = "in_progress", _("In progress")
    RESOLVED = "resolved", _("Resolved")
    CLOSED = "closed", _("Closed")

    @property
    def colour(self) -> str:
        return {"open": "primary", "in_progress": "warning", "resolved": "success", "closed": "secondary"}[
            self.value
        ]


class AnnouncementLevel(models.TextChoices):
    INFO = "info", _("Information")
    WARNING = "warning", _("Warning")
    DANGER = "danger", _("Important")
