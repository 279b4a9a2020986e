from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from procedures.catalogue_io import catalogue_import

SHIPPED = Path(__file__).resolve().parents[2] / "data" / "moh-catalogue.json"


class Command(BaseCommand):
    help = "Import a catalogue file (JSON or XLSX); by default the shipped MoH catalogue. All-or-nothing."

    def add_arguments(self, parser):
        parser.add_argument("path", nargs="?", default=str(SHIPPED), help="File to import (.json or .xlsx).")
        parser.add_argument("--publish", action="store_true", help="Publish every imported procedure.")

    def handle(self, *args, **options):
        path = Path(options["path"])
        report = catalogue_import(content=path.read_bytes(), filename=path.name, publish=options["publish"])
        if not report.ok:
            for error in report.errors:
                self.stderr.write(str(error))
            raise CommandError(f"{len(report.errors)} problem(s); nothing was imported.")
        self.stdout.write(
            self.style.SUCCESS(f"{path.name}: {report.created} created, {report.updated} updated ({report.rows} rows).")
        )
