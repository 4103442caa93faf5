"""Secrets at rest (webhook and inbound integration secrets): Fernet with keys from the environment.

CUSTODY_SECRET_KEYS is a comma-separated list of Fernet keys (`custody generate-secret-key` or
`Fernet.generate_key()`); the first encrypts, every one decrypts, so a key is rotated by putting a
new one first, running `custody reencrypt-secrets`, then dropping the old one. The keys never
live in the database. Without the setting (development, tests) a key is derived from SECRET_KEY,
and `custody check` warns about it.
"""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import models

TOKEN_PREFIX = "gAAAAA"  # every Fernet token starts so (version byte 0x80 + timestamp)
_cache: dict[str, MultiFernet] = {}


def configured_keys() -> list[str]:
    raw = getattr(settings, "CUSTODY_SECRET_KEYS", "") or ""
    return [key.strip() for key in raw.split(",") if key.strip()]


def _keys() -> list[bytes]:
    keys = configured_keys()
    if keys:
        return [key.encode() for key in keys]
    derived = hashlib.sha256(b"custody-secrets-at-rest:" + settings.SECRET_KEY.encode()).digest()
    return [base64.urlsafe_b64encode(derived)]


def fernet() -> MultiFernet:
    keys = _keys()
    cache_key = "|".join(k.decode() for k in keys)
    if cache_key not in _cache:
        try:
            _cache.clear()
            _cache[cache_key] = MultiFernet([Fernet(key) for key in keys])
        except ValueError as exc:
            raise ImproperlyConfigured(f"CUSTODY_SECRET_KEYS holds an invalid Fernet key: {exc}") from exc
    return _cache[cache_key]


def encrypt(value: str) -> str:
    return fernet().encrypt(value.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ImproperlyConfigured(
            "A stored secret cannot be decrypted: CUSTODY_SECRET_KEYS lacks the key it was written with."
        ) from exc


def is_encrypted(value: str | None) -> bool:
    return bool(value) and value.startswith(TOKEN_PREFIX)


def rotate(token: str) -> str:
    """The same secret encrypted with the first (newest) key."""
    return fernet().rotate(token.encode()).decode()


class EncryptedTextField(models.TextField):
    """Plain text in Python, a Fernet token in the database. A value stored before encryption
    (no token prefix) reads as is until the data migration or the next save encrypts it."""

    def from_db_value(self, value, expression, connection):
        if value is None or not is_encrypted(value):
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)
