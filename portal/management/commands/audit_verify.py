from django.core.management.base import BaseCommand, CommandError

from portal.audit import audit_chain_verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; report the first broken link."

    def handle(self, *args, **options):
        report = audit_chain_verify()
        if not report.ok:
            raise CommandError(
                f"Audit chain broken after {report.checked} good record(s): "
                f"record {report.first_broken_id}: {report.problem}"
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} record(s)."))
