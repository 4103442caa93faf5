"""Request hygiene that must run before anything reads the body."""

from django.http import HttpResponse, JsonResponse
from django.http.multipartparser import MultiPartParserError
from django.utils.http import parse_header_parameters

BODY_METHODS = ("POST", "PUT", "PATCH")


def _bad_request(request, message: str, status: int = 400):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {"error": {"code": "VALIDATION_ERROR", "message": message, "details": {}}}, status=status
        )
    return HttpResponse(message, status=status, content_type="text/plain; charset=utf-8")


class MalformedBodyMiddleware:
    """A multipart body without a boundary, or one that does not parse, is the client's 400 — Django
    raises MultiPartParserError on first access to request.POST, which would be a 500 wherever that is."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if request.method in BODY_METHODS and request.META.get("CONTENT_TYPE", "").lower().startswith(
            "multipart/"
        ):
            content_type, params = parse_header_parameters(request.META["CONTENT_TYPE"])
            if content_type != "multipart/form-data":
                return _bad_request(request, "Unsupported multipart type: use multipart/form-data.", 415)
            if not params.get("boundary"):
                return _bad_request(request, "Malformed multipart body: the Content-Type has no boundary.")
            if request.method == "POST":
                try:
                    request.POST  # noqa: B018 — parse here, where a parse error can still be a 400
                except MultiPartParserError as exc:
                    return _bad_request(request, f"Malformed multipart body: {exc}")
        return self.get_response(request)
