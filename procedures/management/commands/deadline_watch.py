"""deadline_watch: run the deadline watch once (Celery beat runs it periodically)."""

from django.core.management.base import BaseCommand

from procedures.watch import deadline_watch


class Command(BaseCommand):
    help = "Flag open dossiers due soon and overdue and notify their officers and leaders (idempotent)."

    def handle(self, *args, **options):
        counts = deadline_watch()
        self.stdout.write(", ".join(f"{k} {v}" for k, v in counts.items()))
