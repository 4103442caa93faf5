from django.db import models
from django.utils.translation import gettext_lazy as _


class ChargeType(models.TextChoices):
    REPLACEMENT_RENTAL = "replacement_rental", _("Replacement rental")
    DAMAGE = "damage", _("Damage")
    UPGRADE = "upgrade", _("Upgrade")
    DOWNGRADE = "downgrade", _("Downgrade")
    ADMIN_FEE = "admin_fee", _("Admin fee")
    FUEL = "fuel", _("Fuel")
    EXCESS_KM = "excess_km", _("Excess kilometres")
    LATE_RETURN = "late_return", _("Late return")
    OTHER = "other", _("Other")


class Responsibility(models.TextChoices):
    CUSTOMER = "customer", _("Customer")
    COMPANY = "company", _("Company")
    INSURANCE = "insurance", _("Insurance")
    THIRD_PARTY = "third_party", _("Third party")


class ChargeStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    POSTED = "posted", _("Posted")
    INVOICED = "invoiced", _("Invoiced")
    PAID = "paid", _("Paid")
    VOID = "void", _("Void")


CHARGE_COLOURS = {
    ChargeStatus.DRAFT: "secondary",
    ChargeStatus.POSTED: "primary",
    ChargeStatus.INVOICED: "info",
    ChargeStatus.PAID: "success",
    ChargeStatus.VOID: "dark",
}

# Charges that count towards the balance.
BILLED_STATUSES = (ChargeStatus.POSTED, ChargeStatus.INVOICED, ChargeStatus.PAID)


class PaymentMethod(models.TextChoices):
    CASH = "cash", _("Cash")
    CARD = "card", _("Card")
    BANK_TRANSFER = "bank_transfer", _("Bank transfer")
    INSURANCE_SETTLEMENT = "insurance_settlement", _("Insurance settlement")
    DEPOSIT_CARRYOVER = "deposit_carryover", _("Deposit carried over")
    PREAUTH_CAPTURE = "preauth_capture", _("Pre-authorization capture")


class HoldStatus(models.TextChoices):
    HELD = "held", _("Held")
    CAPTURED = "captured", _("Captured")
    RELEASED = "released", _("Released")
