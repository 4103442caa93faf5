"""The REST API (DESIGN §15): one NinjaAPI, error shape, auth and list conventions."""

import logging

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError

from accounts.api import BearerTokenAuth, SessionCookieAuth
from accounts.api import router as accounts_router
from billing.api import router as billing_router
from core.errors import DomainError
from custodies.api import router as custodies_router
from fleet.api import router as fleet_router
from integrations.api import router as integrations_router
from notifications.api import router as notifications_router

logger = logging.getLogger(__name__)

api = NinjaAPI(
    title="Custody API",
    version="1",
    description="Custody Management System REST API. Authenticate with `POST /api/v1/auth/token`, "
    'then send `Authorization: Bearer <token>`. Errors are `{"error": {"code", "message", "details"}}`.',
    urls_namespace="api",
    docs_url="/docs",
    openapi_url="/openapi.json",
    auth=[BearerTokenAuth(), SessionCookieAuth()],
)

STATUS_CODES = {
    400: "VALIDATION_ERROR",
    401: "AUTH_ERROR",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "METHOD_NOT_ALLOWED",
    409: "CONFLICT",
    422: "VALIDATION_ERROR",
    429: "RATE_LIMITED",
    503: "MAINTENANCE",
}


def error_response(request, status: int, code: str, message: str, details=None):
    return api.create_response(
        request, {"error": {"code": code, "message": message, "details": details or {}}}, status=status
    )


def _field_name(loc) -> str:
    # Ninja prefixes locations with the parameter source and name ("body", "payload", ...).
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form", "file", "cookie")]
    if parts and parts[0] in ("payload", "data", "filters", "params"):
        parts = parts[1:]
    return ".".join(parts) or "__all__"


@api.exception_handler(NinjaValidationError)
def on_validation_error(request, exc):
    details: dict[str, list[str]] = {}
    for err in exc.errors:
        details.setdefault(_field_name(err.get("loc", ())), []).append(err.get("msg", "invalid"))
    return error_response(request, 422, "VALIDATION_ERROR", "The request is not valid.", details)


@api.exception_handler(DomainError)
def on_domain_error(request, exc: DomainError):
    return error_response(request, exc.status, exc.code, exc.message, exc.details)


@api.exception_handler(DjangoValidationError)
def on_django_validation_error(request, exc: DjangoValidationError):
    details = exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}
    return error_response(request, 422, "VALIDATION_ERROR", "The request is not valid.", details)


@api.exception_handler(AuthenticationError)
def on_auth_error(request, exc):
    return error_response(request, 401, "AUTH_ERROR", "Authentication required: send a valid Bearer token.")


@api.exception_handler(PermissionDenied)
def on_permission_denied(request, exc):
    return error_response(request, 403, "PERMISSION_DENIED", str(exc) or "You may not do this.")


@api.exception_handler(Http404)
def on_not_found(request, exc):
    return error_response(request, 404, "NOT_FOUND", "Not found.")


@api.exception_handler(ObjectDoesNotExist)
def on_object_missing(request, exc):
    return error_response(request, 404, "NOT_FOUND", "Not found.")


@api.exception_handler(IntegrityError)
def on_integrity_error(request, exc):
    logger.info("integrity error on %s: %s", request.path, exc)
    return error_response(request, 409, "CONFLICT", "The change conflicts with existing data (a duplicate?).")


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    code = STATUS_CODES.get(exc.status_code, "ERROR")
    return error_response(request, exc.status_code, code, str(exc))


api.add_router("/v1/", accounts_router)
api.add_router("/v1/", fleet_router)
api.add_router("/v1/", custodies_router)
api.add_router("/v1/", billing_router)
api.add_router("/v1/", integrations_router)
api.add_router("/v1/", "documents.api.router")
api.add_router("/v1/", notifications_router)
api.add_router("/v1/", "reports.api.router")
api.add_router("/v1/", "quotes.api.router")
api.add_router("/v1/", "ops.api.router")
api.add_router("/v1/", "support.api.router")
