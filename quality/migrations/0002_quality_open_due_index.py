"""A partial index on the open, running dossiers' due dates, for the dashboard's overdue backlog.

The backlog counts dossiers in the clock states whose clock runs, by due date, across every agency;
procedures' own indexes lead with the agency. The index covers only open dossiers (a few percent of
the table) and lives with the dashboard that needs it (docs/decisions/0039).
"""

from django.db import migrations

OPEN_STATES = (
    "'awaiting_approval', 'awaiting_issue', 'awaiting_signature', 'in_consultation', 'in_processing', 'received'"
)


class Migration(migrations.Migration):
    dependencies = [
        ("quality", "0001_quality_initial"),
        ("procedures", "0007_dossier_document_source"),
    ]

    operations = [
        migrations.RunSQL(
            sql=(
                "CREATE INDEX IF NOT EXISTS quality_dossier_open_due ON procedures_dossier (due_at, agency_id) "
                f"WHERE NOT clock_paused AND state IN ({OPEN_STATES})"
            ),
            reverse_sql="DROP INDEX IF EXISTS quality_dossier_open_due",
        ),
    ]
