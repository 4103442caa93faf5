"""What a locked-out login sees: JSON for the API, a page for people."""

from django.http import JsonResponse
from django.shortcuts import render


def lockout_response(request, original_response=None, credentials=None):
    if request.path.startswith("/api/"):
        return JsonResponse(
            {
                "error": {
                    "code": "RATE_LIMITED",
                    "message": "Too many failed logins; try again later.",
                    "details": {},
                }
            },
            status=429,
        )
    return render(request, "accounts/locked_out.html", status=429)
