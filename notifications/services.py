"""Who hears about what, on which channel (DESIGN §10). Nothing here sends anything.

Entry points for other apps:

- `notify_for_event(event)`: the webhook dispatcher calls it once per outbox event, inside its
  transaction. Idempotent per (event, user, channel): calling it again creates nothing.
- `notify_users(users, kind, title, body, url="", custody=None, dedupe_key="")`: scheduled jobs;
  the same `dedupe_key` for the same user and channel never notifies twice.
- `branch_staff(branch_id, roles)`, `admins()`: recipient helpers.
- `retry_failed_emails(now)`: re-enqueues e-mail/SMS deliveries that failed or got stuck.

Each notification is an inbox row (unless the user opted out of the in-app channel for that kind)
plus one `NotificationDelivery` per outside channel the user keeps on, whose send task is enqueued
in the same transaction. The worker sends (`notifications.tasks`).
"""

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q, QuerySet
from django.urls import reverse
from django.utils import formats, timezone, translation
from django.utils.translation import gettext as _

from accounts.choices import Role
from accounts.models import User
from approvals import services as approvals
from approvals.eligibility import decider_roles
from audit import services as audit
from core.sms import sms_enabled
from custodies.choices import CustodyStatus
from custodies.models import Custody

from .kinds import KINDS, Channel, kinds_for
from .models import DeliveryStatus, Notification, NotificationDelivery, NotificationOptOut

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5
RETRY_AFTER = timedelta(minutes=5)  # first retry; doubles after each failed attempt
OUTSIDE_CHANNELS = (Channel.EMAIL, Channel.SMS)

Text = Callable[[], tuple[str, str]]  # (title, body), evaluated once per recipient language


# ---- recipients ------------------------------------------------------------------------------


def branch_staff(branch_id, roles: Iterable[str]) -> QuerySet[User]:
    """Active users with one of `roles` who work in the branch (or in all branches)."""
    members = User.branches.through.objects.filter(branch_id=branch_id).values("user_id")
    return User.objects.filter(is_active=True, role__in=set(roles)).filter(
        Q(all_branches=True) | Q(pk__in=members)
    )


def admins() -> QuerySet[User]:
    return User.objects.filter(is_active=True, role=Role.ADMIN)


def available_channels() -> list[str]:
    channels = [Channel.IN_APP, Channel.EMAIL]
    if sms_enabled():
        channels.append(Channel.SMS)
    return channels


# ---- the generic entry point -----------------------------------------------------------------


def notify_users(users, kind: str, title, body, url: str = "", custody=None, dedupe_key: str = "") -> int:
    """Notify `users` (a queryset or iterable of users) of `kind`; returns how many were newly notified.

    `title` and `body` may be lazy translations (`gettext_lazy`, `format_lazy`): they are rendered
    in each recipient's language. `url` defaults to the custody's page when a custody is given.
    """
    if kind not in KINDS:
        raise ValueError(f"unknown notification kind {kind!r}")
    if not url and custody is not None:
        url = custody_url(custody)
    return _notify(
        users,
        kind=kind,
        text=lambda: (str(title), str(body)),
        url=url,
        custody=custody,
        dedupe_key=dedupe_key,
    )


def custody_url(custody) -> str:
    return reverse("custodies:detail", args=[custody.pk])


def _language(user) -> str:
    return user.language or settings.LANGUAGE_CODE


def _existing(model, user_ids, event, dedupe_key) -> QuerySet:
    match = Q()
    if event is not None:
        match |= Q(event=event)
    if dedupe_key:
        match |= Q(dedupe_key=dedupe_key)
    if not match:
        return model.objects.none()
    return model.objects.filter(match, user__in=user_ids)


def _create_once(obj):
    """Insert, or None when a unique constraint says it exists (a savepoint keeps the caller's transaction)."""
    try:
        with transaction.atomic():
            obj.save(force_insert=True)
    except IntegrityError:
        logger.debug("notification %s already exists", obj)
        return None
    return obj


