"""Counter intake and tracking-book export jobs (issue 7).

Imported at the bottom of procedures/models.py so Django registers these models in the app.

- CounterIntake: one intake at the counter, opened with a one-time token. It holds what the clerk
  confirmed about the person (server side, never trusted from the browser) and, once the dossier is
  created, points to it: a second submission with the same token finds it and creates nothing.
- ExportJob: a tracking book (BM.06) produced in the background, with its progress and its file.
"""

from __future__ import annotations

import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.crypto import EncryptedTextField

__all__ = ["CounterIntake", "ExportJob"]


def _token() -> str:
    return secrets.token_urlsafe(24)


class CounterIntake(models.Model):
    """A dossier being received at the counter: the one-time token, the person as confirmed, the result."""

    class Source(models.TextChoices):
        TYPED = "typed", _("Typed personal ID number")
        QR = "qr", _("QR code of the chip-based ID card")

    token = models.CharField(max_length=43, unique=True, default=_token, editable=False)
    agency = models.ForeignKey("procedures.Agency", on_delete=models.PROTECT, related_name="+")
    clerk = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("started at"), default=timezone.now)
    procedure = models.ForeignKey(
        "procedures.Procedure", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    source = models.CharField(_("identified by"), max_length=8, choices=Source.choices, blank=True)
    personal_id = EncryptedTextField(_("personal ID number"), blank=True)
    full_name = models.CharField(_("full name"), max_length=200, blank=True)
    # YYYY-MM-DD, or YYYY-MM / YYYY when the population database knows no more; kept for re-verification.
    birth_date = EncryptedTextField(_("date of birth"), blank=True)
    sex = models.CharField(_("sex"), max_length=8, blank=True)
    residence = EncryptedTextField(_("permanent residence"), blank=True)
    identity_status = models.CharField(_("identity check"), max_length=12, blank=True)
    identity_note = models.CharField(_("identity check note"), max_length=300, blank=True)
    identity_request_id = models.CharField(_("gateway request id"), max_length=64, blank=True)
    identity_checked_at = models.DateTimeField(_("identity checked at"), null=True, blank=True)
    reverify_attempts = models.PositiveIntegerField(_("re-verification attempts"), default=0)
    dossier = models.OneToOneField(
        "procedures.Dossier", null=True, blank=True, on_delete=models.PROTECT, related_name="counter_intake"
    )

    class Meta:
        verbose_name = _("counter intake")
        verbose_name_plural = _("counter intakes")
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.agency_id}/{self.token[:8]}"

    @property
    def identified(self) -> bool:
        return bool(self.identity_status)


def export_upload_to(instance: ExportJob, filename: str) -> str:
    return f"exports/{instance.agency_id}/{instance.pk}-{filename}"


class ExportJob(models.Model):
    """A tracking book (Sổ theo dõi hồ sơ) built by a worker: XLSX for a period, or PDF per sector and month."""

    class Kind(models.TextChoices):
        XLSX = "xlsx", _("Spreadsheet (XLSX) for a period")
        PDF = "pdf", _("PDF for one sector and month")

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    agency = models.ForeignKey("procedures.Agency", on_delete=models.PROTECT, related_name="+")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(_("format"), max_length=8, choices=Kind.choices)
    date_from = models.DateField(_("from"))
    date_to = models.DateField(_("to"))
    sector = models.CharField(_("sector"), max_length=200, blank=True)
    # The language the book is written in: the requester's (Vietnamese unless they chose English).
    language = models.CharField(_("language"), max_length=8, default="vi")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    total = models.PositiveIntegerField(_("dossiers"), default=0)
    done = models.PositiveIntegerField(_("dossiers written"), default=0)
    file = models.FileField(upload_to=export_upload_to, max_length=300, blank=True)
    error = models.TextField(_("error"), blank=True)
    created_at = models.DateTimeField(_("requested at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)

    class Meta:
        verbose_name = _("tracking book export")
        verbose_name_plural = _("tracking book exports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["agency", "-created_at"], name="export_job_agency_recent")]

    def __str__(self) -> str:
        return f"{self.kind} {self.date_from}–{self.date_to} ({self.status})"

    @property
    def percent(self) -> int:
        if self.status == self.Status.DONE:
            return 100
        return int(100 * self.done / self.total) if self.total else 0
