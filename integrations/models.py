"""The outbox: messages to other systems, written in the transaction of the change they report."""

from __future__ import annotations

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class OutboxMessage(models.Model):
    """One message to deliver; per key (e.g. a dossier code) messages go out in sequence order."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")  # waiting for its turn or for a retry time
        SENDING = "sending", _("Sending")  # claimed by a worker until lease_until
        DELIVERED = "delivered", _("Delivered")  # the receiver acknowledged it
        DEAD = "dead", _("Dead letter")  # permanent failure or retries exhausted; replay from admin

    topic = models.CharField(_("topic"), max_length=80, db_index=True)
    key = models.CharField(_("ordering key"), max_length=120)
    sequence = models.PositiveIntegerField(_("sequence"))
    idempotency_key = models.CharField(_("idempotency key"), max_length=200, unique=True)
    payload = models.JSONField(_("payload"))
    state = models.CharField(_("state"), max_length=12, choices=State.choices, default=State.PENDING)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt at"), default=timezone.now)
    lease_until = models.DateTimeField(_("lease until"), null=True, blank=True)
    last_error = models.TextField(_("last error"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    delivered_at = models.DateTimeField(_("delivered at"), null=True, blank=True)
    delivered_by = models.CharField(_("delivered by (host:pid)"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("outbox message")
        verbose_name_plural = _("outbox (delivery ledger)")
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["topic", "key", "sequence"], name="uniq_outbox_key_sequence")]
        indexes = [models.Index(fields=["state", "next_attempt_at"])]

    def __str__(self) -> str:
        return f"{self.topic} {self.key} #{self.sequence} ({self.state})"


class NationalPortalReconciliation(models.Model):
    """One comparison of our latest delivered state per dossier with DVCQG's (TraCuuHoSo), and its repairs."""

    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    period_start = models.DateTimeField(_("period start"))
    period_end = models.DateTimeField(_("period end"))
    checked = models.PositiveIntegerField(_("checked"), default=0)
    matching = models.PositiveIntegerField(_("matching"), default=0)
    repaired = models.PositiveIntegerField(_("re-sent"), default=0)
    missing = models.PositiveIntegerField(_("missing on the portal"), default=0)
    portal_ahead = models.PositiveIntegerField(_("portal ahead"), default=0)
    portal_behind = models.PositiveIntegerField(_("portal behind"), default=0)
    in_flight = models.PositiveIntegerField(_("still in delivery"), default=0)
    errors = models.PositiveIntegerField(_("look-up errors"), default=0)
    # [{"key", "kind", "ours": {...}, "portal": {...} | null, "repaired": bool, "error"?}]
    differences = models.JSONField(_("differing dossiers"), default=list, blank=True)

    class Meta:
        verbose_name = _("national portal reconciliation")
        verbose_name_plural = _("national portal reconciliations")
        ordering = ["-started_at"]

    def __str__(self) -> str:
        return f"{self.period_start:%Y-%m-%d %H:%M} – {self.period_end:%Y-%m-%d %H:%M}"


# Population gateway and reconciliation models (issue 5) live in their own module.
from integrations.gateway_models import *  # noqa: E402, F403