def _notify(
    recipients,
    *,
    kind: str,
    text: Text,
    url: str = "",
    custody=None,
    event=None,
    dedupe_key: str = "",
    exclude: Iterable = (),
) -> int:
    skip = {str(pk) for pk in exclude if pk}
    users: dict = {}
    for user in recipients:
        if user is not None and user.is_active and str(user.pk) not in skip:
            users.setdefault(user.pk, user)
    if not users:
        return 0
    channels = available_channels()
    opted_out = set(
        NotificationOptOut.objects.filter(user__in=users.keys(), kind=kind).values_list("user_id", "channel")
    )
    in_inbox = set(_existing(Notification, users.keys(), event, dedupe_key).values_list("user_id", flat=True))
    delivered = set(
        _existing(NotificationDelivery, users.keys(), event, dedupe_key).values_list("user_id", "channel")
    )
    texts: dict[str, tuple[str, str]] = {}
    now = timezone.now()
    notified = 0
    for user in users.values():
        language = _language(user)
        if language not in texts:
            with translation.override(language):
                title, body = text()
            texts[language] = (" ".join(str(title).split())[:200], str(body))
        title, body = texts[language]
        fields = {
            "user": user,
            "kind": kind,
            "title": title,
            "body": body,
            "url": url,
            "custody": custody,
            "event": event,
            "dedupe_key": dedupe_key,
            "created_at": now,
        }
        inbox = None
        created = False
        if (
            Channel.IN_APP in channels
            and (user.pk, Channel.IN_APP) not in opted_out
            and user.pk not in in_inbox
        ):
            inbox = _create_once(Notification(**fields))
            created = inbox is not None
        for channel in OUTSIDE_CHANNELS:
            if channel not in channels or (user.pk, channel) in opted_out or (user.pk, channel) in delivered:
                continue
            if (channel == Channel.EMAIL and not user.email) or (channel == Channel.SMS and not user.phone):
                continue
            delivery = _create_once(
                NotificationDelivery(
                    **fields,
                    channel=channel,
                    notification=inbox,
                    enqueued_at=now,
                    next_attempt_at=now + RETRY_AFTER,
                )
            )
            if delivery is not None:
                _enqueue(delivery)
                created = True
        notified += created
    return notified


def _enqueue(delivery: NotificationDelivery) -> None:
    """Queue the send on the worker; with the database queue the task row commits with the delivery."""
    from .tasks import send_email_notification, send_sms_notification

    task = send_sms_notification if delivery.channel == Channel.SMS else send_email_notification
    task.enqueue(str(delivery.pk))


# ---- outbox events ---------------------------------------------------------------------------


@dataclass
class Plan:
    kind: str
    recipients: Iterable
    text: Text
    dedupe_key: str = ""


def _who(user) -> str:
    return user.get_full_name() if user is not None else _("the system")


def _custody_of(data: dict) -> Custody | None:
    custody_id = (data.get("custody") or {}).get("id")
    if not custody_id:
        return None
    try:
        return (
            Custody.objects.select_related(
                "branch", "created_by", "submitted_by", "replacement_vehicle", "customer"
            )
            .filter(pk=custody_id)
            .first()
        )
    except (ValueError, TypeError, ValidationError) as exc:  # a malformed id in the event data
        logger.warning("event custody id %r unusable: %s", custody_id, exc)
        return None


