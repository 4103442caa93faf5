from django.db import models
from django.utils.translation import gettext_lazy as _


class CustomerKind(models.TextChoices):
    PERSON = "person", _("Person")
    COMPANY = "company", _("Company")


class VehicleStatus(models.TextChoices):
    AVAILABLE = "available", _("Available")
    RESERVED = "reserved", _("Reserved")
    RENTED = "rented", _("Rented")
    IN_CUSTODY = "in_custody", _("In custody")
    MAINTENANCE = "maintenance", _("Maintenance")
    OUT_OF_SERVICE = "out_of_service", _("Out of service")


VEHICLE_STATUS_COLOURS = {
    VehicleStatus.AVAILABLE: "success",
    VehicleStatus.RESERVED: "info",
    VehicleStatus.RENTED: "primary",
    VehicleStatus.IN_CUSTODY: "warning",
    VehicleStatus.MAINTENANCE: "secondary",
    VehicleStatus.OUT_OF_SERVICE: "danger",
}


class AgreementStatus(models.TextChoices):
    ACTIVE = "active", _("Active")
    COMPLETED = "completed", _("Completed")
    TERMINATED = "terminated", _("Terminated")


AGREEMENT_STATUS_COLOURS = {
    AgreementStatus.ACTIVE: "success",
    AgreementStatus.COMPLETED: "secondary",
    AgreementStatus.TERMINATED: "danger",
}
