"""Rule versions in force (legacy Decree 61/2018 and current Decree 118/2025) and append-only dossier events.

Form numbers come from domain.md §1.7: Circular 01/2018 Mẫu 01-06 (legacy) and Circular 03/2025
Annex I Mẫu 01-07 (current; numbers of 04 and 05 are reported, not verified, hence settings). Suffixes are
the ones the MoH's BM forms print (Decision 3621/QĐ-BYT); the receipt suffix of the legacy set is from memory;
the stop notice's suffix is unknown and left empty (administrators set it when the annex is obtained).
PostgreSQL refuses UPDATE and DELETE of dossier events (TRUNCATE stays possible so test databases
can be flushed); SQLite refuses UPDATE only, as for the audit trail (portal/0002).
"""

from django.db import migrations

from procedures.rules import DEFAULT_RULES as RULES

PG_FORWARD = """
CREATE OR REPLACE FUNCTION procedures_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'dossier events are append-only: % refused on %', TG_OP, TG_TABLE_NAME
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER procedures_dossierevent_append_only
    BEFORE UPDATE OR DELETE ON procedures_dossierevent
    FOR EACH ROW EXECUTE FUNCTION procedures_event_append_only();
"""
PG_BACKWARD = """
DROP TRIGGER IF EXISTS procedures_dossierevent_append_only ON procedures_dossierevent;
DROP FUNCTION IF EXISTS procedures_event_append_only();
"""
SQLITE_FORWARD = (
    "CREATE TRIGGER procedures_dossierevent_no_update BEFORE UPDATE ON procedures_dossierevent "
    "BEGIN SELECT RAISE(ABORT, 'dossier events are append-only'); END;"
)
SQLITE_BACKWARD = "DROP TRIGGER IF EXISTS procedures_dossierevent_no_update;"


def seed_rules(apps, schema_editor):
    rule_model = apps.get_model("procedures", "RuleVersion")
    for rule in RULES:
        rule_model.objects.update_or_create(code=rule["code"], defaults={k: v for k, v in rule.items() if k != "code"})


def forward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_FORWARD, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_FORWARD)


def backward(apps, schema_editor):
    vendor = schema_editor.connection.vendor
    if vendor == "postgresql":
        schema_editor.execute(PG_BACKWARD, params=None)
    elif vendor == "sqlite":
        schema_editor.execute(SQLITE_BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("procedures", "0004_lifecycle")]
    operations = [
        migrations.RunPython(seed_rules, migrations.RunPython.noop),
        migrations.RunPython(forward, backward),
    ]
