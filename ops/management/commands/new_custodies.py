"""`custody new-custodies on|off` (DESIGN §15.2)."""

from django.core.management.base import BaseCommand

from audit.context import acting_as
from core import switches
from ops import services


class Command(BaseCommand):
    help = "Allow or refuse opening new custodies (running ones continue); audited, every user is told."

    def add_arguments(self, parser):
        parser.add_argument("state", choices=["on", "off"])
        parser.add_argument("--message", default=None, help="Shown in the banner on every page.")

    def handle(self, *args, **options):
        with acting_as(source="system"):
            services.set_switches(
                None, new_custodies_enabled=options["state"] == "on", message=options["message"]
            )
        self.stdout.write(f"new custodies {'on' if switches.state().new_custodies_enabled else 'off'}")
