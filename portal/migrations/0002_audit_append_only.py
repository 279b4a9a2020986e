"""Create the chain head and make the audit trail append-only in the database.

PostgreSQL refuses UPDATE and DELETE of any row. TRUNCATE stays possible for the table owner, so that
test databases can be flushed; in production the application role should be granted only SELECT and
INSERT on this table by a separate migration role (docs/decisions/0005). SQLite, the development
default, refuses UPDATE only, since Django flushes SQLite test databases with DELETE.
"""

from django.db import migrations

GENESIS = "0" * 64

PG_FORWARD = """
CREATE OR REPLACE FUNCTION portal_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit trail is append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER portal_auditrecord_append_only
    BEFORE UPDATE OR DELETE ON portal_auditrecord
    FOR EACH ROW EXECUTE FUNCTION portal_audit_append_only();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS portal_auditrecord_append_only ON portal_auditrecord;
DROP FUNCTION IF EXISTS portal_audit_append_only();
"""
SQLITE_FORWARD = [
    "CREATE TRIGGER portal_auditrecord_no_update BEFORE UPDATE ON portal_auditrecord "
    "BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;",
]
SQLITE_BACKWARD = [
    "DROP TRIGGER IF EXISTS portal_auditrecord_no_update;",
]


def create_head(apps, schema_editor):
    head_model = apps.get_model("portal", "AuditChainHead")
    head_model.objects.get_or_create(pk=1, defaults={"last_hash": GENESIS})


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif vendor == "sqlite":
        for sql in SQLITE_FORWARD:
            schema_editor.execute(sql)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)
    elif vendor == "sqlite":
        for sql in SQLITE_BACKWARD:
            schema_editor.execute(sql)


class Migration(migrations.Migration):
    dependencies = [("portal", "0001_initial")]
    operations = [
        migrations.RunPython(create_head, migrations.RunPython.noop),
        migrations.RunPython(forward, backward),
    ]
