"""Models of the population-database gateway (issue 5): calling systems, quotas, the message log,
and batch reconciliation jobs. Imported by integrations/models.py so Django registers them.
"""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.crypto import EncryptedTextField


def api_key_digest(secret: str) -> str:
    """Return the stored form of an API key secret (SHA-256: the key itself has 256 bits of entropy)."""
    return hashlib.sha256(secret.encode()).hexdigest()


class GatewayClient(models.Model):
    """A health system allowed to call the gateway: its credentials, scopes, quota and rate."""

    class Scope(models.TextChoices):
        LOOKUP = "lookup", _("Look up a citizen")
        VERIFY = "verify", _("Verify a record")
        BULK = "bulk", _("Verify in bulk")

    code = models.SlugField(_("system code"), max_length=60, unique=True)
    name = models.CharField(_("name"), max_length=200)
    is_active = models.BooleanField(_("active"), default=True)
    key_prefix = models.CharField(_("API key prefix"), max_length=16, unique=True, null=True, blank=True)
    key_digest = models.CharField(_("API key digest (SHA-256)"), max_length=64, blank=True)
    cert_fingerprint = models.CharField(
        _("client certificate fingerprint (SHA-256, hex)"), max_length=64, unique=True, null=True, blank=True
    )
    scopes = models.JSONField(_("scopes"), default=list, blank=True)
    daily_quota = models.PositiveIntegerField(_("records per day"), default=10_000)
    rate = models.CharField(_("rate limit"), max_length=20, default="120/min", help_text=_("e.g. 60/min, 10/s"))
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("gateway client system")
        verbose_name_plural = _("gateway client systems")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code

    def issue_key(self) -> str:
        """Replace the API key; return the new key (shown once, stored only as a digest)."""
        prefix = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        self.key_prefix = prefix
        self.key_digest = api_key_digest(secret)
        self.save(update_fields=["key_prefix", "key_digest"])
        return f"{prefix}.{secret}"

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])


class GatewayQuotaUsage(models.Model):
    """Records a client consumed on one day (Asia/Ho_Chi_Minh)."""

    client = models.ForeignKey(GatewayClient, on_delete=models.CASCADE, related_name="usage")
    day = models.DateField(_("day"))
    used = models.PositiveBigIntegerField(_("records used"), default=0)

    class Meta:
        verbose_name = _("gateway quota usage")
        verbose_name_plural = _("gateway quota usage")
        constraints = [models.UniqueConstraint(fields=["client", "day"], name="uniq_gateway_usage_day")]

    def __str__(self) -> str:
        return f"{self.client_id} {self.day}: {self.used}"


class GatewayLogHead(models.Model):
    """The last hash of the message log; its row is locked to serialise appends (pk=1)."""

    last_hash = models.CharField(max_length=64)
    count = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("gateway message log head")

    def __str__(self) -> str:
        return f"{self.count} entries, last {self.last_hash[:12]}"


class GatewayMessage(models.Model):
    """One call through the gateway (X-Road message log): append-only and hash-chained.

    No personal data: the data subject is a keyed hash, request and answer are SHA-256 digests.
    """

    class Outcome(models.TextChoices):
        FOUND = "found", _("Found")
        NOT_FOUND = "not_found", _("Not found")
        VERIFIED = "verified", _("Verified")
        MISMATCH = "mismatch", _("Mismatch")
        UNAVAILABLE = "unavailable", _("Unavailable")
        REFUSED = "refused", _("Refused by the registry")

    at = models.DateTimeField(_("at"), default=timezone.now)
    client = models.ForeignKey(GatewayClient, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    caller = models.CharField(_("calling system"), max_length=60)
    acting_user = models.CharField(_("acting user"), max_length=150)
    purpose = models.CharField(_("purpose"), max_length=300)
    dossier_code = models.CharField(_("dossier code"), max_length=80, blank=True)
    consent_reference = models.CharField(_("consent reference"), max_length=120, blank=True)
    operation = models.CharField(_("operation"), max_length=40)
    request_id = models.CharField(_("request id (MaYeuCau)"), max_length=64, unique=True)
    subject_hash = models.CharField(_("data subject (keyed hash)"), max_length=64, blank=True, db_index=True)
    record_count = models.PositiveIntegerField(_("records"), default=1)
    request_digest = models.CharField(_("request digest"), max_length=64)
    response_digest = models.CharField(_("response digest"), max_length=64, blank=True)
    duration_ms = models.PositiveIntegerField(_("duration (ms)"), default=0)
    outcome = models.CharField(_("outcome"), max_length=20, choices=Outcome.choices)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64, unique=True)

    class Meta:
        verbose_name = _("gateway message")
        verbose_name_plural = _("gateway message log")
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.request_id} {self.operation} {self.outcome}"


