"""Notification preferences and the log of every message sent about a dossier (issue 4).

Imported at the bottom of procedures/models.py so that the models belong to the procedures app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _


class NotificationPreference(models.Model):
    """How a user (applicant or member of staff) wants to be told about dossiers; without a row: Vietnamese."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notification_preference"
    )
    language = models.CharField(_("language"), max_length=8, choices=settings.LANGUAGES, default="vi")
    email_enabled = models.BooleanField(_("by email"), default=True)
    sms_enabled = models.BooleanField(_("by SMS"), default=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("notification preference")
        verbose_name_plural = _("notification preferences")

    def __str__(self) -> str:
        return f"{self.user} ({self.language})"


class NotificationLog(models.Model):
    """One message (one channel, one recipient); the unique key makes sending idempotent."""

    class Kind(models.TextChoices):
        STATE_CHANGE = "state_change", _("State change (to the applicant)")
        DUE_SOON = "due_soon", _("Deadline near (to staff)")
        OVERDUE = "overdue", _("Deadline passed (to staff)")

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        SMS = "sms", _("SMS")

    class Status(models.TextChoices):
        PENDING = "pending", _("To be sent")
        SENDING = "sending", _("Being sent")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")
        SKIPPED = "skipped", _("Not sent")

    key = models.CharField(max_length=200, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    dossier = models.ForeignKey(
        "procedures.Dossier", verbose_name=_("dossier"), on_delete=models.PROTECT, related_name="notifications"
    )
    event = models.ForeignKey(
        "procedures.DossierEvent",
        verbose_name=_("event"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="notifications",
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices)
    recipient_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    recipient = models.CharField(_("recipient"), max_length=200, help_text=_("Masked address or number."))
    language = models.CharField(_("language"), max_length=8)
    subject = models.CharField(_("subject"), max_length=300, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(_("error"), blank=True)
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    claimed_at = models.DateTimeField(null=True, blank=True, editable=False)
    data = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)

    class Meta:
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "channel"],
                condition=models.Q(kind="state_change"),
                name="uniq_notification_event_channel",
            )
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="notification_status_created")]

    def __str__(self) -> str:
        return f"{self.dossier} {self.kind} {self.channel} {self.status}"
