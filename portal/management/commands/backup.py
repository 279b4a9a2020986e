"""manage.py backup: the database (pg_dump custom format; SQLite: a copy) and MEDIA_ROOT, with a manifest."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand

from portal.backup import backup_create


class Command(BaseCommand):
    help = "Back up the database and the stored files into a new folder under BACKUP_DIR (or --output)."

    def add_arguments(self, parser):
        parser.add_argument(
            "--output", type=Path, default=None, help="Parent folder of the backup (default BACKUP_DIR)."
        )

    def handle(self, *args, output=None, **options):
        folder = backup_create(output_dir=output)
        self.stdout.write(str(folder))
