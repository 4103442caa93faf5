"""`custody maintenance on|off [--message TEXT]` (DESIGN §15.2)."""

from django.core.management.base import BaseCommand

from audit.context import acting_as
from core import switches
from ops import services


class Command(BaseCommand):
    help = "Switch maintenance mode (read-only) on or off; every user is told and the change is audited."

    def add_arguments(self, parser):
        parser.add_argument("state", choices=["on", "off"])
        parser.add_argument("--message", default=None, help="Shown in the banner on every page.")

    def handle(self, *args, **options):
        with acting_as(source="system"):
            services.set_switches(None, maintenance_mode=options["state"] == "on", message=options["message"])
        state = switches.state()
        self.stdout.write(
            f"maintenance {'on' if state.maintenance_mode else 'off'}"
            + (f": {state.message}" if state.message else "")
        )
