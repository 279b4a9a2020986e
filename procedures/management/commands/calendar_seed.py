from django.core.management.base import BaseCommand

from procedures.calendar import calendar_seed_year


class Command(BaseCommand):
    help = "Add the statutory public holidays of the given years to the calendar (keeps admins' edits)."

    def add_arguments(self, parser):
        parser.add_argument("years", nargs="+", type=int)

    def handle(self, *args, **options):
        for year in options["years"]:
            added = calendar_seed_year(year=year)
            self.stdout.write(f"{year}: {added} holiday(s) added")
