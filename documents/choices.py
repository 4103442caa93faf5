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


class ConditionStage(models.TextChoices):
    HANDOVER = "handover", _("Handover")
    RETURN = "return", _("Return")


class DamageZone(models.TextChoices):
    """Fixed zones so the car's condition at handover and at return compare zone by zone."""

    FRONT = "front", _("Front")
    REAR = "rear", _("Rear")
    LEFT = "left", _("Left side")
    RIGHT = "right", _("Right side")
    ROOF = "roof", _("Roof")
    INTERIOR = "interior", _("Interior")
    TYRES = "tyres", _("Tyres")
    GLASS = "glass", _("Glass")


class DamageType(models.TextChoices):
    SCRATCH = "scratch", _("Scratch")
    DENT = "dent", _("Dent")
    CRACK = "crack", _("Crack / chip")
    BROKEN = "broken", _("Broken")
    MISSING = "missing", _("Missing part")
    STAIN = "stain", _("Stain / burn")
    OTHER = "other", _("Other")


class DamageSeverity(models.TextChoices):
    MINOR = "minor", _("Minor")
    MODERATE = "moderate", _("Moderate")
    MAJOR = "major", _("Major")
