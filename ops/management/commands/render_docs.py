from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand

from ops.docs import render_state_machine


class Command(BaseCommand):
    help = "Write docs/state-machines.md from the transition table."

    def handle(self, *args, **options):
        path = Path(settings.BASE_DIR) / "docs" / "state-machines.md"
        path.parent.mkdir(exist_ok=True)
        path.write_text(render_state_machine(), encoding="utf-8")
        self.stdout.write(f"wrote {path}")
