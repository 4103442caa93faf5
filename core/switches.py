"""The system switches every layer asks (DESIGN §14): maintenance mode and "new custodies off".

The switches are stored by `ops` (the top of the stack); apps below it ask this kernel module, and
`ops` registers the reader at start-up, so no app imports upwards. Reads go to the database (several
app instances share one), never through a process cache: a switch flipped anywhere holds for every
request that starts after it. Within one request the first read is kept (`one_read_per_request`, the
maintenance middleware's): creating a custody asked twice, in the middleware and in the service, a few
milliseconds apart, which no admin's click can tell apart from asking once; flipping the switches in
the request itself forgets the kept read.
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

from django.utils.translation import gettext as _

from .errors import Maintenance, NewCustodiesDisabled


@dataclass(frozen=True)
class SwitchState:
    maintenance_mode: bool = False
    new_custodies_enabled: bool = True
    message: str = ""


_reader: Callable[[], SwitchState] = SwitchState


def register(reader: Callable[[], SwitchState]) -> None:
    global _reader
    _reader = reader


# The read kept for the current request: None outside one, [] until its first read, [state] after it.
_kept: ContextVar[list | None] = ContextVar("switches_kept", default=None)


@contextmanager
def one_read_per_request() -> Iterator[None]:
    """While active (one request), `state()` reads the switches once and answers that read after."""
    token = _kept.set([])
    try:
        yield
    finally:
        _kept.reset(token)


def forget() -> None:
    """The switches changed: the current request's next `state()` reads them again."""
    kept = _kept.get()
    if kept:
        kept.clear()


def state() -> SwitchState:
    kept = _kept.get()
    if kept is None:
        return _reader()
    if not kept:
        kept.append(_reader())
    return kept[0]


def maintenance_message(current: SwitchState | None = None) -> str:
    current = current or state()
    return current.message or _("The system is in maintenance: you can look things up but not change them.")


def ensure_writable() -> None:
    """Services and jobs that must not write during maintenance call this."""
    current = state()
    if current.maintenance_mode:
        raise Maintenance(maintenance_message(current))


def ensure_new_custodies_allowed() -> None:
    current = state()
    if current.maintenance_mode:
        raise Maintenance(maintenance_message(current))
    if not current.new_custodies_enabled:
        raise NewCustodiesDisabled(new_custodies_reason())


def new_custodies_reason() -> str:
    return _("Creating new custodies is switched off by an administrator.")


def outbound_held() -> bool:
    """The worker holds webhook deliveries and e-mails during maintenance (they wait, nothing is dropped)."""
    return state().maintenance_mode