def _approval_required(event, custody: Custody, data: dict) -> Plan | None:
    """custody.submitted / custody.approval_decided: the deciders of the level now waiting.

    The key is per (custody, round, level), so a level is announced once however many events point at it.
    """
    if custody.status != CustodyStatus.PENDING_APPROVAL:
        return None
    level = approvals.current_level(custody)
    if level is None:
        return None
    roles = decider_roles(level.role)
    already = custody.approvals.filter(round=level.round, decided_by__isnull=False).values("decided_by")
    users = branch_staff(custody.branch_id, roles).exclude(pk__in=already)
    if custody.submitted_by_id:
        users = users.exclude(pk=custody.submitted_by_id)

    def text():
        return (
            _("%(custody_no)s needs your approval") % {"custody_no": custody.custody_no},
            _("Level %(level)s (%(role)s) · %(reason)s · %(branch)s · submitted by %(who)s.")
            % {
                "level": level.level,
                "role": Role(level.role).label if level.role in Role.values else level.role,
                "reason": custody.get_reason_code_display(),
                "branch": custody.branch.name,
                "who": _who(custody.submitted_by),
            },
        )

    return Plan(
        "approval_required", users, text, f"approval_required:{custody.pk}:{level.round}:{level.level}"
    )


def _approved(event, custody: Custody, data: dict) -> Plan:
    def text():
        return (
            _("%(custody_no)s was approved") % {"custody_no": custody.custody_no},
            _("The custody you submitted was approved; the replacement vehicle can be handed over."),
        )

    return Plan("custody_approved", [custody.submitted_by], text)


def _rejected(event, custody: Custody, data: dict) -> Plan:
    def text():
        return (
            _("%(custody_no)s was rejected") % {"custody_no": custody.custody_no},
            _("Reason: %(reason)s. Correct the draft and submit it again.")
            % {"reason": custody.last_reject_reason or "—"},
        )

    return Plan("custody_rejected", [custody.submitted_by], text)


def _handed_over(event, custody: Custody, data: dict) -> Plan:
    def text():
        if custody.replacement_vehicle_id:
            body = _("Replacement %(plate)s handed over to %(custodian)s.") % {
                "plate": custody.replacement_vehicle.plate,
                "custodian": custody.custodian_name,
            }
        else:
            body = _("Handed over to %(custodian)s without a replacement vehicle.") % {
                "custodian": custody.custodian_name
            }
        return _("%(custody_no)s was handed over") % {"custody_no": custody.custody_no}, body

    return Plan("custody_handed_over", [custody.created_by, custody.submitted_by], text)


def _closed(event, custody: Custody, data: dict) -> Plan:
    def text():
        return (
            _("%(custody_no)s was closed") % {"custody_no": custody.custody_no},
            _("The replacement came back and the charges were settled by the system."),
        )

    return Plan("custody_closed", [custody.created_by, custody.submitted_by], text)


def _voided(event, custody: Custody, data: dict) -> Plan:
    def text():
        return (
            _("%(custody_no)s was voided") % {"custody_no": custody.custody_no},
            _("Reason: %(reason)s.") % {"reason": custody.void_reason or "—"},
        )

    return Plan("custody_voided", [custody.created_by, custody.submitted_by], text)


SLA_TARGETS = {"approve": _("approval"), "handover": _("handover"), "close": _("close")}


def local_time(value, branch) -> str:
    """A time as the branch reads it (its own time zone)."""
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    if value is None:
        return "—"
    try:
        zone = (
            ZoneInfo(branch.timezone) if getattr(branch, "timezone", "") else timezone.get_current_timezone()
        )
    except (KeyError, ValueError):
        zone = timezone.get_current_timezone()
    return formats.date_format(timezone.localtime(value, zone), "SHORT_DATETIME_FORMAT")


def _sla_breached(event, custody: Custody, data: dict) -> Plan:
    target = data.get("target") or ""

    def text():
        label = SLA_TARGETS.get(target, target)
        return (
            _("SLA breached: %(custody_no)s") % {"custody_no": custody.custody_no},
            _("The %(target)s target was due at %(due)s (%(branch)s).")
            % {
                "target": label,
                "due": local_time(data.get("due_at"), custody.branch),
                "branch": custody.branch.name,
            },
        )

    users = branch_staff(custody.branch_id, {Role.SUPERVISOR, Role.MANAGER})
    return Plan("sla_breached", users, text, f"sla_breached:{custody.pk}:{target}")


