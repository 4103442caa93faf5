"""Support tickets, comments, the satisfaction survey and announcements: the only writers.

Ticket statuses follow one table (TRANSITIONS). "staff" are the users who may answer tickets
(`support.manage`: admins); the reporter may close their own ticket or reopen it once resolved.
Every change is audited and notifies the other side (in-app and e-mail, sent by the worker).
"""

import hashlib
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.db.models import Max
from django.template.defaultfilters import filesizeformat
from django.urls import reverse
from django.utils import timezone
from django.utils.text import format_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from accounts import permissions
from accounts.models import User
from audit import services as audit
from core import switches
from core.errors import Conflict, InvalidTransition, Maintenance, ValidationFailed
from documents import sniffing
from documents.services import clean_file_name
from notifications import services as notifications

from .choices import AnnouncementLevel, Severity, TicketStatus
from .models import Announcement, Feedback, SupportTicket, TicketComment

STAFF = "staff"
REPORTER = "reporter"

# (from, to) → who may move a ticket that way.
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (TicketStatus.OPEN, TicketStatus.IN_PROGRESS): frozenset({STAFF}),
    (TicketStatus.OPEN, TicketStatus.RESOLVED): frozenset({STAFF}),
    (TicketStatus.IN_PROGRESS, TicketStatus.RESOLVED): frozenset({STAFF}),
    (TicketStatus.IN_PROGRESS, TicketStatus.OPEN): frozenset({STAFF}),
    (TicketStatus.RESOLVED, TicketStatus.CLOSED): frozenset({STAFF, REPORTER}),
    (TicketStatus.RESOLVED, TicketStatus.OPEN): frozenset({STAFF, REPORTER}),  # not fixed after all
    (TicketStatus.OPEN, TicketStatus.CLOSED): frozenset({STAFF, REPORTER}),  # withdrawn / duplicate
}

SURVEY_EVERY = timedelta(days=30)
SURVEY_FIRST_AFTER = timedelta(days=7)


def is_staff(user) -> bool:
    return permissions.may(user, "support.manage")


def roles_on(user, ticket: SupportTicket) -> set[str]:
    roles = set()
    if is_staff(user):
        roles.add(STAFF)
    if ticket.reporter_id == user.pk:
        roles.add(REPORTER)
    return roles


def allowed_statuses(user, ticket: SupportTicket) -> list[str]:
    mine = roles_on(user, ticket)
    return [to for (frm, to), who in TRANSITIONS.items() if frm == ticket.status and who & mine]


def _ticket_url(ticket) -> str:
    return reverse("support:detail", args=[ticket.pk])


def _notify(users, ticket, title, body, dedupe: str = "") -> None:
    notifications.notify_users(
        [u for u in users if u is not None],
        "support_ticket",
        title,
        body,
        url=_ticket_url(ticket),
        dedupe_key=dedupe,
    )


def _staff_to_tell(ticket):
    return [ticket.assignee] if ticket.assignee_id else list(notifications.admins())


# ---- attachment ---------------------------------------------------------------------------------


def _prepare_attachment(uploaded) -> dict:
    """Size limit, SHA-256 and the type sniffed from the bytes (documents' rules: PDF, images, DOCX)."""
    limit = settings.CUSTODY_MAX_UPLOAD_BYTES

    def refuse(message):
        return ValidationFailed(message, {"attachment": [message]})

    if getattr(uploaded, "size", 0) > limit:
        raise refuse(_("The file is larger than %(limit)s.") % {"limit": filesizeformat(limit)})
    digest = hashlib.sha256()
    for chunk in uploaded.chunks():
        digest.update(chunk)
    try:
        kind = sniffing.sniff(uploaded)
    except sniffing.NotAllowed as exc:
        raise refuse(exc.message) from exc
    name = sniffing.name_for(kind, clean_file_name(getattr(uploaded, "name", ""), default="attachment"))
    return {
        "attachment_name": name,
        "attachment_content_type": kind.content_type,
        "attachment_size": uploaded.size,
        "attachment_sha256": digest.hexdigest(),
    }


# ---- tickets ------------------------------------------------------------------------------------


