"""Who is acting right now: set once per request (web/API) or job, read by audit.record."""

import contextvars
import uuid
from contextlib import contextmanager
from dataclasses import dataclass, field

from core import requestid


@dataclass(frozen=True)
class Actor:
    user: object | None = None
    source: str = "system"
    ip: str | None = None
    # The request's id (X-Request-ID, logs, error pages) when there is one, so they all match.
    request_id: str = field(default_factory=lambda: requestid.current() or str(uuid.uuid4()))


_current: contextvars.ContextVar[Actor | None] = contextvars.ContextVar("audit_actor", default=None)


def current() -> Actor:
    return _current.get() or Actor(request_id="")


def set_actor(actor: Actor) -> contextvars.Token:
    return _current.set(actor)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)


@contextmanager
def acting_as(user=None, source: str = "system", ip: str | None = None):
    token = set_actor(Actor(user=user, source=source, ip=ip))
    try:
        yield
    finally:
        reset(token)


def client_ip(request) -> str | None:
    # REMOTE_ADDR only: X-Forwarded-For is trivially forged unless a proxy is configured.
    return request.META.get("REMOTE_ADDR") or None
