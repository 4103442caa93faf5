"""What every page shows for support: the tour, the monthly survey, the report dialog's request id.

No query on an ordinary page: the tour state and the survey date are put in the session at login
(support.signals) and kept there; announcement banners arrive by HTMX after the page (support:extras)."""

import json

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from . import selectors


def support(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    session = request.session
    today = timezone.localdate().isoformat()
    due = session.get("survey_due")
    if not due or due[0] != today:
        due = [today, selectors.survey_due(user)]
        session["survey_due"] = due
    return {
        "tour_json": _tour(request, user),
        "survey_due": due[1],
        "request_id": request.META.get("HTTP_X_REQUEST_ID") or str(getattr(request, "request_id", "") or ""),
    }


def _tour(request, user) -> str:
    """The tour's steps and where to resume (JSON for tour.js), until the user finished or skipped it."""
    from django.conf import settings

    from .tour import steps_for

    if not settings.CUSTODY_ONBOARDING_TOUR:
        return ""
    state = request.session.get("tour_state")
    if state is None:
        state = selectors.tour_state(user)
        request.session["tour_state"] = state
    if state == "over":
        return ""
    return json.dumps(
        {
            "steps": steps_for(user.role),
            "step": state["step"],
            "url": reverse("help:tour"),
            "labels": {"next": _("Next"), "back": _("Back"), "skip": _("Skip tour"), "done": _("Done")},
        }
    )