def _overdue(event, custody: Custody, data: dict) -> Plan:
    def text():
        return (
            _("Overdue: {no}").format(no=custody.custody_no),
            _("Expected back {when}.").format(
                when=local_time(data.get("expected_return_at"), custody.branch)
            ),
        )

    day = data.get("day") or timezone.localdate(event.created_at).isoformat()
    users = branch_staff(custody.branch_id, {Role.SUPERVISOR, Role.MANAGER})
    return Plan("custody_overdue", users, text, f"overdue:{custody.pk}:{day}")


def _document_signed(event, custody: Custody, data: dict) -> Plan:
    from documents.choices import DocumentType

    signature = data.get("signature") or {}
    document_type = signature.get("document_type") or (data.get("document") or {}).get("document_type") or ""

    def text():
        label = DocumentType(document_type).label if document_type in DocumentType.values else document_type
        return (
            _("%(custody_no)s: %(document)s signed") % {"custody_no": custody.custody_no, "document": label},
            _("Signed by %(signer)s.") % {"signer": signature.get("signer_name") or "—"},
        )

    return Plan("document_signed", [custody.created_by], text)


EVENT_RULES: dict[str, Callable[..., Plan | None]] = {
    "custody.submitted": _approval_required,
    "custody.approval_decided": _approval_required,
    "custody.approved": _approved,
    "custody.rejected": _rejected,
    "custody.handed_over": _handed_over,
    "custody.closed": _closed,
    "custody.voided": _voided,
    "custody.sla_breached": _sla_breached,
    "custody.overdue": _overdue,
    "document.signed": _document_signed,
}

# Who caused the event, when the event data does not say: the user the custody records for it.
ACTOR_FIELDS = {
    "custody.handed_over": "handed_over_by_id",
    "custody.closed": "closed_by_id",
    "custody.voided": "voided_by_id",
}


def event_actor_id(event, custody: Custody | None = None) -> str | None:
    data = event.data or {}
    actor = data.get("actor_id")
    if not actor and event.type.startswith("document."):
        actor = (data.get("document") or {}).get("uploaded_by_id")
    if not actor and custody is not None and event.type in ACTOR_FIELDS:
        actor = getattr(custody, ACTOR_FIELDS[event.type])
    return str(actor) if actor else None


def notify_for_event(event) -> int:
    """Notify the recipients of one outbox event (DESIGN §10); returns how many users were newly notified.

    Events nobody is told about by default (custody.created/updated, document.uploaded, charge.*,
    payment.*, quote.*) return 0; the alerts that no event announces (SLA at risk, reminders, expiring
    documents) come from `notifications/jobs.py` through `notify_users`. The actor who caused the event is never notified.
    """
    rule = EVENT_RULES.get(event.type)
    if rule is None:
        return 0
    data = event.data or {}
    custody = _custody_of(data)
    if custody is None:
        return 0
    plan = rule(event, custody, data)
    if plan is None:
        return 0
    return _notify(
        plan.recipients,
        kind=plan.kind,
        text=plan.text,
        url=custody_url(custody),
        custody=custody,
        event=event,
        dedupe_key=plan.dedupe_key,
        exclude=[event_actor_id(event, custody)],
    )


# ---- retries ---------------------------------------------------------------------------------


def backoff(attempts: int) -> timedelta:
    """Wait before the next try after `attempts` tries: 5, 10, 20, 40 minutes."""
    return RETRY_AFTER * (2 ** max(0, attempts - 1))


