"""Maintenance mode for pages and API: the one gate every write request passes (DESIGN §14, §15.2).

Services raise the same errors through `core.switches`, so a write that does not come through a
request (CLI, jobs) is refused by the same rule.
"""

from django.http import JsonResponse
from django.shortcuts import render
from django.urls import Resolver404, resolve

from core import switches

WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})

# Page writes that stay open: signing in (with its second factor) and out, narrowing the lists to a branch and
# hiding an announcement banner (both session only), the switch page itself, so an administrator can end
# maintenance, and exporting the rows ticked on the custody list (a read sent as a POST). Everything else is
# refused.
ALLOWED_PAGE_WRITES = frozenset(
    {
        "accounts:login",
        "accounts:login_verify",
        "accounts:logout",
        "switch_branch",
        "system",
        "support:announcement_dismiss",
        "custodies:export_selected",  # a read: the ticked rows' ids travel in the body, not the address
    }
)
# Page writes open to administrators only: announcements are how they tell everyone about the maintenance
# window or a rollback (issue #10 §8), and they may still file a problem they find. Anyone else is told
# that reporting waits for the end of maintenance (`support.services` says the same to the API).
ADMIN_PAGE_WRITES = frozenset({"support:report", "support:announcements", "support:announcement_end"})
# API writes that stay open: getting a token, and the switch (admins only, checked by the endpoint).
ALLOWED_API_WRITES = frozenset({("POST", "/api/v1/auth/token"), ("PATCH", "/api/v1/system")})
# API writes the service decides during maintenance (admins pass, anyone else gets 503 MAINTENANCE).
ADMIN_API_WRITES = frozenset({("POST", "/api/v1/support-tickets")})


def is_api(path: str) -> bool:
    return path.startswith("/api/")


def write_allowed_in_maintenance(method: str, path: str, user=None) -> bool:
    if method not in WRITE_METHODS:
        return True
    if is_api(path):
        key = (method, path.rstrip("/"))
        return key in ALLOWED_API_WRITES or key in ADMIN_API_WRITES
    try:
        match = resolve(path)
    except Resolver404:
        return True  # nothing is there: the 404 page answers
    if match.view_name in ADMIN_PAGE_WRITES:
        from support.services import open_in_maintenance

        return open_in_maintenance(user)
    return match.view_name in ALLOWED_PAGE_WRITES


def refusal_message(path: str, current) -> str:
    """What the refused user reads: the admin's message, and for reporting a problem what to do instead."""
    message = switches.maintenance_message(current)
    try:
        view_name = resolve(path).view_name
    except Resolver404:
        return message
    if view_name == "support:report":
        from support.services import reporting_paused_message

        return f"{reporting_paused_message()} {message}"
    return message


def maintenance_response(request, message: str):
    if is_api(request.path_info):
        body = {"error": {"code": "MAINTENANCE", "message": message, "details": {}}}
        return JsonResponse(body, status=503, headers={"Retry-After": "300"})
    htmx = request.headers.get("HX-Request") == "true"
    template = "ops/_maintenance_notice.html" if htmx else "ops/maintenance.html"
    response = render(request, template, {"maintenance_message": message}, status=503)
    response["Retry-After"] = "300"
    return response


class MaintenanceMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        # The request reads the switches once (core.switches: the service's check of a create answers
        # from the read made here, a few milliseconds earlier). Reads never touch the switch here
        # (health checks stay free of queries).
        with switches.one_read_per_request():
            if not write_allowed_in_maintenance(
                request.method, request.path_info, getattr(request, "user", None)
            ):
                current = switches.state()
                if current.maintenance_mode:
                    return maintenance_response(request, refusal_message(request.path_info, current))
            return self.get_response(request)
