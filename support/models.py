"""Support tickets, their comments, the satisfaction survey answers, and announcements."""

import uuid

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .choices import AnnouncementLevel, Severity, TicketStatus

USER = settings.AUTH_USER_MODEL


def attachment_path(instance, filename):
    # Random names: the user's file name is kept in attachment_name, never used as a path.
    return f"support/{uuid.uuid4().hex}"


class SupportTicket(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    number = models.PositiveIntegerField(unique=True, editable=False)
    reporter = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="support_tickets")
    subject = models.CharField(_("subject"), max_length=200)
    description = models.TextField(_("description"))
    severity = models.CharField(
        _("severity"), max_length=10, choices=Severity.choices, default=Severity.NORMAL
    )
    status = models.CharField(
        _("status"), max_length=12, choices=TicketStatus.choices, default=TicketStatus.OPEN, db_index=True
    )
    page_url = models.CharField(_("page"), max_length=500, blank=True)
    request_id = models.CharField(_("request id"), max_length=64, blank=True)
    user_agent = models.CharField(_("browser"), max_length=300, blank=True)
    assignee = models.ForeignKey(
        USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="assigned_support_tickets"
    )
    attachment = models.FileField(upload_to=attachment_path, max_length=255, blank=True)
    attachment_name = models.CharField(max_length=255, blank=True)
    attachment_content_type = models.CharField(max_length=100, blank=True)
    attachment_size = models.PositiveIntegerField(null=True, blank=True)
    attachment_sha256 = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    resolved_at = models.DateTimeField(_("resolved"), null=True, blank=True)
    closed_at = models.DateTimeField(_("closed"), null=True, blank=True)
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("support ticket")
        verbose_name_plural = _("support tickets")
        indexes = [models.Index(fields=["reporter", "-created_at"], name="ticket_by_reporter")]

    def __str__(self):
        return f"{self.ticket_no} {self.subject}"

    @property
    def ticket_no(self) -> str:
        return f"SUP-{self.number:06d}"

    @property
    def has_attachment(self) -> bool:
        return bool(self.attachment)

    @property
    def severity_colour(self) -> str:
        return Severity(self.severity).colour

    @property
    def status_colour(self) -> str:
        return TicketStatus(self.status).colour


class TicketComment(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    ticket = models.ForeignKey(SupportTicket, on_delete=models.CASCADE, related_name="comments")
    author = models.ForeignKey(USER, on_delete=models.PROTECT, related_name="+")
    body = models.TextField(_("comment"))
    created_at = models.DateTimeField(_("created"), default=timezone.now)

    class Meta:
        ordering = ["created_at"]

    def __str__(self):
        return f"{self.author}: {self.body[:40]}"


class Feedback(models.Model):
    """One answer to "How satisfied are you?" (1–5): after a ticket is resolved, or the monthly survey.

    A skipped monthly survey is a row without a score, so the next prompt waits a month too."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user = models.ForeignKey(USER, on_delete=models.CASCADE, related_name="feedback")
    ticket = models.ForeignKey(
        SupportTicket, null=True, blank=True, on_delete=models.CASCADE, related_name="feedback"
    )
    score = models.PositiveSmallIntegerField(_("score"), null=True, blank=True)
    comment = models.TextField(_("comment"), blank=True)
    created_at = models.DateTimeField(_("created"), default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(score__isnull=True) | Q(score__gte=1, score__lte=5), name="feedback_score_1_to_5"
            ),
            models.UniqueConstraint(
                fields=["ticket", "user"], condition=Q(ticket__isnull=False), name="feedback_once_per_ticket"
            ),
        ]
        indexes = [models.Index(fields=["user", "-created_at"], name="feedback_by_user")]

    def __str__(self):
        return f"{self.score or '-'} by {self.user_id}"


class Announcement(models.Model):
    """A message from an admin to every user: a banner until it ends, plus a notification."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    level = models.CharField(
        _("level"), max_length=10, choices=AnnouncementLevel.choices, default=AnnouncementLevel.INFO
    )
    created_by = models.ForeignKey(USER, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(_("posted"), default=timezone.now)
    ends_at = models.DateTimeField(_("shown until"), null=True, blank=True)
    ended_at = models.DateTimeField(_("ended"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["ended_at", "ends_at"], name="announcement_current")]

    def __str__(self):
        return self.title


class HelpArticle(models.Model):
    """One FAQ / knowledge-base answer, in one language, written in Markdown by an admin."""

    class Language(models.TextChoices):
        ENGLISH = "en", _("English")
        ARABIC = "ar", _("Arabic")

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    slug = models.SlugField(_("short name"), max_length=80)
    language = models.CharField(
        _("language"), max_length=2, choices=Language.choices, default=Language.ENGLISH
    )
    title = models.CharField(_("question or title"), max_length=200)
    body = models.TextField(_("answer (Markdown)"))
    category = models.CharField(_("topic"), max_length=60, blank=True)
    position = models.PositiveSmallIntegerField(_("order"), default=100)
    published = models.BooleanField(_("published"), default=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    updated_by = models.ForeignKey(USER, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["position", "title"]
        constraints = [
            models.UniqueConstraint(fields=["slug", "language"], name="help_article_slug_language")
        ]
        indexes = [models.Index(fields=["language", "published", "position"], name="help_article_listing")]

    def __str__(self):
        return self.title


class OnboardingTour(models.Model):
    """Where a user is in the first-login tour of their role (resumable); the adoption metric reads it."""

    user = models.OneToOneField(
        USER, on_delete=models.CASCADE, primary_key=True, related_name="onboarding_tour"
    )
    role = models.CharField(max_length=20)
    step = models.PositiveSmallIntegerField(default=0)
    started_at = models.DateTimeField(default=timezone.now)
    completed_at = models.DateTimeField(null=True, blank=True)
    skipped_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return f"tour of {self.user_id}: step {self.step}"
