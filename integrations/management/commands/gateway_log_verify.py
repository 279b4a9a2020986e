from django.core.management.base import BaseCommand, CommandError

from integrations.gateway import message_log_verify


class Command(BaseCommand):
    help = "Verify the population gateway's message log hash chain; report the first broken link."

    def handle(self, *args, **options):
        report = message_log_verify()
        if not report.ok:
            where = f"entry {report.first_broken_id}" if report.first_broken_id else "chain head"
            raise CommandError(f"Message log broken after {report.checked} good entries: {where}: {report.problem}")
        self.stdout.write(self.style.SUCCESS(f"Message log intact: {report.checked} entries."))
