"""`custody verify [--json]`: exit 0 when every invariant holds, 1 with one line per violation."""

import json
import sys

from django.core.management.base import BaseCommand

from ops.verify import CHECKS, run_checks


class Command(BaseCommand):
    help = "Check the invariants of DESIGN §14 (numbers, totals, balances, states, vehicles, holds, files, audit)."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="One JSON document for machines.")
        parser.add_argument(
            "--check", action="append", choices=list(CHECKS), help="Only this check (repeatable)."
        )

    def handle(self, *args, **options):
        violations = run_checks(options["check"])
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "ok": not violations,
                        "checks": options["check"] or list(CHECKS),
                        "violations": [v.as_dict() for v in violations],
                    },
                    indent=2,
                )
            )
        else:
            for violation in violations:
                self.stdout.write(violation.line())
            if not violations:
                self.stdout.write(f"ok: {len(options['check'] or CHECKS)} checks, no violations")
        if violations:
            sys.exit(1)
