"""At login, put the tour state and the survey date in the session, so pages need no query for them."""

from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import timezone

from . import selectors


@receiver(user_logged_in)
def remember_support_state(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    request.session["tour_state"] = selectors.tour_state(user)
    request.session["survey_due"] = [timezone.localdate().isoformat(), selectors.survey_due(user)]
