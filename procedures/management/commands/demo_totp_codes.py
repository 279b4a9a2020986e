from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from procedures.demo import DEMO_STAFF, demo_totp_seed


class Command(BaseCommand):
    help = "Print the current two-factor codes of the demo accounts (their fixed seeds; DEBUG only)."

    def handle(self, *args, **options):
        if not settings.DEBUG:
            raise CommandError("Demo accounts and their fixed two-factor seeds exist only with DEBUG on.")
        from facilities.demo import DEMO_USERS
        from portal.two_factor import totp_code_now

        for username in [row[0] for row in DEMO_STAFF] + [row[0] for row in DEMO_USERS]:
            self.stdout.write(f"{username:8} {totp_code_now(demo_totp_seed(username))}")
