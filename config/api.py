"""The REST API (DESIGN §15): one NinjaAPI, error shape, auth and list conventions."""

import logging

from django.core.exceptions import ObjectDoesNotExist, PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import IntegrityError
from django.http import Http404
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError
from ninja.errors import ValidationError as NinjaValidationError
from ninja.parser import Parser

from accounts.api import BearerTokenAuth, SessionCookieAuth
from accounts.api import router as accounts_router
from billing.api import router as billing_router
from core.errors import DomainError
from custodies.api import router as custodies_router
from fleet.api import router as fleet_router
from integrations.api import router as integrations_router
from notifications.api import router as notifications_router

logger = logging.getLogger(__name__)

ERROR_DESCRIPTIONS = {
    400: "VALIDATION_ERROR: the body could not be parsed",
    401: "AUTH_ERROR: no or an invalid token (public operations: wrong credentials or signature)",
    403: "PERMISSION_DENIED: the role may not do this",
    404: "NOT_FOUND: no such record in your branches",
    409: "CONFLICT or INVALID_TRANSITION: a stale version, a duplicate, or the wrong state",
    422: "VALIDATION_ERROR: details name each field and what is wrong",
    429: "RATE_LIMITED: too many requests; retry after the Retry-After seconds",
    503: "MAINTENANCE (read-only maintenance) or NEW_CUSTODIES_DISABLED; retry later",
}
# Refused by the HTTP server (gunicorn) before the app sees the request: an HTML page, not the envelope.
SERVER_REFUSALS = {
    414: "URI too long: the request line is over 8,190 bytes (send long filters in fewer, shorter values)",
}
ERROR_SCHEMA = {
    "title": "ErrorEnvelope",
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "details"],
            "properties": {
                "code": {
                    "type": "string",
                    "enum": [
                        "VALIDATION_ERROR",
                        "AUTH_ERROR",
                        "PERMISSION_DENIED",
                        "NOT_FOUND",
                        "METHOD_NOT_ALLOWED",
                        "CONFLICT",
                        "INVALID_TRANSITION",
                        "PRECONDITION_REQUIRED",
                        "RATE_LIMITED",
                        "MAINTENANCE",
                        "NEW_CUSTODIES_DISABLED",
                    ],
                },
                "message": {"type": "string"},
                "details": {},
            },
        }
    },
}


class ObjectBodyParser(Parser):
    """JSON bodies must be objects: a bare array or number would otherwise validate as an all-defaults
    PATCH (Ninja reads schema fields with getattr) and answer 200."""

    def parse_body(self, request):
        data = super().parse_body(request)
        if not isinstance(data, dict):
            raise NinjaValidationError(
                [{"loc": ("body",), "msg": "The body must be a JSON object.", "type": "dict_type"}]
            )
        return data


class CustodyAPI(NinjaAPI):
    def get_openapi_schema(self, *, path_prefix=None, path_params=None):
        """Every operation documents the error envelope for each 4xx/503 it can answer — in one place,
        so a new endpoint cannot forget it."""
        schema = super().get_openapi_schema(path_prefix=path_prefix, path_params=path_params)
        schema.setdefault("components", {}).setdefault("schemas", {})["ErrorEnvelope"] = ERROR_SCHEMA
        ref = {"$ref": "#/components/schemas/ErrorEnvelope"}
        for path_item in schema.get("paths", {}).values():
            for method, operation in path_item.items():
                if method not in ("get", "post", "put", "patch", "delete"):
                    continue
                responses = operation.setdefault("responses", {})
                for status, description in ERROR_DESCRIPTIONS.items():
                    responses.setdefault(
                        str(status),
                        {"description": description, "content": {"application/json": {"schema": ref}}},
                    )
                for status, description in SERVER_REFUSALS.items():
                    responses.setdefault(
                        str(status),
                        {
                            "description": description,
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        },
                    )
        return schema


api = CustodyAPI(
    title="Custody API",
    parser=ObjectBodyParser(),
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
    428: "PRECONDITION_REQUIRED",
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
    response = error_response(request, exc.status, exc.code, exc.message, exc.details)
    if exc.status == 429 and isinstance(exc.details, dict) and exc.details.get("retry_after"):
        response["Retry-After"] = str(exc.details["retry_after"])
    return response


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


# SQLSTATE classes: 23505 unique, 23P01 exclusion (both "already exists"); the rest are a rule broken.
_DUPLICATE_SQLSTATES = {"23505", "23P01"}


def is_duplicate(exc: IntegrityError) -> bool:
    """True only when the database refused a second copy (unique/exclusion), not NOT NULL, FK or CHECK."""
    sqlstate = getattr(exc.__cause__, "sqlstate", None) or getattr(exc.__cause__, "pgcode", None)
    if sqlstate:
        return sqlstate in _DUPLICATE_SQLSTATES
    return str(exc).startswith("UNIQUE constraint failed")  # SQLite


@api.exception_handler(IntegrityError)
def on_integrity_error(request, exc):
    if is_duplicate(exc):
        logger.info("duplicate refused on %s: %s", request.path, exc)
        return error_response(
            request, 409, "CONFLICT", "The change conflicts with existing data (a duplicate)."
        )
    # A NOT NULL / foreign key / check the services should have caught: the input was refused, and
    # it is logged as an error because a validation is missing.
    logger.error("integrity error on %s: %s", request.path, exc)
    return error_response(
        request, 422, "VALIDATION_ERROR", "The request breaks a data rule (a missing or invalid value)."
    )


@api.exception_handler(HttpError)
def on_http_error(request, exc: HttpError):
    if isinstance(exc.__cause__, NinjaValidationError):  # Ninja wraps our parser's refusal in a 400
        return on_validation_error(request, exc.__cause__)
    code = STATUS_CODES.get(exc.status_code, "ERROR")
    return error_response(request, exc.status_code, code, str(exc))


api.add_router("/v1/", accounts_router)
api.add_router("/v1/", fleet_router)
api.add_router("/v1/", custodies_router)
api.add_router("/v1/", "approvals.api.router")
api.add_router("/v1/", billing_router)
api.add_router("/v1/", integrations_router)
api.add_router("/v1/", "documents.api.router")
api.add_router("/v1/", notifications_router)
api.add_router("/v1/", "reports.api.router")
api.add_router("/v1/", "quotes.api.router")
api.add_router("/v1/", "ops.api.router")
api.add_router("/v1/", "support.api.router")
