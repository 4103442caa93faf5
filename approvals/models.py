import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import ApprovalStatus


class ApprovalRule(models.Model):
    """Ordered, first match wins (DESIGN §5). Empty condition lists match anything."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(_("name"), max_length=120)
    priority = models.PositiveIntegerField(_("order"), default=100, help_text=_("Lower runs first."))
    active = models.BooleanField(_("active"), default=True)
    reason_codes = models.JSONField(_("reasons"), default=list, blank=True)
    branch_codes = models.JSONField(_("branches"), default=list, blank=True)
    custodian_types = models.JSONField(_("custodian types"), default=list, blank=True)
    rate_policies = models.JSONField(_("rate policies"), default=list, blank=True)
    min_damage_hold = models.DecimalField(
        _("damage hold at least"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    max_damage_hold = models.DecimalField(
        _("damage hold at most"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    min_estimated_cost = models.DecimalField(
        _("estimated cost at least"), max_digits=12, decimal_places=2, null=True, blank=True
    )
    auto_approve = models.BooleanField(_("approve automatically"), default=False)
    # [{"role": "supervisor", "due_hours": null}, {"role": "manager", "due_hours": 4}]; null = SLA approve target
    levels = models.JSONField(_("levels"), default=list, blank=True)

    class Meta:
        ordering = ["priority", "name"]
        verbose_name = _("approval rule")
        verbose_name_plural = _("approval rules")

    def __str__(self):
        return self.name


class Approval(models.Model):
    """One approval level of one submission round of a custody."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    # Labels translated: the audit log and the timeline show these fields by name (audit.present).
    custody = models.ForeignKey(
        "custodies.Custody", on_delete=models.CASCADE, related_name="approvals", verbose_name=_("custody")
    )
    round = models.PositiveIntegerField(_("submission round"), default=1)
    level = models.PositiveSmallIntegerField(_("level"))
    role = models.CharField(_("role"), max_length=20)
    rule_name = models.CharField(_("approval rule"), max_length=120, blank=True)
    status = models.CharField(
        _("status"), max_length=10, choices=ApprovalStatus.choices, default=ApprovalStatus.PENDING
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="approval_decisions",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    notes = models.TextField(_("notes"), blank=True)
    due_at = models.DateTimeField(_("due at"), null=True, blank=True)
    reminded_at = models.DateTimeField(_("reminded at"), null=True, blank=True)
    escalated_at = models.DateTimeField(_("escalated at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        ordering = ["custody", "round", "level"]
        verbose_name = _("approval level")
        verbose_name_plural = _("approval levels")
        indexes = [
            models.Index(fields=["status", "role"], name="approval_open_by_role"),
            models.Index(fields=["status", "due_at"], name="approval_due"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["custody", "round", "level"], name="approval_one_row_per_level"),
            # Segregation of duties: one user decides at most one level of a custody's round.
            models.UniqueConstraint(
                fields=["custody", "round", "decided_by"],
                condition=Q(decided_by__isnull=False),
                name="approval_one_level_per_user",
            ),
        ]

    def __str__(self):
        return f"{self.custody_id} L{self.level} {self.role} {self.status}"
