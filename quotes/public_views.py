"""The customer's review page for a sent quote (DESIGN §15.2): no account, reached by the e-mailed link.

`GET /q/<token>` shows the quote; `POST /q/<token>/accept` (typed name + drawn signature) or `/reject`
(reason). Unknown token 404, expired 410, already decided 409. Each client address is rate-limited
by the shared `core.ratelimit` (counters in the database, so every server process sees them): every
request counts against "public_quote", and unknown-token answers against "public_quote_guess".
"""

from django.shortcuts import render
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from audit.context import acting_as, client_ip
from core.errors import DomainError, NotFound, ValidationFailed
from core.ratelimit import count_only, rate_limit, reached, too_many_response

from . import services
from .choices import QuoteStatus

GUESS_GROUP = "public_quote_guess"


def _problem(request, exc: DomainError):
    if isinstance(exc, NotFound):
        count_only(request, GUESS_GROUP)  # guessing tokens: too many misses block the address
    return render(request, "quotes/public_review.html", {"problem": exc.message}, status=exc.status)


def _page(request, quote, token, **extra):
    context = {
        "quote": quote,
        "lines": list(quote.lines.select_related("vehicle_class", "vehicle")),
        "token": token,
        **extra,
    }
    return render(request, "quotes/public_review.html", context, status=400 if extra.get("errors") else 200)


@never_cache
@rate_limit("public_quote")
@require_GET
def review(request, token):
    if usage := reached(request, GUESS_GROUP):
        return too_many_response(request, usage)
    try:
        quote = services.quote_for_token(token)
    except DomainError as exc:
        return _problem(request, exc)
    return _page(request, quote, token)


@never_cache
@rate_limit("public_quote")
@require_POST
def decide(request, token, decision):
    if usage := reached(request, GUESS_GROUP):
        return too_many_response(request, usage)
    if decision not in ("accept", "reject"):
        return _problem(request, NotFound(_("This link is not valid.")))
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
