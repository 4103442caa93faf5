"""Scheduled alerts and e-mail retries (run by the worker; see core/schedule.py).

Who is told what when a clock runs out lives here and in `services.EVENT_RULES` (alerts that follow an
outbox event, such as an SLA breach or an overdue custody); the apps below only stamp their own state.
"""

from datetime import datetime, timedelta
from functools import cache

from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _

from accounts.choices import Role
from approvals.eligibility import decider_roles
from approvals.models import Approval
from approvals.services import claim_reminder
from core import switches
from core.schedule import every
from custodies import sla
from custodies.choices import SlaState, SlaTarget
from custodies.models import Custody
from documents.models import Document

from .services import branch_staff, local_time, notify_users, retry_failed_emails


def _role(role: str):
    return Role(role).label if role in Role.values else role


def _staff_cache():
    """branch id, roles -> that branch's active staff, read once per job run (not once per custody)."""

    @cache
    def staff(branch_id, roles: frozenset = frozenset({Role.SUPERVISOR, Role.MANAGER})) -> list:
        return list(branch_staff(branch_id, roles))

    return staff


@every(minutes=5)
def sla_at_risk(now: datetime) -> dict:
    staff = _staff_cache()
    count = 0
    for custody in Custody.objects.filter(sla.state_q(SlaState.AT_RISK, now)).select_related("branch")[:1000]:
        view = sla.current_view(custody, now)
        if view:
            count += notify_users(
                staff(custody.branch_id),
                "sla_at_risk",
                format_lazy(_("SLA at risk: {no}"), no=custody.custody_no),
                format_lazy(
                    _("The {target} target is due {due}."),
                    target=SlaTarget(view.target).label,
                    due=local_time(view.due_at, custody.branch),
                ),
                url=f"/custodies/{custody.pk}/",
                custody=custody,
                dedupe_key=f"sla_at_risk:{custody.pk}:{view.target}",
            )
    return {"notified": count}


@every(minutes=5)
def approval_escalations(now: datetime) -> dict:
    """Tell supervisors and managers about levels escalated in the last two days (once per level)."""
    staff = _staff_cache()
    count = 0
    recent = now - timedelta(days=2)
    for level in Approval.objects.filter(status="escalated", escalated_at__gte=recent).select_related(
        "custody"
    )[:500]:
        count += notify_users(
            staff(level.custody.branch_id),
            "approval_escalated",
            format_lazy(
                _("Approval escalated: {no} level {level}"), no=level.custody.custody_no, level=level.level
            ),
            format_lazy(
                _("Level {level} ({role}) was not decided in time."),
                level=level.level,
                role=_role(level.role),
            ),
            url=f"/custodies/{level.custody_id}/",
            custody=level.custody,
            dedupe_key=f"escalated:{level.pk}",
        )
    return {"notified": count}


@every(minutes=5)
def approval_reminders(now: datetime) -> dict:
    """Remind deciders once when half of a level's time has passed."""
    staff = _staff_cache()
    count = 0
    waiting = Approval.objects.filter(
        status="pending", reminded_at__isnull=True, due_at__isnull=False, due_at__gt=now
    ).select_related("custody__branch")
    for level in waiting[:1000]:
        start = level.created_at
        if now < start + (level.due_at - start) / 2 or not claim_reminder(level, now):
            continue
        count += notify_users(
            staff(level.custody.branch_id, decider_roles(level.role)),
            "approval_reminder",
            format_lazy(_("Approval waiting: {no}"), no=level.custody.custody_no),
            format_lazy(
                _("Level {level} is due {due}."),
                level=level.level,
                due=local_time(level.due_at, level.custody.branch),
            ),
            url="/approvals/",
            custody=level.custody,
            dedupe_key=f"reminder:{level.pk}",
        )
    return {"reminded": count}


@every(hours=1)
def document_expiry(now: datetime) -> dict:
    staff = _staff_cache()
    today = timezone.localdate(now)
    count = 0
    expiring = Document.objects.filter(
        superseded_at__isnull=True,
        expires_on__isnull=False,
        expires_on__lte=today + timedelta(days=7),
        expires_on__gte=today - timedelta(days=1),
    ).select_related("custody", "uploaded_by")
    for document in expiring[:2000]:
        stage = "today" if document.expires_on <= today else "soon"
        users = list(staff(document.custody.branch_id))
        if document.uploaded_by and document.uploaded_by not in users:
            users.append(document.uploaded_by)
        title = (
            format_lazy(_("Document expires today: {name}"), name=document.file_name)
            if stage == "today"
            else format_lazy(
                _("Document expires on {date}: {name}"),
                date=document.expires_on.isoformat(),
                name=document.file_name,
            )
        )
        count += notify_users(
            users,
            "document_expiring",
            title,
            document.custody.custody_no,
            url=f"/custodies/{document.custody_id}/",
            custody=document.custody,
            dedupe_key=f"doc_expiry:{document.pk}:{stage}",
        )
    return {"notified": count}


@every(minutes=5)
def email_retries(now: datetime) -> dict:
    if switches.outbound_held():
        return {"held": True}
    return {"retried": retry_failed_emails(now)}
