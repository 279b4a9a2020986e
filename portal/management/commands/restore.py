"""manage.py restore: restore a backup into a fresh database and an empty media folder, then verify it."""

from __future__ import annotations

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from portal.backup import backup_restore


class Command(BaseCommand):
    help = (
        "Restore a backup folder made by `manage.py backup` into a FRESH database and an empty media folder, "
        "then check that every table's row count and every file's SHA-256 match the backup's manifest."
    )

    def add_arguments(self, parser):
        parser.add_argument("folder", type=Path)
        parser.add_argument("--media-root", type=Path, required=True, help="Empty folder for the stored files.")
        parser.add_argument("--database-url", default="", help="postgres://user@host:port/newdb (PostgreSQL backups).")
        parser.add_argument("--create-database", action="store_true", help="CREATE DATABASE first (needs CREATEDB).")
        parser.add_argument("--sqlite-path", type=Path, default=None, help="New file (SQLite backups).")

    def handle(self, *args, folder, media_root, database_url, create_database, sqlite_path, **options):
        try:
            report = backup_restore(
                folder=folder,
                media_root=media_root,
                database_url=database_url,
                sqlite_path=sqlite_path,
                create=create_database,
            )
        except (ValueError, FileNotFoundError) as exc:
            raise CommandError(str(exc)) from exc
        if not report.ok:
            raise CommandError("restore does not match the backup:\n" + "\n".join(report.problems))
        self.stdout.write(f"restored and verified: {report.tables} tables, {report.rows} rows, {report.files} files")