def retry_failed_emails(now: datetime | None = None) -> int:
    """Re-enqueue deliveries that failed, or were never picked up, once their back-off has passed.

    A delivery gets at most MAX_ATTEMPTS tries; a new delivery is first considered after 5 minutes.
    Safe to run concurrently and repeatedly: each delivery is claimed by a conditional update, and
    the send task skips a delivery that was already sent.
    """
    now = now or timezone.now()
    due = NotificationDelivery.objects.filter(
        status__in=[DeliveryStatus.PENDING, DeliveryStatus.FAILED],
        attempts__lt=MAX_ATTEMPTS,
        next_attempt_at__lte=now,
    ).values_list("pk", "attempts", "next_attempt_at")
    count = 0
    for pk, attempts, next_attempt_at in due.iterator(chunk_size=500):
        with transaction.atomic():
            claimed = NotificationDelivery.objects.filter(
                pk=pk, attempts=attempts, next_attempt_at=next_attempt_at
            ).update(enqueued_at=now, next_attempt_at=now + backoff(attempts + 1))
            if claimed:
                _enqueue(NotificationDelivery.objects.only("pk", "channel").get(pk=pk))
                count += 1
    return count


# ---- the inbox -------------------------------------------------------------------------------


def inbox(user) -> QuerySet[Notification]:
    return Notification.objects.filter(user=user).select_related("custody").order_by("-created_at", "-id")


def unread_count(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).count()


def mark_read(user, notification_id) -> Notification:
    """Mark one of the user's notifications read (another user's is Notification.DoesNotExist → 404)."""
    notification = Notification.objects.get(pk=notification_id, user=user)
    if notification.read_at is None:
        notification.read_at = timezone.now()
        Notification.objects.filter(pk=notification.pk, read_at__isnull=True).update(
            read_at=notification.read_at
        )
    return notification


def mark_all_read(user) -> int:
    return Notification.objects.filter(user=user, read_at__isnull=True).update(read_at=timezone.now())


# ---- preferences -----------------------------------------------------------------------------


def opt_outs(user) -> set[tuple[str, str]]:
    return set(NotificationOptOut.objects.filter(user=user).values_list("kind", "channel"))


def preference_rows(user) -> list[dict]:
    """The settings grid: one row per kind shown to the user, one cell per available channel."""
    off = opt_outs(user)
    channels = available_channels()
    return [
        {
            "kind": kind,
            "cells": [
                {
                    "channel": channel,
                    "label": Channel(channel).label,
                    "value": f"{kind.code}:{channel}",
                    "enabled": (kind.code, channel) not in off,
                }
                for channel in channels
            ],
        }
        for kind in kinds_for(user)
    ]


@transaction.atomic
def save_preferences(user, enabled: Iterable[str]) -> dict:
    """`enabled` holds "kind:channel" values (the ticked boxes); every shown box not ticked is an opt-out.

    Kinds not shown to the user and channels not available keep what they had. Returns the change.
    """
    ticked = set(enabled)
    shown = {(kind.code, channel) for kind in kinds_for(user) for channel in available_channels()}
    before = opt_outs(user)
    wanted_off = {pair for pair in shown if f"{pair[0]}:{pair[1]}" not in ticked}
    turn_on = (before & shown) - wanted_off
    turn_off = wanted_off - before
    for kind, channel in turn_on:
        NotificationOptOut.objects.filter(user=user, kind=kind, channel=channel).delete()
    for kind, channel in turn_off:
        NotificationOptOut.objects.get_or_create(user=user, kind=kind, channel=channel)
    changes = {}
    if turn_on or turn_off:
        changes = {
            "opted_out": [
                sorted(f"{k}:{c}" for k, c in before),
                sorted(f"{k}:{c}" for k, c in (before - turn_on) | turn_off),
            ]
        }
        audit.record("notifications.preferences_changed", user, object_type="user", changes=changes)
    return changes


def send_again(deliveries, now: datetime) -> int:
    """Queue failed or pending deliveries again now (Django admin action); audited per delivery."""
    count = 0
    for delivery in deliveries:
        NotificationDelivery.objects.filter(pk=delivery.pk).update(
            attempts=min(delivery.attempts, MAX_ATTEMPTS - 1),
            enqueued_at=now,
            next_attempt_at=now + RETRY_AFTER,
        )
        audit.record("notification.resent", delivery, message=delivery.kind)
        _enqueue(delivery)
        count += 1
    return count
