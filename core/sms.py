"""SMS behind a small backend interface (DESIGN §10). Off unless CUSTODY_SMS_BACKEND names a backend.

A real provider is a subclass of `SmsBackend` implementing `send`; set
`CUSTODY_SMS_BACKEND=core.sms.ConsoleSmsBackend` (or your class) in the environment or
in Django settings to switch the channel on.
"""

import logging
import os
import sys

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger(__name__)


class SmsBackend:
    """Send one text message; raise on failure (the delivery records the error and is retried)."""

    def send(self, to: str, message: str) -> None:
        raise NotImplementedError


class ConsoleSmsBackend(SmsBackend):
    """Development: writes the message to standard output instead of sending it."""

    def __init__(self, stream=None):
        self.stream = stream or sys.stdout

    def send(self, to: str, message: str) -> None:
        self.stream.write(f"SMS to {to}: {message}\n")
        self.stream.flush()


class LocmemSmsBackend(SmsBackend):
    """Tests: keeps the messages in `outbox` (like Django's locmem e-mail backend)."""

    outbox: list[tuple[str, str]] = []

    def send(self, to: str, message: str) -> None:
        LocmemSmsBackend.outbox.append((to, message))


def backend_path() -> str:
    return getattr(settings, "CUSTODY_SMS_BACKEND", "") or os.environ.get("CUSTODY_SMS_BACKEND", "")


def sms_enabled() -> bool:
    return bool(backend_path())


def get_sms_backend() -> SmsBackend | None:
    path = backend_path()
    if not path:
        return None
    return import_string(path)()
