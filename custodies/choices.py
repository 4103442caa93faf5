from django.db import models
from django.utils.translation import gettext_lazy as _


class CustodyStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PENDING_APPROVAL = "pending_approval", _("Pending approval")
    APPROVED = "approved", _("Approved")
    ACTIVE = "active", _("Active")
    CLOSED = "closed", _("Closed")
    VOIDED = "voided", _("Voided")


STATUS_COLOURS = {
    CustodyStatus.DRAFT: "secondary",
    CustodyStatus.PENDING_APPROVAL: "warning",
    CustodyStatus.APPROVED: "info",
    CustodyStatus.ACTIVE: "primary",
    CustodyStatus.CLOSED: "success",
    CustodyStatus.VOIDED: "dark",
}

TERMINAL_STATUSES = {CustodyStatus.CLOSED, CustodyStatus.VOIDED}


class CustodianType(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    DRIVER = "driver", _("Additional driver")
    ORIGINATOR = "originator", _("Staff member (originator)")


class ReasonCode(models.TextChoices):
    ACCIDENT = "accident", _("Accident")
    BREAKDOWN = "breakdown", _("Breakdown")
    MAINTENANCE = "maintenance", _("Maintenance")
    DAMAGE = "damage", _("Damage")
    OTHER = "other", _("Other")


class ReasonSubcode(models.TextChoices):
    COLLISION_THIRD_PARTY = "collision_third_party", _("Collision with a third party")
    COLLISION_OWN_DAMAGE = "collision_own_damage", _("Collision, own damage")
    HIT_AND_RUN = "hit_and_run", _("Hit and run")
    ROLLOVER = "rollover", _("Rollover")
    FIRE = "fire", _("Fire")
    ENGINE_FAILURE = "engine_failure", _("Engine failure")
    TRANSMISSION_ISSUE = "transmission_issue", _("Transmission issue")
    ELECTRICAL_PROBLEM = "electrical_problem", _("Electrical problem")
    TIRE_BLOWOUT = "tire_blowout", _("Tire blowout")
    BATTERY_DEAD = "battery_dead", _("Battery dead")
    REGULAR_SERVICE = "regular_service", _("Regular service")
    RECALL_CAMPAIGN = "recall_campaign", _("Recall campaign")
    WARRANTY_WORK = "warranty_work", _("Warranty work")
    INSPECTION = "inspection", _("Inspection")
    VANDALISM = "vandalism", _("Vandalism")
    THEFT_ATTEMPTED = "theft_attempted", _("Attempted theft")
    WEATHER_DAMAGE = "weather_damage", _("Weather damage")
    INTERIOR_DAMAGE = "interior_damage", _("Interior damage")
    CUSTOMER_REQUEST = "customer_request", _("Customer request")
    UPGRADE = "upgrade", _("Upgrade")
    DOWNGRADE = "downgrade", _("Downgrade")


SUBCODES_BY_REASON: dict[str, list[str]] = {
    ReasonCode.ACCIDENT: ["collision_third_party", "collision_own_damage", "hit_and_run", "rollover", "fire"],
    ReasonCode.BREAKDOWN: [
        "engine_failure",
        "transmission_issue",
        "electrical_problem",
        "tire_blowout",
        "battery_dead",
    ],
    ReasonCode.MAINTENANCE: ["regular_service", "recall_campaign", "warranty_work", "inspection"],
    ReasonCode.DAMAGE: ["vandalism", "theft_attempted", "weather_damage", "interior_damage"],
    ReasonCode.OTHER: ["customer_request", "upgrade", "downgrade"],
}


class RatePolicy(models.TextChoices):
    INHERIT = "inherit", _("Agreement daily rate")
    PRORATE = "prorate", _("Agreement monthly rate prorated")
    FREE = "free", _("Free of charge")
    SPECIAL_CODE = "special_code", _("Special rate code")


class SlaState(models.TextChoices):
    ON_TRACK = "on_track", _("On track")
    AT_RISK = "at_risk", _("At risk")
    BREACHED = "breached", _("Breached")
    MET = "met", _("Met")


SLA_COLOURS = {
    SlaState.ON_TRACK: "success",
    SlaState.AT_RISK: "warning",
    SlaState.BREACHED: "danger",
    SlaState.MET: "secondary",
}


class SlaTarget(models.TextChoices):
    APPROVE = "approve", _("Approval")
    HANDOVER = "handover", _("Handover")
    CLOSE = "close", _("Close")