def _clean_text(value, field: str, max_length: int, required: bool = True) -> str:
    text = str(value or "").strip()
    if required and not text:
        raise ValidationFailed(_("This field is required."), {field: [_("This field is required.")]})
    if len(text) > max_length:
        message = _("At most %(n)s characters.") % {"n": max_length}
        raise ValidationFailed(message, {field: [message]})
    return text


def open_in_maintenance(user) -> bool:
    """During maintenance administrators may still post announcements (the maintenance window, a
    rollback) and file problems; everyone else waits for the end of maintenance."""
    return permissions.may(user, "support.manage")


def reporting_paused_message() -> str:
    return _("Reporting a problem is paused during maintenance; please send your report when it ends.")


def _ensure_open(user, message: str = "") -> None:
    current = switches.state()
    if current.maintenance_mode and not open_in_maintenance(user):
        text = switches.maintenance_message(current)
        raise Maintenance(f"{message} {text}" if message else text)


def create_ticket(
    user,
    *,
    subject,
    description,
    severity=Severity.NORMAL,
    page_url="",
    request_id="",
    user_agent="",
    attachment=None,
) -> SupportTicket:
    """Any signed-in user reports a problem; the admins (or nobody, if there are none) are told."""
    if not (user and user.is_authenticated and user.is_active):
        raise PermissionDenied(_("Log in to report a problem."))
    _ensure_open(user, reporting_paused_message())
    fields = {
        "subject": _clean_text(subject, "subject", 200),
        "description": _clean_text(description, "description", 10_000),
        "page_url": str(page_url or "").strip()[:500],
        "request_id": str(request_id or "").strip()[:64],
        "user_agent": str(user_agent or "")[:300],
    }
    if severity not in Severity.values:
        raise ValidationFailed(_("Unknown severity."), {"severity": [_("Use low, normal, high or urgent.")]})
    extra = _prepare_attachment(attachment) if attachment else {}
    for _attempt in range(5):
        try:
            with transaction.atomic():
                number = (SupportTicket.objects.aggregate(n=Max("number"))["n"] or 0) + 1
                ticket = SupportTicket(reporter=user, severity=severity, number=number, **fields, **extra)
                if attachment:
                    attachment.seek(0)
                    ticket.attachment.save(extra["attachment_name"], attachment, save=False)
                ticket.save(force_insert=True)
                audit.record(
                    "support_ticket.created",
                    ticket,
                    changes={"status": [None, ticket.status], "severity": [None, severity]},
                )
                _notify(
                    notifications.admins().exclude(pk=user.pk),
                    ticket,
                    format_lazy(
                        gettext_lazy("New support ticket {no}: {subject}"),
                        no=ticket.ticket_no,
                        subject=ticket.subject,
                    ),
                    ticket.description[:500],
                )
                return ticket
        except IntegrityError:  # two reports took the same number at once: take the next one
            if ticket.attachment:
                ticket.attachment.delete(save=False)
            continue
    raise Conflict(_("Please send the report again."), {})


def _lock(ticket) -> SupportTicket:
    return SupportTicket.objects.select_for_update().get(pk=ticket.pk)


@transaction.atomic
def change_status(user, ticket: SupportTicket, status: str, version: int | None = None) -> SupportTicket:
    """Move a ticket along TRANSITIONS (role checked before state)."""
    if not roles_on(user, ticket) & {STAFF, REPORTER}:
        raise PermissionDenied(_("You may not change this ticket."))
    ticket = _lock(ticket)
    if version is not None and version != ticket.version:
        raise Conflict(_("The ticket changed meanwhile; reload it."), {"version": [str(ticket.version)]})
    if status not in TicketStatus.values:
        raise ValidationFailed(_("Unknown status."), {"status": [_("Unknown status.")]})
    who = TRANSITIONS.get((ticket.status, status))
    if who is None:
        raise InvalidTransition(
            _("A %(from)s ticket cannot become %(to)s.") % {"from": ticket.status, "to": status},
            {"status": ticket.status},
        )
    if not who & roles_on(user, ticket):
        raise PermissionDenied(_("You may not move this ticket to %(to)s.") % {"to": status})
    old = ticket.status
    now = timezone.now()
    ticket.status = status
    if status == TicketStatus.RESOLVED:
        ticket.resolved_at = now
    elif status == TicketStatus.CLOSED:
        ticket.closed_at = now
    elif status == TicketStatus.OPEN:
        ticket.resolved_at = None
    ticket.version += 1
    ticket.save()
    audit.record("support_ticket.status_changed", ticket, changes={"status": [old, status]})
    label = TicketStatus(status).label
    title = format_lazy(
        gettext_lazy("Support ticket {no} is now {status}"), no=ticket.ticket_no, status=label
    )
    others = [ticket.reporter] if user.pk != ticket.reporter_id else _staff_to_tell(ticket)
    _notify(
        [u for u in others if u.pk != user.pk],
        ticket,
        title,
        ticket.subject,
        dedupe=f"ticket:{ticket.pk}:{ticket.version}",
    )
    return ticket


