"""Synchronise the procedure catalogue with the national TTHC database (LayDanhSachTTHC / LayThuTuc)."""

from __future__ import annotations

from django.core.management.base import BaseCommand, CommandError

from portal.errors import ApplicationError
from procedures.catalogue_sync import national_catalogue_sync
from procedures.models_national import CatalogueSyncRun


class Command(BaseCommand):
    help = "Import new procedures and update the master data of known ones from the national TTHC database."

    def add_arguments(self, parser):
        parser.add_argument("--code", action="append", default=[], help="Only this procedure code (repeatable).")

    def handle(self, *args, code: list[str], **options):
        try:
            run = national_catalogue_sync(trigger=CatalogueSyncRun.Trigger.COMMAND, codes=code or None)
        except ApplicationError as exc:
            raise CommandError(exc.message) from None
        for item in run.items:
            line = f"{item['code']}: {item['outcome']}"
            if item["changed"] and item["outcome"] != "created":
                line += f" ({', '.join(item['changed'])})"
            if item["version"]:
                line += f" -> version {item['version']}"
            if item["reason"]:
                line += f" - {item['reason']}"
            self.stdout.write(line)
            for warning in item["warnings"]:
                self.stdout.write(f"  ! {warning}")
        summary = (
            f"listed {run.listed}, created {run.created}, updated {run.updated}, "
            f"unchanged {run.unchanged}, failed {run.failed}: {run.status}"
        )
        if run.status == CatalogueSyncRun.Status.FAILED:
            raise CommandError(f"{run.error} ({summary})")
        if run.status == CatalogueSyncRun.Status.PARTIAL:
            raise CommandError(summary)
        self.stdout.write(self.style.SUCCESS(summary))
