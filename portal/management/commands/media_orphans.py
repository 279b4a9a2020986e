"""manage.py media_orphans: files without rows and rows without files in MEDIA_ROOT (security.md T36)."""

from django.core.management.base import BaseCommand, CommandError

from portal.media_orphans import media_file_discard, media_orphans_find


class Command(BaseCommand):
    help = "Report files in MEDIA_ROOT no row refers to, and rows whose file is missing; --delete removes the former."

    def add_arguments(self, parser):
        parser.add_argument("--delete", action="store_true", help="Remove the orphan files.")
        parser.add_argument(
            "--grace-minutes",
            type=float,
            default=60,
            help="Only files older than this count as orphans (uploads in flight are younger). Default 60.",
        )

    def handle(self, *args, **options):
        report = media_orphans_find(grace_seconds=options["grace_minutes"] * 60)
        for name in report.orphans:
            self.stdout.write(f"orphan file: {name}")
            if options["delete"]:
                media_file_discard(name)
        for name in report.missing:
            self.stdout.write(f"missing file: {name}")
        verb = "removed" if options["delete"] else "found"
        self.stdout.write(
            f"{report.files} file(s); {len(report.orphans)} orphan file(s) {verb}; "
            f"{len(report.missing)} missing file(s)."
        )
        if report.missing:
            raise CommandError(f"{len(report.missing)} row(s) refer to files that are not in MEDIA_ROOT.")
