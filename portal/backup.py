"""Backup and restore of the database and the stored files (manage.py backup / restore; docs/operations.md).

A backup is a folder: `database.dump` (pg_dump custom format; SQLite: `database.sqlite3`), `media.tar` (MEDIA_ROOT)
and `manifest.json`: the row count of every table and the SHA-256 of every stored file, both taken from the
same moment as the dump (PostgreSQL: pg_dump runs on a snapshot exported by the transaction that counts).
A restore checks the archive checksums first, restores, then proves that the counts and file checksums match.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sqlite3
import subprocess  # nosec B404  # fixed argument lists to pg_dump/pg_restore, no shell
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone

FORMAT_VERSION = 1


def pg_bin(tool: str) -> str:
    """Path of a PostgreSQL client tool: PG_BIN, else the newest /usr/lib/postgresql/*/bin, else PATH."""
    folder = getattr(settings, "PG_BIN", "") or os.environ.get("PG_BIN", "")
    if not folder:
        candidates = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: int(p.parent.name))
        folder = str(candidates[-1]) if candidates else ""
    path = Path(folder) / tool if folder else None
    if path is not None and path.exists():
        return str(path)
    found = shutil.which(tool)
    if not found:
        raise FileNotFoundError(f"{tool} not found (set PG_BIN)")
    return found


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _table_counts(cursor, tables: list[str]) -> dict[str, int]:
    counts = {}
    for table in sorted(tables):
        # nosemgrep: sql-built-from-strings  table names from pg introspection, quoted
        cursor.execute(f"SELECT COUNT(*) FROM {_quote(table)}")  # noqa: S608  # nosec B608  # names from introspection
        counts[table] = cursor.fetchone()[0]
    return counts


@dataclass
class PgTarget:
    name: str
    user: str = ""
    password: str = ""
    host: str = ""
    port: str = ""

    @classmethod
    def from_settings(cls, db: dict[str, Any]) -> PgTarget:
        return cls(
            name=db["NAME"],
            user=db.get("USER") or "",
            password=db.get("PASSWORD") or "",
            host=db.get("HOST") or "",
            port=str(db.get("PORT") or ""),
        )

    @classmethod
    def from_url(cls, url: str) -> PgTarget:
        parts = urlsplit(url)
        return cls(
            name=unquote(parts.path.lstrip("/")),
            user=unquote(parts.username or ""),
            password=unquote(parts.password or ""),
            host=parts.hostname or "",
            port=str(parts.port or ""),
        )

    def args(self) -> list[str]:
        out = []
        if self.host:
            out += ["-h", self.host]
        if self.port:
            out += ["-p", self.port]
        if self.user:
            out += ["-U", self.user]
        return out

    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k in ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR")}
        if self.password:
            env["PGPASSWORD"] = self.password
        return env

    def connect(self, dbname: str | None = None):
        import psycopg

        return psycopg.connect(
            dbname=dbname or self.name,
            user=self.user or None,
            password=self.password or None,
            host=self.host or None,
            port=self.port or None,
            autocommit=True,
        )


@dataclass
class Report:
    ok: bool = True
    problems: list[str] = field(default_factory=list)
    tables: int = 0
    rows: int = 0
    files: int = 0

    def fail(self, message: str) -> None:
        self.ok = False
        self.problems.append(message)


# --- backup ----------------------------------------------------------------------------------------------


def _media_archive(target: Path) -> dict[str, dict[str, Any]]:
    """Tar MEDIA_ROOT into target, hashing each file as it is read; return {relative path: {sha256, size}}."""
    media_root = Path(settings.MEDIA_ROOT)
    files: dict[str, dict[str, Any]] = {}
    with tarfile.open(target, "w") as archive:
        if media_root.exists():
            for path in sorted(p for p in media_root.rglob("*") if p.is_file() and not p.is_symlink()):
                relative = path.relative_to(media_root).as_posix()
                files[relative] = {"sha256": sha256_file(path), "size": path.stat().st_size}
                archive.add(path, arcname=relative, recursive=False)
    return files


def backup_create(*, output_dir: Path | None = None) -> Path:
    """Write one backup folder and return its path."""
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    folder = Path(output_dir or settings.BACKUP_DIR) / f"portal-{stamp}"
    folder.mkdir(parents=True, exist_ok=False)
    os.chmod(folder, 0o700)
    manifest: dict[str, Any] = {
        "format": FORMAT_VERSION,
        "created_at": timezone.now().isoformat(),
        "vendor": connection.vendor,
    }
    if connection.vendor == "postgresql":
        dump = folder / "database.dump"
        target = PgTarget.from_settings(connection.settings_dict)
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = cursor.fetchone()[0]
            tables = connection.introspection.table_names(cursor)
            manifest["tables"] = _table_counts(cursor, tables)
            subprocess.run(  # noqa: S603  # nosec B603  # fixed argument list
                [
                    pg_bin("pg_dump"),
                    "-Fc",
                    "--no-owner",
                    "--no-privileges",
                    f"--snapshot={snapshot}",
                    "-f",
                    str(dump),
                    *target.args(),
                    target.name,
                ],
                env=target.env(),
                check=True,
                capture_output=True,
                timeout=3600,
            )
            manifest["files_snapshot"] = "taken after the database snapshot"
            manifest["media"] = _media_archive(folder / "media.tar")
        manifest["database_file"] = dump.name
    elif connection.vendor == "sqlite":
        copy = folder / "database.sqlite3"
        connection.ensure_connection()
        with sqlite3.connect(copy) as destination:
            connection.connection.backup(destination)  # the online backup API: a consistent copy
        with sqlite3.connect(copy) as check:
            tables = [r[0] for r in check.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            manifest["tables"] = _table_counts(check.cursor(), [t for t in tables if not t.startswith("sqlite_")])
        manifest["media"] = _media_archive(folder / "media.tar")
        manifest["database_file"] = copy.name
    else:
        raise NotImplementedError(connection.vendor)
    manifest["checksums"] = {name: sha256_file(folder / name) for name in (manifest["database_file"], "media.tar")}
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2, sort_keys=True), encoding="utf-8")
    for path in folder.iterdir():
        os.chmod(path, 0o600)
    return folder


# --- restore ---------------------------------------------------------------------------------------------


def manifest_read(folder: Path) -> dict[str, Any]:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    if manifest.get("format") != FORMAT_VERSION:
        raise ValueError(f"unknown backup format {manifest.get('format')!r}")
    for name, digest in manifest["checksums"].items():
        if sha256_file(folder / name) != digest:
            raise ValueError(f"{name} does not match its checksum in the manifest")
    return manifest


def _extract_media(folder: Path, media_root: Path) -> None:
    media_root.mkdir(parents=True, exist_ok=True)
    with tarfile.open(folder / "media.tar") as archive:
        archive.extractall(media_root, filter="data")  # refuses absolute paths, .. and links outside


def restore_postgres(folder: Path, manifest: dict[str, Any], *, database_url: str, create: bool) -> PgTarget:
    target = PgTarget.from_url(database_url)
    if create:
        with target.connect("postgres") as admin:
            # nosemgrep: sql-built-from-strings  operator's database name, quoted (CREATE DATABASE: no params)
            admin.execute(f"CREATE DATABASE {_quote(target.name)}")
    with target.connect() as conn:
        existing = conn.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchone()[0]
    if existing:
        raise ValueError(f"database {target.name} is not empty: restore only into a fresh database")
    subprocess.run(  # noqa: S603  # nosec B603  # fixed argument list
        [
            pg_bin("pg_restore"),
            "--no-owner",
            "--no-privileges",
            "--exit-on-error",
            "-d",
            target.name,
            *target.args(),
            str(folder / manifest["database_file"]),
        ],
        env=target.env(),
        check=True,
        capture_output=True,
        timeout=3600,
    )
    return target


def restore_verify(manifest: dict[str, Any], *, counts: dict[str, int], media_root: Path) -> Report:
    report = Report()
    for table, expected in manifest["tables"].items():
        got = counts.get(table)
        if got != expected:
            report.fail(f"table {table}: {got} rows, backup had {expected}")
        report.tables += 1
        report.rows += expected
    for relative, info in manifest["media"].items():
        path = media_root / relative
        if not path.is_file():
            report.fail(f"file {relative} missing")
        elif sha256_file(path) != info["sha256"]:
            report.fail(f"file {relative} checksum differs")
        report.files += 1
    return report


def backup_restore(
    *, folder: Path, media_root: Path, database_url: str = "", sqlite_path: Path | None = None, create: bool = False
) -> Report:
    """Restore into a FRESH database and an empty media folder, then verify counts and file checksums."""
    manifest = manifest_read(folder)
    if media_root.exists() and any(media_root.iterdir()):
        raise ValueError(f"{media_root} is not empty: restore files only into an empty folder")
    if manifest["vendor"] == "postgresql":
        if not database_url:
            raise ValueError("--database-url is needed to restore a PostgreSQL backup")
        target = restore_postgres(folder, manifest, database_url=database_url, create=create)
        with target.connect() as conn, conn.cursor() as cursor:
            counts = _table_counts(cursor, list(manifest["tables"]))
    else:
        if sqlite_path is None:
            raise ValueError("--sqlite-path is needed to restore a SQLite backup")
        if sqlite_path.exists():
            raise ValueError(f"{sqlite_path} exists: restore only into a fresh file")
        shutil.copyfile(folder / manifest["database_file"], sqlite_path)
        with sqlite3.connect(sqlite_path) as check:
            counts = _table_counts(check.cursor(), list(manifest["tables"]))
    _extract_media(folder, media_root)
    return restore_verify(manifest, counts=counts, media_root=media_root)
