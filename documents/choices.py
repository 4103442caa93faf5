from django.db import models
from django.utils.translation import gettext_lazy as _


class DocumentType(models.TextChoices):
    CUSTOMER_ACKNOWLEDGMENT = "customer_acknowledgment", _("Customer acknowledgment")
    INCIDENT_REPORT = "incident_report", _("Incident report")
    POLICE_REPORT = "police_report", _("Police report")
    PHOTOS = "photos", _("Photos")
    INSURANCE_DOCS = "insurance_docs", _("Insurance documents")
    HANDOVER_CHECKLIST = "handover_checklist", _("Handover checklist")
    RETURN_CHECKLIST = "return_checklist", _("Return checklist")
    SIGNATURE = "signature", _("Signature")
    OTHER = "other", _("Other")


class RuleStage(models.TextChoices):
    SUBMIT = "submit", _("At submission")
    HANDOVER = "handover", _("At handover")
    CLOSE = "close", _("At close")


class SignatureStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    SIGNED = "signed", _("Signed")
    DECLINED = "declined", _("Declined")


# Which documents can be signed on the signature pad.
SIGNABLE_TYPES = (
    DocumentType.CUSTOMER_ACKNOWLEDGMENT,
    DocumentType.HANDOVER_CHECKLIST,
    DocumentType.RETURN_CHECKLIST,
)
