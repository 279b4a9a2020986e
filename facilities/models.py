"""Health facilities and the documents they issue: birth certificates (giấy chứng sinh) and death
notices (giấy báo tử), numbered in the facility's book, signed, delivered to the interlinking software.

A document's personal data is a JSON object of the field set of its `standard_version`
(facilities/standards.py), encrypted at rest; keyed hashes of the parents' / relative's personal ID
numbers let a signed-in citizen find the documents that concern them.
"""

from __future__ import annotations

import json
import secrets
from typing import Any

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from integrations.gateway_models import api_key_digest
from portal.crypto import EncryptedTextField

FACILITY_CODE_VALIDATOR = RegexValidator(r"^[0-9A-Z]{5}$", _("A facility code has 5 digits or capital letters."))


class Facility(models.Model):
    """A hospital or clinic that issues birth certificates and death notices."""

    class Kind(models.TextChoices):
        HOSPITAL = "hospital", _("Hospital")
        CLINIC = "clinic", _("Clinic")
        OTHER = "other", _("Other health facility")

    code = models.CharField(
        _("facility code"),
        max_length=5,
        unique=True,
        validators=[FACILITY_CODE_VALIDATOR],
        help_text=_("The 5-character code in certificate numbers (XXXXX.GCS.ZZZZZ.YY)."),
    )
    name = models.CharField(_("name"), max_length=255)
    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.HOSPITAL)
    agency = models.ForeignKey(
        "procedures.Agency", verbose_name=_("managing agency"), null=True, blank=True, on_delete=models.PROTECT
    )
    province_code = models.CharField(_("province code (since 1 Jul 2025)"), max_length=2, blank=True)
    address = models.CharField(_("address"), max_length=500, blank=True)
    is_active = models.BooleanField(_("active"), default=True)
    is_illustrative = models.BooleanField(_("illustrative"), default=False)
    # Signing: a PKCS#12 file of the facility, or another DocumentSigner class built with the facility.
    signing_backend = models.CharField(
        _("signing backend"),
        max_length=200,
        blank=True,
        help_text=_("Empty: the facility's PKCS#12 file below. Otherwise a signer class taking facility=."),
    )
    signing_key_path = models.CharField(_("PKCS#12 key file"), max_length=500, blank=True)
    signing_key_passphrase = EncryptedTextField(_("PKCS#12 passphrase (encrypted)"), blank=True)
    certificate_pem = models.TextField(_("signing certificate (PEM)"), blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)

    class Meta:
        verbose_name = _("health facility")
        verbose_name_plural = _("health facilities")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class FacilityMembership(models.Model):
    """A user's place in a facility: an issuer writes documents; the head also sees reports."""

    class Role(models.TextChoices):
        ISSUER = "issuer", _("Issuer")
        HEAD = "head", _("Head of facility")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="facility_memberships")
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    title = models.CharField(_("title"), max_length=200, blank=True)
    is_active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("facility membership")
        verbose_name_plural = _("facility memberships")
        constraints = [models.UniqueConstraint(fields=["user", "facility"], name="uniq_facility_membership")]

    def __str__(self) -> str:
        return f"{self.user} @ {self.facility.code} ({self.role})"


class FacilityCredential(models.Model):
    """An API key of a facility's own system (HIS); stored as a digest like the gateway's keys."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="credentials")
    label = models.CharField(_("label"), max_length=120, blank=True)
    key_prefix = models.CharField(_("API key prefix"), max_length=16, unique=True)
    key_digest = models.CharField(_("API key digest (SHA-256)"), max_length=64)
    is_active = models.BooleanField(_("active"), default=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used at"), null=True, blank=True)

    class Meta:
        verbose_name = _("facility API credential")
        verbose_name_plural = _("facility API credentials")

    def __str__(self) -> str:
        return f"{self.facility.code}:{self.key_prefix}"

    @classmethod
    def issue(cls, *, facility: Facility, label: str = "") -> tuple[FacilityCredential, str]:
        """Create a credential; return it and the key (shown once, stored only as a digest)."""
        prefix, secret = secrets.token_hex(6), secrets.token_urlsafe(32)
        credential = cls.objects.create(
            facility=facility, label=label, key_prefix=prefix, key_digest=api_key_digest(secret)
        )
        return credential, f"{prefix}.{secret}"


class BookCounter(models.Model):
    """The last number used in a facility's book for a year; its row is locked to take the next one."""

    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="counters")
    book = models.CharField(_("book"), max_length=3)
    year = models.PositiveIntegerField(_("year"))
    last_sequence = models.PositiveIntegerField(_("last sequence"), default=0)

    class Meta:
        verbose_name = _("book counter")
        verbose_name_plural = _("book counters")
        constraints = [models.UniqueConstraint(fields=["facility", "book", "year"], name="uniq_book_counter")]

    def __str__(self) -> str:
        return f"{self.facility_id} {self.book} {self.year}: {self.last_sequence}"


