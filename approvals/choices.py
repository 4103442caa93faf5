from django.db import models
from django.utils.translation import gettext_lazy as _


class ApprovalStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    ESCALATED = "escalated", _("Escalated")
    SKIPPED = "skipped", _("Skipped")


APPROVAL_COLOURS = {
    ApprovalStatus.PENDING: "warning",
    ApprovalStatus.APPROVED: "success",
    ApprovalStatus.REJECTED: "danger",
    ApprovalStatus.ESCALATED: "danger",
    ApprovalStatus.SKIPPED: "secondary",
}

OPEN_STATUSES = (ApprovalStatus.PENDING, ApprovalStatus.ESCALATED)
