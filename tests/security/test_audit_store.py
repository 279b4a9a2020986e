"""T27 TRUNCATE of the audit tables refused; T28 the daily chain-head export catches a recomputed chain.

Decision 0057. The TRUNCATE guard lets the test runner's flush through in databases named test_*, so the
refusal is proved in a private database with another name (PostgreSQL, created and dropped here).
"""

from __future__ import annotations

import importlib
import io
import json
import os
import secrets
from contextlib import contextmanager

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection, transaction

from portal.audit import _fields, audit_chain_verify, audit_record
from portal.audit_export import audit_head_export, audit_head_export_task, audit_heads_path, audit_heads_verify
from portal.hashchain import chain_digest
from portal.models import AuditChainHead, AuditRecord
from tests.portal.test_deploy_check import check_deploy, production_env

pytestmark = pytest.mark.django_db

AUDIT_TABLES = ("portal_auditrecord", "procedures_dossierevent")
GUARD = importlib.import_module("portal.migrations.0003_audit_no_truncate")


def on_postgresql() -> bool:
    if os.environ.get("CI") == "true":
        assert connection.vendor == "postgresql", "CI runs the suite on PostgreSQL"
    return connection.vendor == "postgresql"


@contextmanager
def private_database():
    """A database named portal_sec_truncate_* (not test_*), created by the application role, then dropped."""
    import psycopg

    config = connection.settings_dict
    params = {
        "host": config["HOST"] or "127.0.0.1",
        "port": config["PORT"] or 5432,
        "user": config["USER"],
        "password": config["PASSWORD"] or None,
    }
    name = f"portal_sec_truncate_{os.getpid()}_{secrets.token_hex(3)}"
    with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        with psycopg.connect(dbname=name, autocommit=True, **params) as conn:
            yield conn
    finally:
        with psycopg.connect(dbname="postgres", autocommit=True, **params) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_the_application_role_cannot_truncate_the_audit_tables_outside_the_test_database():
    if not on_postgresql():
        return  # SQLite has no TRUNCATE (Django flushes SQLite with DELETE, refused by its UPDATE-only guard)
    import psycopg

    with private_database() as conn:
        role, superuser, database = conn.execute(
            "SELECT current_user, rolsuper, current_database() FROM pg_roles WHERE rolname = current_user"
        ).fetchone()
        assert superuser is False, role
        assert not database.startswith("test_")
        for table in AUDIT_TABLES:
            conn.execute(f"CREATE TABLE {table} (id bigint PRIMARY KEY)")
            conn.execute(f"INSERT INTO {table} VALUES (1), (2)")  # noqa: S608  (fixed table names)
        conn.execute(GUARD.PG_FORWARD)

        attempts = [f"TRUNCATE {table}" for table in AUDIT_TABLES]
        attempts += [f"TRUNCATE TABLE {table} RESTART IDENTITY CASCADE" for table in AUDIT_TABLES]
        attempts += [f"TRUNCATE {', '.join(AUDIT_TABLES)}"]
        for sql in attempts:
            with pytest.raises(psycopg.errors.InsufficientPrivilege, match="append-only: TRUNCATE refused"):
                conn.execute(sql)
        for table in AUDIT_TABLES:
            assert conn.execute(f"SELECT count(*) FROM {table}").fetchone() == (2,), table  # noqa: S608


def test_the_truncate_guard_is_on_both_audit_tables_of_the_migrated_database():
    if not on_postgresql():
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname, t.tgenabled FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE t.tgname LIKE '%%_no_truncate' ORDER BY c.relname"
        )
        assert cursor.fetchall() == [("portal_auditrecord", "O"), ("procedures_dossierevent", "O")]
        cursor.execute("SELECT current_database()")
        # Only this name lets the runner's flush through; portal.E057 keeps production away from it.
        assert cursor.fetchone()[0].startswith("test_")


def test_production_refuses_a_database_named_like_a_test_database(tmp_path):
    env = production_env(tmp_path, DATABASE_URL="postgres://portal@db.internal:5432/test_portal")

    result = check_deploy(env)

    assert result.returncode != 0
    assert "portal.E057" in result.stdout + result.stderr


