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
