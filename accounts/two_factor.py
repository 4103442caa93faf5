"""Two-factor authentication with an authenticator app (TOTP, django-otp) plus recovery codes.

Reads only; the changes (enrol, confirm, verify, turn off) are in `accounts.services`.

Who needs a second factor:
- anyone who turned it on: the login page asks for a code after the password, and so does the API's
  `POST /api/v1/auth/token` (field `otp`);
- admins when CUSTODY_REQUIRE_ADMIN_2FA=1: until they have set it up, every page sends them to the
  set-up page and the API refuses them a token (403), so neither is a way around it. Personal tokens
  are made on the settings page, which is itself behind the second factor.
"""

import segno
from django.conf import settings
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice

from .choices import Role

RECOVERY_DEVICE_NAME = "recovery codes"
RECOVERY_CODE_COUNT = 10


def has_two_factor(user) -> bool:
    return bool(getattr(user, "two_factor_enabled", False))


def required(user) -> bool:
    """Must this user have a second factor (admins, when the setting says so)?"""
    return bool(settings.CUSTODY_REQUIRE_ADMIN_2FA) and getattr(user, "role", None) == Role.ADMIN


def needs_verification(user) -> bool:
    """Signed in, but the session has not passed (or cannot pass) the second factor it must."""
    if not (user and user.is_authenticated):
        return False
    verified = getattr(user, "is_verified", None)
    if callable(verified) and verified():
        return False
    return required(user) or has_two_factor(user)


def pending_device(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=False).order_by("-id").first()


def recovery_codes_left(user) -> int:
    device = StaticDevice.objects.filter(user=user, name=RECOVERY_DEVICE_NAME).first()
    return device.token_set.count() if device else 0


def secret_for_display(device: TOTPDevice) -> str:
    """The base32 secret in groups of four, for typing into an app that cannot scan."""
    from base64 import b32encode

    secret = b32encode(device.bin_key).decode()
    return " ".join(secret[i : i + 4] for i in range(0, len(secret), 4))


def qr_data_uri(device: TOTPDevice) -> str:
    """The otpauth:// URL as an SVG QR code, drawn here (no outside service sees the secret)."""
    return segno.make(device.config_url, error="m").svg_data_uri(scale=5, border=2)
