from django.utils import translation

from audit import context as audit_context


class UserPreferencesMiddleware:
    """Activate the user's language and set the audit actor for page requests."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and user.language:
            translation.activate(user.language)
            request.LANGUAGE_CODE = user.language
        token = audit_context.set_actor(
            audit_context.Actor(
                user=user if user is not None and user.is_authenticated else None,
                source="web",
                ip=audit_context.client_ip(request),
            )
        )
        try:
            return self.get_response(request)
        finally:
            audit_context.reset(token)


class TwoFactorRequiredMiddleware:
    """A signed-in user whose session still owes a second factor (admins under
    CUSTODY_REQUIRE_ADMIN_2FA=1) reaches only the two-factor page, logging out and static files.

    The API is not redirected: its session authentication refuses such a session itself."""

    ALLOWED_PREFIXES = (
        "/accounts/two-factor/",
        "/accounts/logout/",
        "/static/",
        "/healthz",
        "/readyz",
        "/api/",
    )

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.http import HttpResponse
        from django.shortcuts import redirect
        from django.urls import reverse

        from .two_factor import needs_verification

        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(self.ALLOWED_PREFIXES)
            and needs_verification(user)
        ):
            target = reverse("accounts:two_factor")
            if request.headers.get("HX-Request"):
                response = HttpResponse(status=204)
                response["HX-Redirect"] = target
                return response
            return redirect(target)
        return self.get_response(request)
