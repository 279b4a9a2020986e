"""deadlines_recompute: recompute the due dates of all open dossiers from their ledgers (after a calendar change)."""

from django.core.management.base import BaseCommand
from django.db import transaction

from portal.audit import audit_record
from procedures.clock import clock_recompute_open


class Command(BaseCommand):
    help = "Recompute the due date of every open dossier from its clock ledger and the current calendar."

    def handle(self, *args, **options):
        result = clock_recompute_open()
        with transaction.atomic():
            audit_record(action="calendar.recompute", object_type="procedures.dossier", data=result)
        self.stdout.write(f"checked {result['checked']}, changed {result['changed']}")
