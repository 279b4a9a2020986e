"""calendar_seed YEAR [YEAR...]: the administrator's explicit step of seeding a year from the holidays package."""

from django.core.management.base import BaseCommand, CommandError

from portal.errors import ApplicationError
from procedures.calendar import calendar_seed_year


class Command(BaseCommand):
    help = (
        "Add the statutory days off of the given years from the holidays package (VN); keeps existing rows. "
        "The years stay unconfirmed until an administrator reviews and confirms them."
    )

    def add_arguments(self, parser):
        parser.add_argument("years", nargs="+", type=int)

    def handle(self, *args, **options):
        for year in options["years"]:
            try:
                added = calendar_seed_year(year=year)
            except ApplicationError as exc:
                raise CommandError(str(exc.message)) from exc
            self.stdout.write(f"{year}: {added} day(s) added; review and confirm the year in the admin")