class HealthDocument(models.Model):
    """One issued birth certificate or death notice (one revision; a re-issue is a new row)."""

    class Kind(models.TextChoices):
        BIRTH = "birth_certificate", _("Birth certificate")
        DEATH = "death_notice", _("Death notice")

    class Form(models.TextChoices):
        NORMAL = "01", _("Form 01 (normal birth)")
        SURROGACY = "02", _("Form 02 (surrogacy)")
        DEATH = "05", _("Form 05 (death notice)")

    class Delivery(models.TextChoices):
        ISSUED = "issued", _("Issued")
        SENT = "sent", _("Sent")
        ACKNOWLEDGED = "acknowledged", _("Acknowledged")
        USED = "used", _("Used by the registration")

    class Verification(models.TextChoices):
        VERIFIED = "verified", _("Verified")
        MISMATCH = "mismatch", _("Does not match the population database")
        NOT_FOUND = "not_found", _("Not found in the population database")
        UNAVAILABLE = "unavailable", _("Not verified yet (database unavailable)")
        NOT_APPLICABLE = "not_applicable", _("Not applicable")

    class ReissueReason(models.TextChoices):
        ERROR = "error", _("Error in the issued document")
        LOSS = "loss", _("Loss or damage")

    facility = models.ForeignKey(Facility, on_delete=models.PROTECT, related_name="documents")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    form = models.CharField(_("form"), max_length=2, choices=Form.choices)
    number = models.CharField(_("number"), max_length=18, db_index=True)
    book = models.CharField(_("book"), max_length=3)
    year = models.PositiveIntegerField(_("year"))
    sequence = models.PositiveIntegerField(_("sequence in the book"))
    revision = models.PositiveIntegerField(_("revision"), default=1)
    is_current = models.BooleanField(_("current"), default=True)
    supersedes = models.OneToOneField(
        "self",
        verbose_name=_("supersedes"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="superseded_by",
    )
    reissue_reason = models.CharField(_("re-issue reason"), max_length=10, choices=ReissueReason.choices, blank=True)
    reissue_note = models.TextField(_("re-issue note"), blank=True)
    birth_group = models.UUIDField(_("multiple birth group"), null=True, blank=True, db_index=True)
    related_birth = models.ForeignKey(
        "self",
        verbose_name=_("birth certificate of the deceased newborn"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="death_notices",
    )
    standard_version = models.CharField(_("data standard version"), max_length=40)
    rule_version = models.CharField(_("service-level rule version"), max_length=40)
    data_encrypted = EncryptedTextField(_("document data (encrypted)"))
    # Keyed hashes of personal ID numbers of the people who may see the document (mother, intended
    # mother, relative who declared the death).
    holder_hash = models.CharField(_("holder (keyed hash)"), max_length=64, blank=True, db_index=True)
    second_holder_hash = models.CharField(_("second holder (keyed hash)"), max_length=64, blank=True, db_index=True)
    verification_status = models.CharField(
        _("identity verification"), max_length=16, choices=Verification.choices, default=Verification.UNAVAILABLE
    )
    verification_request_id = models.CharField(_("gateway request id"), max_length=64, blank=True)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)
    verification_attempts = models.PositiveIntegerField(_("verification attempts"), default=0)
    issued_at = models.DateTimeField(_("issued at"), db_index=True)
    issued_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    issued_via = models.CharField(_("issued via"), max_length=10, default="screen")
    pdf = models.FileField(_("signed PDF"), upload_to="facilities/%Y/%m/", blank=True)
    sha256 = models.CharField(_("SHA-256 of the signed PDF"), max_length=64, blank=True)
    verify_token = models.CharField(_("verification token"), max_length=64, unique=True)
    delivery_status = models.CharField(
        _("status"), max_length=14, choices=Delivery.choices, default=Delivery.ISSUED, db_index=True
    )
    sync_due_at = models.DateTimeField(_("sync due at"))
    signed_data_due_at = models.DateTimeField(_("signed data due at"))
    sent_at = models.DateTimeField(_("sent at"), null=True, blank=True)
    ack_due_at = models.DateTimeField(_("acknowledgement due at"), null=True, blank=True)
    receipt_id = models.CharField(_("receipt id"), max_length=64, blank=True)
    acknowledged_at = models.DateTimeField(_("acknowledged at"), null=True, blank=True)
    used_at = models.DateTimeField(_("used by the registration at"), null=True, blank=True)
    registration_reference = models.CharField(_("registration reference"), max_length=120, blank=True)
    send_count = models.PositiveIntegerField(_("times queued"), default=0)
    last_resent_at = models.DateTimeField(_("last re-sent at"), null=True, blank=True)
    last_delivery_error = models.TextField(_("last delivery error"), blank=True)

    class Meta:
        verbose_name = _("facility document")
        verbose_name_plural = _("facility documents")
        ordering = ["-issued_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["facility", "book", "number"], condition=Q(is_current=True), name="uniq_current_document_number"
            ),
            models.UniqueConstraint(fields=["facility", "book", "number", "revision"], name="uniq_document_revision"),
        ]
        indexes = [models.Index(fields=["facility", "kind", "issued_at"], name="facdoc_facility_kind_issued")]

    def __str__(self) -> str:
        return f"{self.number} r{self.revision}"

    @property
    def data(self) -> dict[str, Any]:
        return json.loads(self.data_encrypted) if self.data_encrypted else {}

    @data.setter
    def data(self, value: dict[str, Any]) -> None:
        self.data_encrypted = json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)

    @property
    def wire_revision_key(self) -> str:
        return f"{self.number}#{self.revision}"


class BirthCertificateManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(kind=HealthDocument.Kind.BIRTH)


class DeathNoticeManager(models.Manager):
    def get_queryset(self):
        return super().get_queryset().filter(kind=HealthDocument.Kind.DEATH)


class BirthCertificate(HealthDocument):
    """Giấy chứng sinh (Circular 22/2025/TT-BYT): the birth-certificate rows of HealthDocument."""

    objects = BirthCertificateManager()

    class Meta:
        proxy = True
        verbose_name = _("birth certificate")
        verbose_name_plural = _("birth certificates")


class DeathNotice(HealthDocument):
    """Giấy báo tử (Mẫu 05, Circular 25/2025/TT-BYT): the death-notice rows of HealthDocument."""

    objects = DeathNoticeManager()

    class Meta:
        proxy = True
        verbose_name = _("death notice")
        verbose_name_plural = _("death notices")


class DocumentEvent(models.Model):
    """A step in a document's life shown on its timeline (issued, sent, acknowledged, alert...)."""

    document = models.ForeignKey(HealthDocument, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(_("at"), default=timezone.now)
    kind = models.CharField(_("event"), max_length=30)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("document event")
        verbose_name_plural = _("document events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.document_id} {self.kind}"


class FacilityAlert(models.Model):
    """A missed service level of a document (Decree 63/2024): shown to the facility and the ministry."""

    class Kind(models.TextChoices):
        SYNC_LATE = "sync_late", _("Not synchronised within the time limit")
        ACK_LATE = "ack_late", _("Not acknowledged within 2 working hours")
        SIGNED_DATA_LATE = "signed_data_late", _("Signed data not delivered within 4 working hours")

    document = models.ForeignKey(HealthDocument, on_delete=models.CASCADE, related_name="alerts")
    facility = models.ForeignKey(Facility, on_delete=models.CASCADE, related_name="alerts")
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices)
    due_at = models.DateTimeField(_("was due at"))
    raised_at = models.DateTimeField(_("raised at"))
    resolved_at = models.DateTimeField(_("resolved at"), null=True, blank=True)
    retried = models.BooleanField(_("delivery retried"), default=False)

    class Meta:
        verbose_name = _("service-level alert")
        verbose_name_plural = _("service-level alerts")
        ordering = ["-raised_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["document", "kind"], condition=Q(resolved_at__isnull=True), name="uniq_open_facility_alert"
            )
        ]

    def __str__(self) -> str:
        return f"{self.document} {self.kind}"