@transaction.atomic
def assign(user, ticket: SupportTicket, assignee: User | None) -> SupportTicket:
    permissions.require(user, "support.manage")
    if assignee is not None and not is_staff(assignee):
        raise ValidationFailed(_("Assign the ticket to an admin."), {"assignee_id": [_("Not an admin.")]})
    ticket = _lock(ticket)
    old = ticket.assignee_id
    if old == (assignee.pk if assignee else None):
        return ticket
    ticket.assignee = assignee
    ticket.version += 1
    ticket.save()
    audit.record(
        "support_ticket.assigned", ticket, changes={"assignee": [old, assignee.pk if assignee else None]}
    )
    if assignee is not None and assignee.pk != user.pk:
        _notify(
            [assignee],
            ticket,
            format_lazy(gettext_lazy("Support ticket {no} was assigned to you"), no=ticket.ticket_no),
            ticket.subject,
            dedupe=f"ticket:{ticket.pk}:{ticket.version}",
        )
    return ticket


@transaction.atomic
def add_comment(user, ticket: SupportTicket, body) -> TicketComment:
    if not roles_on(user, ticket):
        raise PermissionDenied(_("You may not comment on this ticket."))
    text = _clean_text(body, "body", 10_000)
    if ticket.status == TicketStatus.CLOSED:
        raise InvalidTransition(_("The ticket is closed."), {"status": ticket.status})
    comment = TicketComment.objects.create(ticket=ticket, author=user, body=text)
    SupportTicket.objects.filter(pk=ticket.pk).update(updated_at=timezone.now())
    audit.record("support_ticket.commented", ticket, message=text[:200])
    others = [ticket.reporter] if user.pk != ticket.reporter_id else _staff_to_tell(ticket)
    _notify(
        [u for u in others if u.pk != user.pk],
        ticket,
        format_lazy(gettext_lazy("New comment on support ticket {no}"), no=ticket.ticket_no),
        text[:500],
        dedupe=f"comment:{comment.pk}",
    )
    return comment


# ---- satisfaction survey --------------------------------------------------------------------------


@transaction.atomic
def submit_feedback(user, score, comment="", ticket: SupportTicket | None = None) -> Feedback:
    try:
        score = int(score)
    except (TypeError, ValueError):
        score = 0
    if not 1 <= score <= 5:
        raise ValidationFailed(
            _("Choose a score from 1 to 5."), {"score": [_("Choose a score from 1 to 5.")]}
        )
    if ticket is not None:
        if ticket.reporter_id != user.pk:
            raise PermissionDenied(_("Only the reporter rates a ticket."))
        if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            raise InvalidTransition(_("Rate a ticket once it is resolved."), {"status": ticket.status})
        if Feedback.objects.filter(ticket=ticket, user=user).exists():
            raise Conflict(_("You already rated this ticket."), {})
    feedback = Feedback.objects.create(
        user=user, ticket=ticket, score=score, comment=_clean_text(comment, "comment", 2000, required=False)
    )
    audit.record("feedback.submitted", feedback, changes={"score": [None, score]})
    return feedback


@transaction.atomic
def skip_survey(user) -> Feedback:
    """ "Not now": the monthly question comes back in a month."""
    return Feedback.objects.create(user=user, score=None)


# ---- announcements ------------------------------------------------------------------------------


