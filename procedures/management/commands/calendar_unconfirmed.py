"""calendar_unconfirmed: list open dossiers whose due date falls in a year without a confirmed calendar."""

from django.core.management.base import BaseCommand
from django.utils import timezone

from procedures.calendar import dossiers_due_unconfirmed


class Command(BaseCommand):
    help = "List open dossiers due in a year whose working-day calendar no administrator has confirmed."

    def add_arguments(self, parser):
        parser.add_argument("--fail", action="store_true", help="Exit with status 1 when any dossier is listed.")

    def handle(self, *args, **options):
        count = 0
        for dossier in dossiers_due_unconfirmed().iterator():
            count += 1
            due = timezone.localtime(dossier.due_at).strftime("%Y-%m-%d %H:%M")
            self.stdout.write(
                f"{dossier.code or dossier.reference}\t{dossier.agency.code}\t{dossier.state}\t{due}"
                f"\t{'flagged' if dossier.due_unconfirmed else 'not flagged yet'}"
            )
        self.stdout.write(f"{count} open dossier(s) due in an unconfirmed calendar year")
        if count and options["fail"]:
            raise SystemExit(1)
