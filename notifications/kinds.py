"""What a user can be notified about (DESIGN §10) and on which channels.

Each kind is one row of the preference grid. `roles` limits which users see the row on the
settings page (a viewer is never asked about approvals); stored opt-outs apply whatever the role.
"""

from dataclasses import dataclass

from django.db import models
from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

from accounts.permissions import ADMINS, ALL_ROLES, OPERATORS, SUPERVISORS


class Channel(models.TextChoices):
    IN_APP = "in_app", _("Inbox")
    EMAIL = "email", _("E-mail")
    SMS = "sms", _("SMS")


@dataclass(frozen=True)
class Kind:
    code: str
    label: Promise
    help: Promise
    roles: frozenset[str]


_KINDS = [
    Kind(
        "approval_required",
        _("Approval needed"),
        _("A custody waits for an approval level you may decide."),
        SUPERVISORS,
    ),
    Kind(
        "approval_reminder",
        _("Approval reminder"),
        _("A level you may decide is still waiting."),
        SUPERVISORS,
    ),
    Kind(
        "approval_escalated",
        _("Approval escalated"),
        _("A level passed its due time and was escalated."),
        SUPERVISORS,
    ),
    Kind("custody_approved", _("Custody approved"), _("A custody you submitted was approved."), OPERATORS),
    Kind("custody_rejected", _("Custody rejected"), _("A custody you submitted was rejected."), OPERATORS),
    Kind(
        "custody_handed_over",
        _("Custody handed over"),
        _("A custody you created or submitted was handed over."),
        OPERATORS,
    ),
    Kind(
        "custody_closed", _("Custody closed"), _("A custody you created or submitted was closed."), OPERATORS
    ),
    Kind(
        "custody_voided", _("Custody voided"), _("A custody you created or submitted was voided."), OPERATORS
    ),
    Kind(
        "document_signed",
        _("Document signed"),
        _("A document of a custody you created was signed."),
        OPERATORS,
    ),
    Kind(
        "document_expiring",
        _("Document expiring"),
        _("A document expires within 7 days or today."),
        OPERATORS,
    ),
    Kind(
        "sla_at_risk",
        _("SLA at risk"),
        _("A custody in your branch is close to missing an SLA target."),
        SUPERVISORS,
    ),
    Kind("sla_breached", _("SLA breached"), _("A custody in your branch missed an SLA target."), SUPERVISORS),
    Kind(
        "custody_overdue",
        _("Custody overdue"),
        _("An active custody in your branch is past its expected return."),
        SUPERVISORS,
    ),
    Kind(
        "webhook_endpoint_disabled",
        _("Webhook endpoint disabled"),
        _("An integration endpoint kept failing and was switched off."),
        ADMINS,
    ),
    Kind(
        "system_status",
        _("System status"),
        _("Maintenance mode and the new-custodies switch are turned on or off."),
        frozenset(),  # every user is told; not a row of the preference grid (nobody opts out)
    ),
    Kind(
        "support_ticket",
        _("Support tickets"),
        _("A support ticket you reported or handle was created, answered or changed."),
        ALL_ROLES,
    ),
    Kind("announcement", _("Announcements"), _("A message from the administrators to everyone."), ALL_ROLES),
    Kind(
        "export_ready",
        _("Export ready"),
        _("A large export you asked for was built (or failed) in the background."),
        ALL_ROLES,
    ),
    Kind(
        "rollback_trigger",
        _("Rollback trigger"),
        _("Adoption, response time or error rate crossed a rollout threshold."),
        ADMINS,
    ),
]

KINDS: dict[str, Kind] = {kind.code: kind for kind in _KINDS}


def kinds_for(user) -> list[Kind]:
    """The preference rows shown to this user."""
    return [kind for kind in _KINDS if user.role in kind.roles]
