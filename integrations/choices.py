from django.db import models
from django.utils.translation import gettext_lazy as _


class IntegrationType(models.TextChoices):
    FLEET = "fleet", _("Fleet")
    BILLING = "billing", _("Billing")
    CLAIMS = "claims", _("Claims")
    CUSTOM = "custom", _("Custom")


class DeliveryStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    FAILED = "failed", _("Failed")
    CANCELLED = "cancelled", _("Cancelled")


DELIVERY_COLOURS = {
    DeliveryStatus.PENDING: "warning",
    DeliveryStatus.DELIVERED: "success",
    DeliveryStatus.FAILED: "danger",
    DeliveryStatus.CANCELLED: "secondary",
}
