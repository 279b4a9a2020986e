from django.core.management.base import BaseCommand

from places.services import admin_units_load


class Command(BaseCommand):
    help = "Load the administrative units (2025 reform and legacy) and the old->new mapping from places/data/."

    def handle(self, *args, **options):
        result = admin_units_load()
        self.stdout.write(self.style.SUCCESS(f"Administrative units loaded: {result}"))
