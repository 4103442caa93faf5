"""Read queries: tickets (users see their own, admins all), the survey prompt, announcements, figures."""

import statistics
from datetime import timedelta

from django.core.cache import cache
from django.db.models import Avg, Count, Q, QuerySet
from django.db.models.functions import TruncDate
from django.utils import timezone

from .choices import TicketStatus
from .models import Announcement, Feedback, SupportTicket
from .services import SURVEY_EVERY, SURVEY_FIRST_AFTER, is_staff

TICKET_ORDERINGS = {"created_at", "updated_at", "number", "severity", "status"}
ANNOUNCEMENTS_KEY = "support:current-announcements"


def tickets_for(user, *, status=None, q: str = "", assigned_to_me: bool = False) -> QuerySet[SupportTicket]:
    qs = SupportTicket.objects.select_related("reporter", "assignee")
    if not is_staff(user):
        qs = qs.filter(reporter=user)
    statuses = [s for s in (status or []) if s in TicketStatus.values]
    if statuses:
        qs = qs.filter(status__in=statuses)
    q = (q or "").strip()
    if q:
        number = q.upper().removeprefix("SUP-").lstrip("0")
        match = Q(subject__icontains=q)
        if number.isdigit():
            match |= Q(number=int(number))
        qs = qs.filter(match)
    if assigned_to_me:
        qs = qs.filter(assignee=user)
    return qs


def ticket_for(user, ticket_id) -> SupportTicket:
    return tickets_for(user).get(pk=ticket_id)


def has_rated(user, ticket) -> bool:
    return Feedback.objects.filter(user=user, ticket=ticket).exists()


def survey_due(user, now=None) -> bool:
    """The monthly question: not in the first week of an account, then at most once every 30 days
    (an answer or a "not now" both count)."""
    now = now or timezone.now()
    if user.date_joined > now - SURVEY_FIRST_AFTER:
        return False
    return not Feedback.objects.filter(
        user=user, ticket__isnull=True, created_at__gt=now - SURVEY_EVERY
    ).exists()


def current_announcements() -> list[Announcement]:
    """Banners shown on every page; cached briefly so pages do not each query them."""
    now = timezone.now()
    rows = cache.get(ANNOUNCEMENTS_KEY)
    if rows is None:
        rows = list(
            Announcement.objects.filter(ended_at__isnull=True)
            .filter(Q(ends_at__isnull=True) | Q(ends_at__gt=now))
            .only("id", "title", "body", "level", "created_at", "ends_at")[:5]
        )
        cache.set(ANNOUNCEMENTS_KEY, rows, 30)
    return [a for a in rows if a.ends_at is None or a.ends_at > now]


def forget_current_announcements() -> None:
    cache.delete(ANNOUNCEMENTS_KEY)


def _percentile(values: list[float], pct: float) -> float | None:
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(pct) - 1]


def support_figures(start, end) -> dict:
    """Support metrics for the monitoring page (DESIGN §13), for tickets and answers in [start, end).

    {"tickets_opened", "tickets_per_day": [{"date", "count"}], "open_now", "resolved",
     "resolution_hours": {"median", "p90"}, "satisfaction": {"average", "responses"}}
    — a figure with no data is None."""
    opened = SupportTicket.objects.filter(created_at__gte=start, created_at__lt=end)
    per_day = (
        opened.annotate(day=TruncDate("created_at")).values("day").annotate(count=Count("id")).order_by("day")
    )
    resolved = SupportTicket.objects.filter(resolved_at__gte=start, resolved_at__lt=end)
    hours = sorted(
        (r - c).total_seconds() / 3600 for c, r in resolved.values_list("created_at", "resolved_at")
    )
    answers = Feedback.objects.filter(created_at__gte=start, created_at__lt=end, score__isnull=False)
    rating = answers.aggregate(average=Avg("score"), responses=Count("id"))
    return {
        "tickets_opened": opened.count(),
        "tickets_per_day": [{"date": row["day"], "count": row["count"]} for row in per_day],
        "open_now": SupportTicket.objects.filter(
            status__in=[TicketStatus.OPEN, TicketStatus.IN_PROGRESS]
        ).count(),
        "resolved": len(hours),
        "resolution_hours": {
            "median": round(statistics.median(hours), 1) if hours else None,
            "p90": round(_percentile(hours, 90), 1) if hours else None,
        },
        "satisfaction": {
            "average": round(float(rating["average"]), 2) if rating["average"] is not None else None,
            "responses": rating["responses"],
        },
    }


def support_figures_last_days(days: int = 30) -> dict:
    end = timezone.now()
    return support_figures(end - timedelta(days=days), end)


def onboarding_figures() -> dict:
    """Adoption: how many active users finished, skipped or are part-way through the first-login tour."""
    from accounts.models import User

    from .models import OnboardingTour

    tours = OnboardingTour.objects.filter(user__is_active=True).aggregate(
        completed=Count("pk", filter=Q(completed_at__isnull=False)),
        skipped=Count("pk", filter=Q(completed_at__isnull=True, skipped_at__isnull=False)),
        started=Count("pk", filter=Q(completed_at__isnull=True, skipped_at__isnull=True)),
    )
    return {"active_users": User.objects.filter(is_active=True).count(), **tours}


def tour_state(user):
    """ "over" once the tour was finished or skipped, else {"step": where to resume}."""
    from .models import OnboardingTour

    state = OnboardingTour.objects.filter(user=user).values("step", "completed_at", "skipped_at").first()
    if state and (state["completed_at"] or state["skipped_at"]):
        return "over"
    return {"step": state["step"] if state else 0}
