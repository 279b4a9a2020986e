"""Refuse TRUNCATE of the audit trail and the dossier events (security.md T27, decision 0057).

UPDATE and DELETE are refused row by row (portal 0002, procedures 0005); TRUNCATE fires no row trigger, so a
statement-level BEFORE TRUNCATE trigger refuses it. The test runner flushes its databases with TRUNCATE, so
the trigger lets it through in a database whose name starts with ``test_`` (Django's test database prefix)
and nowhere else; deploy check portal.E012 refuses a production database with such a name. SQLite has no
TRUNCATE. The production deployment also keeps the tables owned by a migration role and grants the
application role only SELECT and INSERT on them (docs/operations.md), which refuses TRUNCATE without a trigger.
"""

from django.db import migrations

PG_FORWARD = r"""
CREATE OR REPLACE FUNCTION portal_audit_no_truncate() RETURNS trigger AS $$
BEGIN
    IF current_database() LIKE 'test\_%' THEN
        RETURN NULL;  -- the test runner's flush (statement-level BEFORE trigger: the return value is ignored)
    END IF;
    RAISE EXCEPTION 'audit trail is append-only: TRUNCATE refused on %', TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER portal_auditrecord_no_truncate
    BEFORE TRUNCATE ON portal_auditrecord
    FOR EACH STATEMENT EXECUTE FUNCTION portal_audit_no_truncate();
CREATE TRIGGER procedures_dossierevent_no_truncate
    BEFORE TRUNCATE ON procedures_dossierevent
    FOR EACH STATEMENT EXECUTE FUNCTION portal_audit_no_truncate();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS procedures_dossierevent_no_truncate ON procedures_dossierevent;
DROP TRIGGER IF EXISTS portal_auditrecord_no_truncate ON portal_auditrecord;
DROP FUNCTION IF EXISTS portal_audit_no_truncate();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("portal", "0002_audit_append_only"), ("procedures", "0005_lifecycle_rules")]
    operations = [migrations.RunPython(forward, backward)]
