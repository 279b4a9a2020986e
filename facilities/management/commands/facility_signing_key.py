from django.core.management.base import BaseCommand, CommandError

from facilities.models import Facility
from facilities.signing import facility_demo_key_create


class Command(BaseCommand):
    help = "Generate a self-signed demo signing key (PKCS#12) for a facility, or for every facility without one."

    def add_arguments(self, parser):
        parser.add_argument("codes", nargs="*", help="facility codes (default: every facility without a key)")
        parser.add_argument("--force", action="store_true", help="replace an existing key")

    def handle(self, *args, codes, force, **options):
        facilities = Facility.objects.filter(code__in=codes) if codes else Facility.objects.filter(signing_key_path="")
        if codes and facilities.count() != len(set(codes)):
            raise CommandError("unknown facility code(s)")
        for facility in facilities:
            if facility.signing_key_path and not force:
                self.stdout.write(f"{facility.code}: has a key ({facility.signing_key_path}); --force replaces it")
                continue
            path = facility_demo_key_create(facility=facility)
            self.stdout.write(f"{facility.code}: demo key written to {path}")
