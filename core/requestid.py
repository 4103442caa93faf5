"""The id of the request being served: set by the request middleware, read by logs, audit entries
and error pages, returned to the client in `X-Request-ID` so a user can quote it in a ticket."""

import contextvars
import re
import uuid

_current: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")
_user: contextvars.ContextVar[str] = contextvars.ContextVar("request_user", default="")
# An id from a trusted proxy is kept when it looks like one (never logged raw: no control characters).
_ACCEPTED = re.compile(r"^[A-Za-z0-9._-]{8,64}$")


def current() -> str:
    return _current.get()


def current_user() -> str:
    return _user.get()


def new_id(incoming: str | None = None) -> str:
    if incoming and _ACCEPTED.match(incoming):
        return incoming
    return str(uuid.uuid4())


def set_current(request_id: str) -> contextvars.Token:
    return _current.set(request_id)


def set_user(user_id: str) -> contextvars.Token:
    return _user.set(user_id)


def reset(token: contextvars.Token, user_token: contextvars.Token | None = None) -> None:
    _current.reset(token)
    if user_token is not None:
        _user.reset(user_token)
