"""Domain errors raised by services; pages show them as messages/field errors, the API as JSON.

Each maps to one API error code of DESIGN §15.
"""

from typing import Any


class DomainError(Exception):
    status = 400
    code = "VALIDATION_ERROR"

    def __init__(self, message: str, details: Any = None):
        super().__init__(message)
        self.message = message
        self.details = details if details is not None else {}

    def messages(self) -> list[str]:
        """What a page shows: the per-field messages (they say what to fix), else the error's message."""
        found: list[str] = []
        if isinstance(self.details, dict):
            for value in self.details.values():
                for item in value if isinstance(value, list | tuple) else []:
                    if isinstance(item, str) and item not in found:
                        found.append(str(item))
        return found or [self.message]


class ValidationFailed(DomainError):
    """Input or business rule violated; details maps field/rule → list of messages."""

    status = 422
    code = "VALIDATION_ERROR"


class InvalidTransition(DomainError):
    status = 409
    code = "INVALID_TRANSITION"


class Conflict(DomainError):
    status = 409
    code = "CONFLICT"


class PreconditionRequired(DomainError):
    """An update that must say which version it read (If-Match) did not."""

    status = 428
    code = "PRECONDITION_REQUIRED"


class Forbidden(DomainError):
    status = 403
    code = "PERMISSION_DENIED"


class NotFound(DomainError):
    status = 404
    code = "NOT_FOUND"


class AuthFailed(DomainError):
    status = 401
    code = "AUTH_ERROR"


class Maintenance(DomainError):
    status = 503
    code = "MAINTENANCE"


class NewCustodiesDisabled(DomainError):
    status = 503
    code = "NEW_CUSTODIES_DISABLED"


class RateLimited(DomainError):
    status = 429
    code = "RATE_LIMITED"
