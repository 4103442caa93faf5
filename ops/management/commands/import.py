"""`custody import KIND FILE.csv [--dry-run]` (DESIGN §15.2): all or nothing, row-level errors."""

import sys
from pathlib import Path

from django.core.management.base import BaseCommand

from ops.importer import KINDS, ImportFailed, run_import


class Command(BaseCommand):
    help = "Import legacy data from CSV (headers = API field names, references by natural key)."

    def add_arguments(self, parser):
        parser.add_argument("kind", choices=KINDS)
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="Check every row, write nothing.")

    def handle(self, *args, **options):
        try:
            with options["file"].open("rb") as handle:
                result = run_import(options["kind"], handle, dry_run=options["dry_run"])
        except FileNotFoundError:
            self.stderr.write(f"{options['file']}: no such file")
            sys.exit(2)
        except ImportFailed as exc:
            for line in exc.errors:
                self.stdout.write(line)
            self.stdout.write(
                f"{options['kind']}: {len(exc.errors)} rejected rows/cells; nothing was written"
            )
            sys.exit(1)
        self.stdout.write(result.summary())
