from django.db import models
from django.utils.translation import gettext_lazy as _


class QuoteStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_APPROVAL = "pending_approval", _("Pending approval")
    APPROVED = "approved", _("Approved")
    SENT = "sent", _("Sent")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Rejected")
    EXPIRED = "expired", _("Expired")


QUOTE_COLOURS = {
    QuoteStatus.DRAFT: "secondary",
    QuoteStatus.PENDING_APPROVAL: "warning",
    QuoteStatus.APPROVED: "info",
    QuoteStatus.SENT: "primary",
    QuoteStatus.ACCEPTED: "success",
    QuoteStatus.REJECTED: "danger",
    QuoteStatus.EXPIRED: "dark",
}

# A quote in one of these can still lapse at valid_until.
OPEN_QUOTE_STATUSES = (
    QuoteStatus.DRAFT,
    QuoteStatus.PENDING_APPROVAL,
    QuoteStatus.APPROVED,
    QuoteStatus.SENT,
)


class CostSheetStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_APPROVAL = "pending_approval", _("Pending approval")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    OBSOLETE = "obsolete", _("Obsolete")


COST_SHEET_COLOURS = {
    CostSheetStatus.DRAFT: "secondary",
    CostSheetStatus.PENDING_APPROVAL: "warning",
    CostSheetStatus.APPROVED: "success",
    CostSheetStatus.REJECTED: "danger",
    CostSheetStatus.OBSOLETE: "dark",
}
