from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from portal.two_factor import two_factor_reset


class Command(BaseCommand):
    help = (
        "Remove the TOTP authenticator and recovery codes of an account (audited as auth.mfa_reset); "
        "the person must enrol again at the next request. Use after a lost or replaced phone, once the "
        "person's identity has been checked."
    )

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--reason", required=True, help="Why (kept in the audit record), e.g. a ticket number.")
        parser.add_argument("--by", required=True, help="Username of the administrator who asks for the reset.")

    def handle(self, *args, username, reason, by, **options):
        users = get_user_model()
        try:
            user = users.objects.get(username=username)
            actor = users.objects.get(username=by, is_superuser=True, is_active=True)
        except users.DoesNotExist as exc:
            raise CommandError("Unknown account, or --by is not an active administrator.") from exc
        removed = two_factor_reset(user=user, actor=actor, reason=reason.strip())
        self.stdout.write(self.style.SUCCESS(f"{username}: {removed} authenticator(s) removed; enrolment required."))