@transaction.atomic
def post_announcement(user, *, title, body="", level=AnnouncementLevel.INFO, ends_at=None) -> Announcement:
    """An admin's message to every active user: a banner (until `ends_at` or ended) plus a notification
    in the inbox and by e-mail (the worker sends it)."""
    permissions.require(user, "announcement.post")
    _ensure_open(user)
    title = _clean_text(title, "title", 200)
    body = _clean_text(body, "body", 5000, required=False)
    if level not in AnnouncementLevel.values:
        raise ValidationFailed(_("Unknown level."), {"level": [_("Unknown level.")]})
    if ends_at is not None and ends_at <= timezone.now():
        raise ValidationFailed(
            _("The end must be in the future."), {"ends_at": [_("The end must be in the future.")]}
        )
    announcement = Announcement.objects.create(
        title=title, body=body, level=level, created_by=user, ends_at=ends_at
    )
    audit.record(
        "announcement.posted", announcement, changes={"title": [None, title], "level": [None, level]}
    )
    notifications.notify_users(
        User.objects.filter(is_active=True),
        "announcement",
        title,
        body,
        url=reverse("support:announcements"),
        dedupe_key=f"announcement:{announcement.pk}",
    )
    from .selectors import forget_current_announcements

    forget_current_announcements()
    transaction.on_commit(
        forget_current_announcements
    )  # again: a page may have cached the old list meanwhile
    return announcement


@transaction.atomic
def end_announcement(user, announcement: Announcement) -> Announcement:
    permissions.require(user, "announcement.post")
    _ensure_open(user)
    if announcement.ended_at is None:
        announcement.ended_at = timezone.now()
        announcement.save(update_fields=["ended_at"])
        audit.record("announcement.ended", announcement)
        from .selectors import forget_current_announcements

        forget_current_announcements()
        transaction.on_commit(forget_current_announcements)
    return announcement


# ---- help articles (FAQ / knowledge base) ---------------------------------------------------------

HELP_FIELDS = ("slug", "language", "title", "body", "category", "position", "published")


@transaction.atomic
def save_help_article(user, article=None, **fields):
    """Create or change an FAQ answer (admins). Slug + language are unique."""
    from django.utils.text import slugify

    from .models import HelpArticle

    permissions.require(user, "faq.edit")
    article = article or HelpArticle()
    before = audit.snapshot(article, list(HELP_FIELDS)) if article.pk and not article._state.adding else {}
    data = {k: v for k, v in fields.items() if k in HELP_FIELDS}
    if "title" in data:
        data["title"] = _clean_text(data["title"], "title", 200)
    if "body" in data:
        data["body"] = _clean_text(data["body"], "body", 20_000)
    if data.get("language", article.language) not in HelpArticle.Language.values:
        raise ValidationFailed(_("Unknown language."), {"language": [_("Unknown language.")]})
    slug = slugify(data.get("slug") or article.slug or data.get("title", ""))[:80]
    if not slug:
        raise ValidationFailed(_("Give a short name."), {"slug": [_("Use letters, digits and hyphens.")]})
    data["slug"] = slug
    for key, value in data.items():
        setattr(article, key, value)
    clash = HelpArticle.objects.filter(slug=article.slug, language=article.language).exclude(pk=article.pk)
    if clash.exists():
        raise Conflict(
            _("An article with this short name exists in that language."), {"slug": [_("Already in use.")]}
        )
    article.updated_by = user
    article.save()
    audit.record(
        "help_article.updated" if before else "help_article.created",
        article,
        changes=audit.diff(before, audit.snapshot(article, list(HELP_FIELDS))),
    )
    return article


@transaction.atomic
def delete_help_article(user, article) -> None:
    permissions.require(user, "faq.edit")
    audit.record("help_article.deleted", article, changes={"title": [article.title, None]})
    article.delete()


# ---- onboarding tour -------------------------------------------------------------------------------


@transaction.atomic
def record_tour(user, *, step: int = 0, done: bool = False, skipped: bool = False, restart: bool = False):
    """Remember how far the user got in the tour: resumable, and read by the adoption metric."""
    from .models import OnboardingTour

    tour, _created = OnboardingTour.objects.select_for_update().get_or_create(
        user=user, defaults={"role": user.role}
    )
    if restart:
        tour.step, tour.completed_at, tour.skipped_at, tour.role = 0, None, None, user.role
    else:
        tour.step = max(0, min(int(step), 50))
        now = timezone.now()
        if done and tour.completed_at is None:
            tour.completed_at = now
        if skipped and tour.skipped_at is None and tour.completed_at is None:
            tour.skipped_at = now
    tour.save()
    return tour
