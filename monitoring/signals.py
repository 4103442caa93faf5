"""Logins by outcome (adoption figures and `custody_logins_total{outcome}`)."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.utils import timezone

from . import collector


@receiver(user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    collector.record("login", getattr(user, "role", "") or "unknown", "success", 0.0, 0, timezone.now())


@receiver(user_login_failed)
def _login_failed(sender, credentials=None, request=None, **kwargs):
    collector.record("login", "anonymous", "failure", 0.0, 0, timezone.now())
