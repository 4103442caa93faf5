"""`custody check`: Django's system checks plus warnings about an insecure production setup."""

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand


def configuration_warnings() -> list[str]:
    warnings = []
    if settings.DEBUG:
        warnings.append("DEBUG is on: set DEBUG=0 in production.")
    if settings.SECRET_KEY == settings.INSECURE_DEFAULT_SECRET_KEY or len(settings.SECRET_KEY) < 32:
        warnings.append("SECRET_KEY is the development default or too short: set a long random SECRET_KEY.")
    if not settings.IS_POSTGRES:
        warnings.append(
            "The database is SQLite: production should use PostgreSQL (DATABASE_URL=postgres://…)."
        )
    if "console" in settings.EMAIL_BACKEND:
        warnings.append("E-mail goes to the console: set EMAIL_BACKEND and EMAIL_HOST for real delivery.")
    if not settings.DEBUG and not settings.SESSION_COOKIE_SECURE:
        warnings.append("Session cookies are not marked secure.")
    if not getattr(settings, "CUSTODY_SECRET_KEYS", ""):
        warnings.append(
            "CUSTODY_SECRET_KEYS is not set: integration secrets are encrypted with a key derived from "
            "SECRET_KEY; set your own Fernet key(s)."
        )
    if "*" in settings.ALLOWED_HOSTS:
        warnings.append("ALLOWED_HOSTS contains '*': list the real host names.")
    return warnings


class Command(BaseCommand):
    help = "Check the configuration (Django checks and production safety)."

    def add_arguments(self, parser):
        parser.add_argument("--strict", action="store_true", help="Exit non-zero when there are warnings.")

    def handle(self, *args, **opts):
        call_command("check", deploy=not settings.DEBUG)
        warnings = configuration_warnings()
        for warning in warnings:
            self.stdout.write(self.style.WARNING(f"WARNING: {warning}"))
        if not warnings:
            self.stdout.write(self.style.SUCCESS("Configuration looks production-ready."))
        if warnings and opts["strict"]:
            raise SystemExit(1)
