"""Fill the normalised search column and, on PostgreSQL, index it with pg_trgm (GIN).

pg_trgm is a trusted extension (PostgreSQL 13+), so the database owner can create it without
superuser rights. On SQLite nothing is indexed beyond the column itself.
"""

from django.db import migrations

INDEX = "procedures_procedure_search_trgm"


def _normalise(text):
    from procedures.text import search_normalise

    return search_normalise(text)


def fill_search_text(apps, schema_editor):
    Procedure = apps.get_model("procedures", "Procedure")
    for p in Procedure.objects.select_related("agency"):
        parts = [p.code, p.name, p.name_en, p.sector, p.sector_en]
        if p.agency_id:
            parts += [p.agency.name, p.agency.name_en]
        p.search_text = _normalise(" ".join(x for x in parts if x))
        p.save(update_fields=["search_text"])


def create_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON procedures_procedure USING gin (search_text gin_trgm_ops)"
    )


def drop_trigram_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("procedures", "0002_catalogue")]

    operations = [
        migrations.RunPython(fill_search_text, migrations.RunPython.noop),
        migrations.RunPython(create_trigram_index, drop_trigram_index),
    ]
