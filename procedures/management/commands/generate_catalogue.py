from django.core.management.base import BaseCommand

from procedures.generator import catalogue_generate


class Command(BaseCommand):
    help = "Create a realistic, illustrative catalogue of COUNT procedures for load tests (codes LT.nnnnnn)."

    def add_arguments(self, parser):
        parser.add_argument("--count", type=int, default=2000)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, **options):
        created = catalogue_generate(count=options["count"], seed=options["seed"])
        self.stdout.write(self.style.SUCCESS(f"Generated {created} illustrative procedures."))
