"""`custody sla-check`: stamp SLA breaches and escalate overdue approval levels (idempotent)."""

from django.core.management.base import BaseCommand

from audit.context import acting_as
from custodies.services import check_sla


class Command(BaseCommand):
    help = "Detect SLA breaches and escalate overdue approvals. Safe to run any number of times."

    def handle(self, *args, **options):
        with acting_as(source="system"):
            counts = check_sla()
        self.stdout.write(
            "SLA check: breaches approve={approve} handover={handover} close={close}; escalated={escalated}".format(
                **counts
            )
        )
