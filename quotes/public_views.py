"""The customer's review page for a sent quote (DESIGN §15.2): no account, reached by the e-mailed link.

`GET /q/<token>` shows the quote; `POST /q/<token>/accept` (typed name + drawn signature) or `/reject`
(reason). Unknown token 404, expired 410, already decided 409; each client address is rate-limited.
"""

from django.core.cache import cache
from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from audit.context import acting_as, client_ip
from core.errors import DomainError, NotFound, ValidationFailed

from . import services
from .choices import QuoteStatus

# Per client address: requests per minute, and unknown-token answers per hour (guessing).
REQUESTS_PER_MINUTE = 30
MISSES_PER_HOUR = 20


def _limited(request) -> bool:
    ip = client_ip(request) or "unknown"
    minute_key = f"quote-review:req:{ip}"
    cache.add(minute_key, 0, 60)
    try:
        requests = cache.incr(minute_key)
    except ValueError:
        requests = 1
    misses = cache.get(f"quote-review:miss:{ip}", 0)
    return requests > REQUESTS_PER_MINUTE or misses >= MISSES_PER_HOUR


def _missed(request) -> None:
    key = f"quote-review:miss:{client_ip(request) or 'unknown'}"
    cache.add(key, 0, 3600)
    try:
        cache.incr(key)
    except ValueError:
        cache.set(key, 1, 3600)


def _problem(request, exc: DomainError):
    if isinstance(exc, NotFound):
        _missed(request)
    return render(request, "quotes/public_review.html", {"problem": exc.message}, status=exc.status)


def _too_many(request):
    response = render(
        request,
        "quotes/public_review.html",
        {"problem": _("Too many attempts from your connection. Wait a few minutes and try again.")},
        status=429,
    )
    response["Retry-After"] = "60"
    return response


def _page(request, quote, token, **extra):
    context = {
        "quote": quote,
        "lines": list(quote.lines.select_related("vehicle_class", "vehicle")),
        "token": token,
        **extra,
    }
    return render(request, "quotes/public_review.html", context, status=400 if extra.get("errors") else 200)


@never_cache
@require_GET
def review(request, token):
    if _limited(request):
        return _too_many(request)
    try:
        quote = services.quote_for_token(token)
    except DomainError as exc:
        return _problem(request, exc)
    return _page(request, quote, token)


@never_cache
@require_POST
def decide(request, token, decision):
    if decision not in ("accept", "reject"):
        return _problem(request, NotFound(_("This link is not valid.")))
    if _limited(request):
        return _too_many(request)
    ip = client_ip(request)
    agent = request.headers.get("User-Agent", "")
    try:
        with acting_as(source="web", ip=ip):
            if decision == "accept":
                quote = services.accept_quote(
                    token, request.POST.get("name", ""), request.POST.get("signature", ""), ip, agent
                )
            else:
                quote = services.decline_quote(
                    token, request.POST.get("reason", ""), ip, agent, request.POST.get("name", "")
                )
    except ValidationFailed as exc:
        try:
            quote = services.quote_for_token(token)
        except DomainError as gone:
            return _problem(request, gone)
        return _page(
            request,
            quote,
            token,
            errors=exc.messages(),
            decision=decision,
            name=request.POST.get("name", ""),
            reason=request.POST.get("reason", ""),
        )
    except DomainError as exc:
        return _problem(request, exc)
    done = (
        _("Thank you. You accepted the quotation; a signed copy is on its way to you by e-mail.")
        if quote.status == QuoteStatus.ACCEPTED
        else _("Thank you. We recorded that you rejected the quotation.")
    )
    return render(request, "quotes/public_review.html", {"done": done, "quote": quote})
