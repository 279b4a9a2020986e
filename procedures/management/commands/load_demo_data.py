from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from procedures.demo import demo_data_load


class Command(BaseCommand):
    help = "Load the demo agency, procedure, calendar and staff accounts (idempotent; DEBUG only)."

    def add_arguments(self, parser):
        parser.add_argument("--allow-production", action="store_true", help="Load even when DEBUG is off.")

    def handle(self, *args, **options):
        if not settings.DEBUG and not options["allow_production"]:
            raise CommandError("Refusing to create demo accounts with DEBUG off (use --allow-production).")
        result = demo_data_load()
        self.stdout.write(self.style.SUCCESS(f"Demo data ready: {result}"))
