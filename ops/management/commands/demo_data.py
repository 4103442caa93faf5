"""`custody demo-data`: load the demo company once; `--logins` prints who can log in."""

from django.conf import settings
from django.core.management.base import BaseCommand

from ops import demo


class Command(BaseCommand):
    help = (
        "Load the demo data set (branches, vehicle classes, fleet, customers, agreements, one user per role) "
        "unless it is already loaded. -v 0 leaves out the logins table."
    )

    def add_arguments(self, parser):
        parser.add_argument("--logins", action="store_true", help="Only print the demo logins and exit.")

    def handle(self, *args, logins=False, verbosity=1, **options):
        if logins:
            self._print_logins()
            return
        if demo.is_loaded():
            if verbosity:
                self.stdout.write(
                    "Demo data is already loaded; nothing changed. "
                    "`custody demo-data --logins` lists the demo logins."
                )
            return
        if not settings.DEBUG:
            self.stderr.write(
                self.style.WARNING(
                    "WARNING: DEBUG is off. The demo users share a published password: "
                    "deactivate them before real use."
                )
            )
        result = demo.load()
        summary = ", ".join(f"{count} {kind}" for kind, count in result.created.items())
        self.stdout.write(self.style.SUCCESS(f"Loaded demo data: {summary}."))
        for warning in result.warnings:
            self.stderr.write(self.style.WARNING(f"WARNING: {warning}"))
        if verbosity:
            self._print_logins()

    def _print_logins(self):
        if not demo.is_loaded():
            self.stdout.write("The demo data is not loaded: run `custody demo-data` first.")
            return
        self.stdout.write("")
        self.stdout.write(self.style.MIGRATE_HEADING("Demo logins:"))
        self.stdout.write(demo.logins_table())
        self.stdout.write("")
