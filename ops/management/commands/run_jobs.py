"""`custody run-jobs`: run the scheduled jobs now (all, or --only NAME ...)."""

import json

from django.core.management.base import BaseCommand

from ops.jobs import all_jobs, run_due_jobs


class Command(BaseCommand):
    help = "Run the scheduled jobs now: SLA, escalation, reminders, overdue, document expiry, retries, retention."

    def add_arguments(self, parser):
        parser.add_argument("--only", nargs="*", choices=[job.name for job in all_jobs()])
        parser.add_argument("--due", action="store_true", help="Only jobs whose interval has passed.")

    def handle(self, *args, **options):
        results = run_due_jobs(force=not options["due"], only=options["only"])
        for name, counts in results.items():
            self.stdout.write(f"{name}: {json.dumps(counts, default=str)}")
