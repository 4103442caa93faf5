"""Per-client rate limits (429 RATE_LIMITED) for the endpoints anyone can reach: login, tokens,
password reset, signing links, public quote pages, inbound integrations.

Counting is django-ratelimit's, in the "ratelimit" cache (the database, so every server process
shares the counters). Rates come from CUSTODY_RATE_LIMITS ({group: "N/period"}) over the defaults.

Use:
    @rate_limit("public_quote")                 # a function view (any method)
    @method_decorator(rate_limit("login", methods=("POST",)), name="dispatch")   # a class view
    enforce(request, "token")                   # inside a Ninja operation: raises RateLimited
    count_only(request, "g") / reached(request, "g")   # count events (misses) / refuse once N happened
"""

from functools import wraps

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _
from django_ratelimit.core import get_usage

from .errors import RateLimited

DEFAULT_RATES = {
    "login": "30/m",  # per IP, on top of the per-account lockout
    "token": "30/m",
    "password_reset": "10/h",
    "signing": "60/m",
    "public_quote": "60/m",
    "public_quote_guess": "20/h",  # unknown-token answers on the public quote page (guessing)
    "inbound": "1200/m",
}
ALL_METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def rate_for(group: str) -> str:
    return {**DEFAULT_RATES, **getattr(settings, "CUSTODY_RATE_LIMITS", {})}[group]


def _usage(request, group: str, key: str, methods) -> dict | None:
    return get_usage(
        request, group=f"custody.{group}", key=key, rate=rate_for(group), method=list(methods), increment=True
    )


def retry_after(usage: dict | None) -> int:
    return max(1, int((usage or {}).get("time_left") or 1))


def over_limit(request, group: str, key: str = "ip", methods=ALL_METHODS) -> dict | None:
    """Count this request; the usage when the client is over the limit, else None."""
    usage = _usage(request, group, key, methods)
    return usage if usage and usage["should_limit"] else None


def count_only(request, group: str, key: str = "ip") -> None:
    """Count an event against the group without refusing anything (e.g. a missed token guess)."""
    _usage(request, group, key, ALL_METHODS)


def reached(request, group: str, key: str = "ip") -> dict | None:
    """Without counting: the usage when the events counted so far reached the group's limit."""
    usage = get_usage(
        request,
        group=f"custody.{group}",
        key=key,
        rate=rate_for(group),
        method=list(ALL_METHODS),
        increment=False,
    )
    return usage if usage and usage["count"] >= usage["limit"] else None


def enforce(request, group: str, key: str = "ip", methods=ALL_METHODS) -> None:
    usage = over_limit(request, group, key, methods)
    if usage:
        raise RateLimited(_("Too many requests; try again in a moment."), {"retry_after": retry_after(usage)})


def too_many_response(request, usage: dict | None):
    seconds = retry_after(usage)
    message = _("Too many requests; try again in a moment.")
    if request.path.startswith("/api/"):
        response = JsonResponse(
            {"error": {"code": "RATE_LIMITED", "message": message, "details": {"retry_after": seconds}}},
            status=429,
        )
    else:
        response = render(request, "core/rate_limited.html", {"retry_after": seconds}, status=429)
    response["Retry-After"] = str(seconds)
    return response


def rate_limit(group: str, key: str = "ip", methods=ALL_METHODS):
    """Decorator for Django views: past the group's rate the client gets 429 with Retry-After."""

    def decorator(view):
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            usage = over_limit(request, group, key, methods)
            if usage:
                return too_many_response(request, usage)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
