# Counter intake (one-time token, confirmed identity) and tracking-book export jobs (issue 7).

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import portal.crypto
import procedures.models_exports


class Migration(migrations.Migration):
    dependencies = [
        ("procedures", "0008_workspace_search"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CounterIntake",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "token",
                    models.CharField(
                        default=procedures.models_exports._token, editable=False, max_length=43, unique=True
                    ),
                ),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="started at")),
                (
                    "source",
                    models.CharField(
                        blank=True,
                        choices=[("typed", "Typed personal ID number"), ("qr", "QR code of the chip-based ID card")],
                        max_length=8,
                        verbose_name="identified by",
                    ),
                ),
                ("personal_id", portal.crypto.EncryptedTextField(blank=True, verbose_name="personal ID number")),
                ("full_name", models.CharField(blank=True, max_length=200, verbose_name="full name")),
                ("birth_date", portal.crypto.EncryptedTextField(blank=True, verbose_name="date of birth")),
                ("sex", models.CharField(blank=True, max_length=8, verbose_name="sex")),
                ("residence", portal.crypto.EncryptedTextField(blank=True, verbose_name="permanent residence")),
                ("identity_status", models.CharField(blank=True, max_length=12, verbose_name="identity check")),
                ("identity_note", models.CharField(blank=True, max_length=300, verbose_name="identity check note")),
                (
                    "identity_request_id",
                    models.CharField(blank=True, max_length=64, verbose_name="gateway request id"),
                ),
                (
                    "identity_checked_at",
                    models.DateTimeField(blank=True, null=True, verbose_name="identity checked at"),
                ),
                (
                    "reverify_attempts",
                    models.PositiveIntegerField(default=0, verbose_name="re-verification attempts"),
                ),
                (
                    "agency",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="procedures.agency"
                    ),
                ),
                (
                    "clerk",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
                (
                    "dossier",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="counter_intake",
                        to="procedures.dossier",
                    ),
                ),
                (
                    "procedure",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="procedures.procedure",
                    ),
                ),
            ],
            options={
                "verbose_name": "counter intake",
                "verbose_name_plural": "counter intakes",
                "default_permissions": (),
            },
        ),
        migrations.CreateModel(
            name="ExportJob",
            fields=[
                ("id", models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name="ID")),
                (
                    "kind",
                    models.CharField(
                        choices=[("xlsx", "Spreadsheet (XLSX) for a period"), ("pdf", "PDF for one sector and month")],
                        max_length=8,
                        verbose_name="format",
                    ),
                ),
                ("date_from", models.DateField(verbose_name="from")),
                ("date_to", models.DateField(verbose_name="to")),
                ("sector", models.CharField(blank=True, max_length=200, verbose_name="sector")),
                ("language", models.CharField(default="vi", max_length=8, verbose_name="language")),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Waiting"),
                            ("running", "Running"),
                            ("done", "Done"),
                            ("failed", "Failed"),
                        ],
                        default="pending",
                        max_length=10,
                        verbose_name="status",
                    ),
                ),
                ("total", models.PositiveIntegerField(default=0, verbose_name="dossiers")),
                ("done", models.PositiveIntegerField(default=0, verbose_name="dossiers written")),
                (
                    "file",
                    models.FileField(blank=True, max_length=300, upload_to=procedures.models_exports.export_upload_to),
                ),
                ("error", models.TextField(blank=True, verbose_name="error")),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now, verbose_name="requested at")),
                ("finished_at", models.DateTimeField(blank=True, null=True, verbose_name="finished at")),
                (
                    "agency",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="procedures.agency"
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to=settings.AUTH_USER_MODEL
                    ),
                ),
            ],
            options={
                "verbose_name": "tracking book export",
                "verbose_name_plural": "tracking book exports",
                "ordering": ["-created_at", "-id"],
                "indexes": [models.Index(fields=["agency", "-created_at"], name="export_job_agency_recent")],
            },
        ),
    ]
