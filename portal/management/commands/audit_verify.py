from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.audit import audit_chain_verify
from portal.audit_export import audit_heads_path, audit_heads_verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain; report the first broken link."

    def add_arguments(self, parser):
        parser.add_argument(
            "--exported-heads",
            nargs="?",
            const="",
            default=None,
            metavar="FILE",
            help="Also check the records against the chain heads exported daily (default: "
            "AUDIT_HEAD_EXPORT_DIR/audit-heads.jsonl); security.md T28.",
        )

    def handle(self, *args, **options):
        report = audit_chain_verify()
        if not report.ok:
            raise CommandError(
                f"Audit chain broken after {report.checked} good record(s): "
                f"record {report.first_broken_id}: {report.problem}"
            )
        self.stdout.write(self.style.SUCCESS(f"Audit chain intact: {report.checked} record(s)."))
        if options["exported_heads"] is None:
            return
        path = Path(options["exported_heads"]) if options["exported_heads"] else audit_heads_path()
        if not path.is_file():
            raise CommandError(f"No exported chain heads at {path}.")
        heads = audit_heads_verify(path)
        if not heads.ok:
            raise CommandError(f"Audit chain does not match its exported heads after {heads.checked}: {heads.problem}")
        self.stdout.write(self.style.SUCCESS(f"Audit chain matches {heads.checked} exported head(s) in {path}."))
