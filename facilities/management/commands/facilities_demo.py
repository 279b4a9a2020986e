from django.core.management.base import BaseCommand

from facilities.demo import DEMO_PASSWORD, load_facility_demo


class Command(BaseCommand):
    help = "Create the illustrative demo facility, its signing key and the `facility` user."

    def handle(self, *args, **options):
        facility = load_facility_demo()
        self.stdout.write(f"Demo facility {facility.code} ({facility.name}); user facility / {DEMO_PASSWORD}")
