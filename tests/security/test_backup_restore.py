"""Backup and restore (issue 11): a backup restored into a fresh database has the same rows and files."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection

from portal.backup import PgTarget, sha256_file
from procedures.models import Dossier, DossierDocument

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def fresh_target(tmp_path):
    """Where to restore: a private PostgreSQL database (dropped afterwards) or a new SQLite file."""
    if connection.vendor == "postgresql":
        source = PgTarget.from_settings(connection.settings_dict)
        name = f"portal_sec_restore_{secrets.token_hex(4)}"
        auth = source.user + (f":{source.password}" if source.password else "")
        url = f"postgres://{auth}@{source.host or '127.0.0.1'}:{source.port or 5432}/{name}"
        yield {"database_url": url, "create_database": True}
        with source.connect("postgres") as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    else:
        yield {"sqlite_path": tmp_path / "restored.sqlite3"}


def test_a_backup_restores_into_a_fresh_database_with_the_same_counts_and_files(
    submitted_dossier, received_dossier, tmp_path, fresh_target
):
    document = DossierDocument.objects.filter(dossier=submitted_dossier).first()
    assert document is not None and Path(document.file.path).is_file()

    call_command("backup", output=tmp_path / "backups")
    (folder,) = (tmp_path / "backups").iterdir()
    manifest = json.loads((folder / "manifest.json").read_text())
    assert manifest["tables"]["procedures_dossier"] == Dossier.objects.count() >= 1
    assert manifest["tables"]["portal_auditrecord"] >= 1
    assert manifest["media"][document.file.name]["sha256"] == sha256_file(Path(document.file.path))
    assert (folder / manifest["database_file"]).stat().st_size > 0

    # Changes after the backup are not in it.
    Dossier.objects.filter(pk=submitted_dossier.pk).update(applicant_name="changed after the backup")

    restored_media = tmp_path / "restored-media"
    out = _restore(folder, restored_media, fresh_target)
    assert "restored and verified" in out
    assert f"{len(manifest['tables'])} tables" in out
    assert (restored_media / document.file.name).read_bytes() == Path(document.file.path).read_bytes()
    if connection.vendor == "postgresql":
        with PgTarget.from_url(fresh_target["database_url"]).connect() as conn:
            name = conn.execute("SELECT applicant_name FROM procedures_dossier WHERE id = %s", [submitted_dossier.pk])
            assert name.fetchone()[0] == "Nguyễn Thị Hồng Nhung"
            appended = conn.execute("SELECT count(*) FROM portal_auditrecord").fetchone()[0]
            assert appended == manifest["tables"]["portal_auditrecord"]


def _restore(folder: Path, media_root: Path, target: dict) -> str:
    import io

    out = io.StringIO()
    call_command("restore", str(folder), media_root=media_root, stdout=out, **target)
    return out.getvalue()


def test_a_tampered_backup_is_refused_before_anything_is_restored(submitted_dossier, tmp_path, fresh_target):
    call_command("backup", output=tmp_path / "backups")
    (folder,) = (tmp_path / "backups").iterdir()
    with (folder / "media.tar").open("ab") as tar:
        tar.write(b"\0" * 512)

    with pytest.raises(CommandError, match=r"media\.tar does not match"):
        _restore(folder, tmp_path / "restored-media", fresh_target)
    assert not (tmp_path / "restored-media").exists()


def test_a_restore_refuses_a_media_folder_that_is_not_empty(submitted_dossier, tmp_path):
    call_command("backup", output=tmp_path / "backups")
    (folder,) = (tmp_path / "backups").iterdir()
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "keep.txt").write_text("x")
    with pytest.raises(CommandError, match="not empty"):
        _restore(folder, busy, {"sqlite_path": tmp_path / "x.sqlite3", "database_url": "postgres://x@127.0.0.1/x"})
    assert settings.MEDIA_ROOT  # the live media folder is never a restore target in this test