class ReconciliationJob(models.Model):
    """A file of records verified against the population database in chunks."""

    class Status(models.TextChoices):
        IMPORTING = "importing", _("Importing")
        RUNNING = "running", _("Running")
        PAUSED = "paused", _("Paused")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    name = models.CharField(_("name"), max_length=200)
    caller = models.CharField(_("health system"), max_length=60, default="portal")
    purpose = models.CharField(_("purpose"), max_length=300)
    source_name = models.CharField(_("source file"), max_length=255, blank=True)
    source_file = models.FileField(_("stored file"), upload_to="reconciliation/", blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.IMPORTING)
    total_records = models.PositiveIntegerField(_("records"), default=0)
    chunk_size = models.PositiveIntegerField(_("chunk size"), default=2000)
    parent = models.ForeignKey(
        "self", on_delete=models.CASCADE, null=True, blank=True, related_name="corrections", verbose_name=_("corrects")
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("reconciliation job")
        verbose_name_plural = _("reconciliation jobs")
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.name


class ReconciliationChunk(models.Model):
    """A slice of a job any worker can take; done exactly once (its results and counts commit together)."""

    class State(models.TextChoices):
        PENDING = "pending", _("Pending")
        DONE = "done", _("Done")

    job = models.ForeignKey(ReconciliationJob, on_delete=models.CASCADE, related_name="chunks")
    number = models.PositiveIntegerField(_("number"))
    state = models.CharField(_("state"), max_length=10, choices=State.choices, default=State.PENDING)
    record_count = models.PositiveIntegerField(_("records"))
    # The chunk's input records as JSON lines, encrypted at rest (personal data).
    payload = EncryptedTextField(_("records (encrypted)"))
    counts = models.JSONField(_("counts per facility and category"), default=dict, blank=True)
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    queued_at = models.DateTimeField(_("last queued at"), null=True, blank=True)
    processed_by = models.CharField(_("processed by (host:pid)"), max_length=200, blank=True)
    processed_at = models.DateTimeField(_("processed at"), null=True, blank=True)

    class Meta:
        verbose_name = _("reconciliation chunk")
        verbose_name_plural = _("reconciliation chunks")
        ordering = ["job", "number"]
        constraints = [models.UniqueConstraint(fields=["job", "number"], name="uniq_reconciliation_chunk")]
        indexes = [models.Index(fields=["job", "state"])]

    def __str__(self) -> str:
        return f"{self.job_id}#{self.number} ({self.state})"


class ReconciliationResult(models.Model):
    """The classification of one input record (no personal data: the ID is a keyed hash)."""

    job = models.ForeignKey(ReconciliationJob, on_delete=models.CASCADE, related_name="results")
    row_no = models.PositiveIntegerField(_("row"))
    chunk_number = models.PositiveIntegerField(_("chunk"))
    facility = models.CharField(_("facility"), max_length=200, blank=True)
    category = models.CharField(_("category"), max_length=24)
    sub_reason = models.CharField(_("sub-reason"), max_length=24, blank=True)
    name_match = models.BooleanField(_("name matches"), null=True)
    dob_match = models.BooleanField(_("date of birth matches"), null=True)
    dob_partial = models.BooleanField(_("partial date of birth"), default=False)
    subject_hash = models.CharField(_("data subject (keyed hash)"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("reconciliation result")
        verbose_name_plural = _("reconciliation results")
        constraints = [models.UniqueConstraint(fields=["job", "row_no"], name="uniq_reconciliation_row")]
        indexes = [models.Index(fields=["job", "chunk_number"]), models.Index(fields=["job", "category"])]

    def __str__(self) -> str:
        return f"{self.job_id}:{self.row_no} {self.category}"