# --- T28: the chain head exported daily ------------------------------------------------------------


@pytest.fixture
def export_dir(tmp_path, settings):
    settings.AUDIT_HEAD_EXPORT_DIR = tmp_path / "heads"
    return settings.AUDIT_HEAD_EXPORT_DIR


def append(count: int, action: str = "test.export") -> list[AuditRecord]:
    with transaction.atomic():
        return [audit_record(action=action, object_type="x", object_id=str(i)) for i in range(count)]


@contextmanager
def privileged_writer():
    """What the table's owner (or a superuser) can do: switch the append-only guard off. The test's
    transaction rolls it back."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending foreign-key checks before ALTER
            cursor.execute("ALTER TABLE portal_auditrecord DISABLE TRIGGER USER")
        else:
            cursor.execute("DROP TRIGGER IF EXISTS portal_auditrecord_no_update")
    yield


def rechain_from(first: AuditRecord) -> None:
    """Recompute every hash from FIRST on and move the head: the chain verifies again."""
    records = list(AuditRecord.objects.filter(id__gte=first.pk).order_by("id"))
    previous = AuditRecord.objects.filter(id__lt=first.pk).order_by("-id").values_list("hash", flat=True).first()
    for record in records:
        record.prev_hash = previous or "0" * 64
        record.hash = chain_digest(record.prev_hash, _fields(record))
        AuditRecord.objects.filter(pk=record.pk).update(prev_hash=record.prev_hash, hash=record.hash)
        previous = record.hash
    AuditChainHead.objects.filter(pk=1).update(last_hash=previous, count=AuditRecord.objects.count())


def test_the_daily_export_appends_the_chain_head_and_the_verifier_accepts_it(export_dir):
    first = append(3)
    audit_head_export()
    second = append(2)
    audit_head_export_task.delay()  # the beat task (eager in tests)

    lines = [json.loads(line) for line in audit_heads_path().read_text().splitlines()]
    assert [(line["last_id"], line["last_hash"]) for line in lines] == [
        (first[-1].pk, first[-1].hash),
        (second[-1].pk, second[-1].hash),
    ]
    assert lines[1]["count"] - lines[0]["count"] == 2
    assert lines[1]["count"] == AuditRecord.objects.count()
    assert audit_heads_path().stat().st_mode & 0o137 == 0  # at most rw-r----- (0640 before the umask)
    assert settings.CELERY_BEAT_SCHEDULE["audit-head-export"]["task"] == "portal.audit_export.audit_head_export_task"

    out = io.StringIO()
    call_command("audit_verify", "--exported-heads", stdout=out)
    assert "matches 2 exported head(s)" in out.getvalue()


def test_a_rewritten_and_rechained_record_is_caught_by_the_exported_head(export_dir):
    records = append(5)
    audit_head_export()
    with privileged_writer():
        AuditRecord.objects.filter(pk=records[1].pk).update(reason="rewritten")
        rechain_from(records[1])

    assert audit_chain_verify().ok  # the chain alone no longer shows it
    report = audit_heads_verify()
    assert not report.ok
    assert f"record {records[-1].pk} no longer has the hash exported" in report.problem
    with pytest.raises(CommandError, match="does not match its exported heads"):
        call_command("audit_verify", "--exported-heads")


def test_a_deleted_and_rechained_record_is_caught_by_the_exported_head(export_dir):
    records = append(4)
    audit_head_export()
    with privileged_writer():
        AuditRecord.objects.filter(pk=records[-1].pk).delete()  # the exported head itself
        AuditRecord.objects.filter(pk=records[1].pk).delete()
        rechain_from(records[2])

    assert audit_chain_verify().ok
    assert f"record {records[-1].pk} (head exported" in audit_heads_verify().problem


def test_an_unreadable_export_line_fails_the_check(export_dir):
    append(1)
    audit_head_export()
    with audit_heads_path().open("a") as heads:
        heads.write('{"last_id": "not a head"\n')

    assert "line 2" in audit_heads_verify().problem
    with pytest.raises(CommandError, match="No exported chain heads"):
        call_command("audit_verify", "--exported-heads", str(export_dir / "missing.jsonl"))
