"""What every page shows for support: announcement banners, the monthly survey, the report dialog."""

from django.utils import timezone

from . import selectors


def support(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    dismissed = set(request.session.get("dismissed_announcements", []))
    banners = [a for a in selectors.current_announcements() if str(a.pk) not in dismissed]
    # The survey check runs once a day per session, not on every page.
    today = timezone.localdate().isoformat()
    due = request.session.get("survey_due")
    if not due or due[0] != today:
        due = [today, selectors.survey_due(user)]
        request.session["survey_due"] = due
    return {
        "announcements": banners,
        "survey_due": due[1],
        "request_id": request.META.get("HTTP_X_REQUEST_ID") or str(getattr(request, "request_id", "") or ""),
    }
