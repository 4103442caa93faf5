"""`custody restore DIR [--force]`: checksums first, then the database and the files."""

from django.core.management.base import BaseCommand, CommandError

from ops.backup import BackupError, restore_backup


class Command(BaseCommand):
    help = "Restore a backup into an empty instance (--force replaces an instance that has data)."

    def add_arguments(self, parser):
        parser.add_argument("directory")
        parser.add_argument("--force", action="store_true", help="Replace the data of a non-empty instance.")

    def handle(self, *args, **options):
        try:
            summary = restore_backup(options["directory"], force=options["force"])
        except BackupError as exc:
            raise CommandError(str(exc)) from exc
        counts = summary["counts"]
        self.stdout.write(
            f"restored: {counts.get('custodies.custody', 0)} custodies, {counts.get('accounts.user', 0)} users, "
            f"{summary['files']} files. Run `custody verify` next."
        )
