"""Workspace queues (issue 7): the normalised applicant name (filled here) and the queue indexes.

On PostgreSQL the name column also gets a trigram GIN index (pg_trgm is created by 0003), so a
substring search over a million dossiers does not scan them all.
"""

from django.conf import settings
from django.db import migrations, models


NAME_INDEX = "procedures_dossier_name_trgm"


def fill_applicant_name_search(apps, schema_editor):
    from procedures.text import search_normalise

    Dossier = apps.get_model("procedures", "Dossier")
    batch = []
    for dossier in Dossier.objects.only("pk", "applicant_name").iterator(chunk_size=2000):
        dossier.applicant_name_search = search_normalise(dossier.applicant_name)[:200]
        batch.append(dossier)
        if len(batch) >= 2000:
            Dossier.objects.bulk_update(batch, ["applicant_name_search"])
            batch = []
    if batch:
        Dossier.objects.bulk_update(batch, ["applicant_name_search"])


def create_name_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {NAME_INDEX} ON procedures_dossier USING gin (applicant_name_search gin_trgm_ops)"
    )


def drop_name_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"DROP INDEX IF EXISTS {NAME_INDEX}")


class Migration(migrations.Migration):
    dependencies = [
        ("procedures", "0007_dossier_document_source"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="dossier",
            name="applicant_name_search",
            field=models.CharField(blank=True, default="", editable=False, max_length=200),
        ),
        migrations.AddIndex(
            model_name="dossier",
            index=models.Index(fields=["received_by_agency", "state", "due_at", "id"], name="dossier_received_by_due"),
        ),
        migrations.AddIndex(
            model_name="dossier",
            index=models.Index(fields=["department", "state", "due_at", "id"], name="dossier_department_due"),
        ),
        migrations.AddIndex(
            model_name="dossier",
            index=models.Index(fields=["agency", "watch", "due_at", "id"], name="dossier_watch_due"),
        ),
        migrations.AddIndex(
            model_name="dossier",
            index=models.Index(fields=["agency", "due_at", "id"], name="dossier_agency_due"),
        ),
        migrations.AddIndex(
            model_name="dossier",
            index=models.Index(
                condition=models.Q(("due_at__isnull", True)), fields=["agency", "state", "id"], name="dossier_undated"
            ),
        ),
        migrations.RunPython(fill_applicant_name_search, migrations.RunPython.noop),
        migrations.RunPython(create_name_index, drop_name_index),
    ]
