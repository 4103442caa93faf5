"""Re-encrypt every stored integration secret with the first key of CUSTODY_SECRET_KEYS (key rotation)."""

from django.core.management.base import BaseCommand

from integrations.services import reencrypt_secrets


class Command(BaseCommand):
    help = "Re-encrypt webhook and inbound integration secrets with the newest CUSTODY_SECRET_KEYS key."

    def handle(self, *args, **options):
        count = reencrypt_secrets()
        self.stdout.write(f"{count} secret(s) re-encrypted with the newest key.")
