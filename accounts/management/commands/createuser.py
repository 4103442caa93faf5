from django.core.management.base import BaseCommand, CommandError

from accounts import services
from accounts.choices import Role
from core.errors import ValidationFailed


class Command(BaseCommand):
    help = "Create a user who logs in with e-mail and password."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--role", required=True, choices=Role.values)
        parser.add_argument("--password", required=True)
        parser.add_argument("--name", default="")
        group = parser.add_mutually_exclusive_group(required=True)
        group.add_argument("--branch", action="append", dest="branches", metavar="CODE")
        group.add_argument("--all-branches", action="store_true")

    def handle(self, *args, **opts):
        from django.contrib.auth.password_validation import validate_password
        from django.core.exceptions import ValidationError

        try:
            validate_password(opts["password"])
        except ValidationError as exc:
            raise CommandError("Password rejected: " + " ".join(exc.messages)) from exc
        try:
            user = services.create_user(
                email=opts["email"],
                role=opts["role"],
                password=opts["password"],
                full_name=opts["name"],
                branch_codes=opts["branches"] or [],
                all_branches=opts["all_branches"],
            )
        except ValidationFailed as exc:
            raise CommandError(f"{exc.message} {'; '.join(exc.messages())}") from exc
        self.stdout.write(self.style.SUCCESS(f"Created {user.email} ({user.role})."))
