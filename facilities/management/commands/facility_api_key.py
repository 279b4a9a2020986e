from django.core.management.base import BaseCommand, CommandError

from facilities.models import Facility, FacilityCredential


class Command(BaseCommand):
    help = "Issue an API key for a facility's own system; the key is printed once and stored as a digest."

    def add_arguments(self, parser):
        parser.add_argument("code")
        parser.add_argument("--label", default="")

    def handle(self, *args, code, label, **options):
        facility = Facility.objects.filter(code=code).first()
        if facility is None:
            raise CommandError(f"unknown facility {code}")
        _credential, key = FacilityCredential.issue(facility=facility, label=label)
        self.stdout.write(f"Authorization: Api-Key {key}")
