"""Personal data protection (Law 91/2025/QH15, domain.md §9): data-subject requests, retention, breaches."""

from __future__ import annotations

import secrets
from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.crypto import EncryptedTextField


def _reference(prefix: str) -> str:
    return f"{prefix}-{timezone.now():%Y%m%d}-{secrets.token_hex(4).upper()}"


def request_deadline(received_at):
    """When a data-subject request must be answered: PRIVACY_REQUEST_DEADLINE_HOURS after it arrived."""
    return received_at + timedelta(hours=settings.PRIVACY_REQUEST_DEADLINE_HOURS)


class PrivacyRequest(models.Model):
    """A data subject's request (Law 91/2025 Art. 4(1)): tracked from arrival to answer against its deadline."""

    class Kind(models.TextChoices):
        ACCESS = "access", _("See and export my data")
        CORRECTION = "correction", _("Correct my data")
        CONSENT_WITHDRAWAL = "consent_withdrawal", _("Withdraw a consent")
        DELETION = "deletion", _("Delete my data")
        RESTRICTION = "restriction", _("Restrict the processing of my data")
        OBJECTION = "objection", _("Object to the processing of my data")

    class Status(models.TextChoices):
        OPEN = "open", _("Received")
        IN_PROGRESS = "in_progress", _("Being handled")
        ANSWERED = "answered", _("Answered")
        REFUSED = "refused", _("Refused, with reasons")

    CLOSED = frozenset({Status.ANSWERED, Status.REFUSED})

    reference = models.CharField(_("reference"), max_length=40, unique=True, editable=False)
    subject = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("data subject"),
        on_delete=models.PROTECT,
        related_name="privacy_requests",
    )
    kind = models.CharField(_("request"), max_length=24, choices=Kind.choices)
    details = EncryptedTextField(_("details"), blank=True, default="")
    consent = models.ForeignKey(
        "citizens.Consent", verbose_name=_("consent"), null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.OPEN)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    due_at = models.DateTimeField(_("answer due by"))
    deadline_hours = models.PositiveIntegerField(_("time limit (hours)"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("answered by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    answer = EncryptedTextField(_("answer to the data subject"), blank=True, default="")

    class Meta:
        verbose_name = _("data-subject request")
        verbose_name_plural = _("data-subject requests")
        ordering = ["-received_at"]
        indexes = [models.Index(fields=["status", "due_at"])]

    def __str__(self) -> str:
        return self.reference

    def save(self, *args, **kwargs):
        if not self.reference:
            self.reference = _reference("YC")
        if not self.due_at:
            self.deadline_hours = settings.PRIVACY_REQUEST_DEADLINE_HOURS
            self.due_at = request_deadline(self.received_at)
        super().save(*args, **kwargs)

    @property
    def is_closed(self) -> bool:
        return self.status in self.CLOSED

    @property
    def is_overdue(self) -> bool:
        end = self.answered_at if self.is_closed and self.answered_at else timezone.now()
        return end > self.due_at


class RetentionPolicy(models.Model):
    """How long one class of stored files is kept after its dossier is finished, and what happens then."""

    class DocumentClass(models.TextChoices):
        DOSSIER_DOCUMENT = "dossier_document", _("Documents submitted with a dossier")
        OFFICIAL_DOCUMENT = "official_document", _("Official slips of a dossier (receipt, requests, notices)")
        DOSSIER_RESULT = "dossier_result", _("Signed result of a dossier")

    class Action(models.TextChoices):
        ARCHIVE = "archive", _("Move to the archive store")
        DELETE = "delete", _("Delete the file")

    document_class = models.CharField(_("document class"), max_length=30, choices=DocumentClass.choices, unique=True)
    retention_months = models.PositiveIntegerField(
        _("retention (months)"), help_text=_("Counted from the day the dossier was finished.")
    )
    action = models.CharField(_("at the end of retention"), max_length=10, choices=Action.choices)
    legal_basis = models.CharField(
        _("legal basis"),
        max_length=300,
        help_text=_("The archive rule that sets this period (e.g. the agency's retention schedule)."),
    )
    active = models.BooleanField(_("active"), default=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("retention period")
        verbose_name_plural = _("retention periods")
        ordering = ["document_class"]

    def __str__(self) -> str:
        return f"{self.get_document_class_display()}: {self.retention_months}"


class RetentionAction(models.Model):
    """One file archived or deleted by the retention job (also in the audit trail)."""

    policy = models.ForeignKey(RetentionPolicy, verbose_name=_("retention period"), on_delete=models.PROTECT)
    document_class = models.CharField(_("document class"), max_length=30)
    object_id = models.CharField(_("object id"), max_length=40)
    dossier_id = models.BigIntegerField(_("dossier id"))
    action = models.CharField(_("action"), max_length=10, choices=RetentionPolicy.Action.choices)
    stored_name = models.CharField(_("stored file"), max_length=300)
    sha256 = models.CharField(max_length=64)
    archived_to = models.CharField(_("archived to"), max_length=500, blank=True)
    at = models.DateTimeField(_("at"), default=timezone.now)

    class Meta:
        verbose_name = _("retention action")
        verbose_name_plural = _("retention actions")
        ordering = ["-at"]
        constraints = [models.UniqueConstraint(fields=["document_class", "object_id"], name="uniq_retention_object")]

    def __str__(self) -> str:
        return f"{self.action} {self.document_class}:{self.object_id}"


def breach_notify_deadline(detected_at):
    return detected_at + timedelta(hours=settings.PRIVACY_BREACH_NOTIFY_HOURS)


class BreachRecord(models.Model):
    """A personal-data breach: what, how many people, and when the authority (A05) was told."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open")
        CLOSED = "closed", _("Closed")

    reference = models.CharField(_("reference"), max_length=40, unique=True, editable=False)
    detected_at = models.DateTimeField(_("detected at"))
    occurred_from = models.DateTimeField(_("occurred from"), null=True, blank=True)
    occurred_to = models.DateTimeField(_("occurred until"), null=True, blank=True)
    description = models.TextField(_("what happened"))
    data_categories = models.TextField(_("personal data concerned"))
    sensitive_data = models.BooleanField(_("includes sensitive data (e.g. health)"), default=False)
    subjects_affected = models.PositiveIntegerField(_("number of data subjects affected"))
    measures = models.TextField(_("measures taken"), blank=True)
    notify_due_at = models.DateTimeField(_("authority to be notified by"), editable=False)
    authority_notified_at = models.DateTimeField(_("authority notified at"), null=True, blank=True)
    authority_reference = models.CharField(_("notification reference"), max_length=100, blank=True)
    late_reason = models.TextField(
        _("reason for late notification"), blank=True, help_text=_("Required when the authority was notified late.")
    )
    subjects_notified_at = models.DateTimeField(_("data subjects notified at"), null=True, blank=True)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.OPEN)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("recorded by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    recorded_at = models.DateTimeField(_("recorded at"), default=timezone.now)

    class Meta:
        verbose_name = _("personal-data breach")
        verbose_name_plural = _("breach register")
        ordering = ["-detected_at"]

    def __str__(self) -> str:
        return self.reference

    def save(self, *args, **kwargs):
        if not self.reference:
            self.reference = _reference("VP")
        self.notify_due_at = breach_notify_deadline(self.detected_at)
        super().save(*args, **kwargs)

    def clean(self):
        from django.core.exceptions import ValidationError

        if self.detected_at:
            self.notify_due_at = breach_notify_deadline(self.detected_at)
        late = self.authority_notified_at and self.detected_at and self.authority_notified_at > self.notify_due_at
        if late and not self.late_reason.strip():
            raise ValidationError(
                {"late_reason": _("The authority was notified after the time limit: give the reason.")}
            )
        if self.occurred_from and self.occurred_to and self.occurred_to < self.occurred_from:
            raise ValidationError({"occurred_to": _("The end is before the start.")})

    @property
    def notified_late(self) -> bool:
        end = self.authority_notified_at or timezone.now()
        return end > self.notify_due_at
