"""Citizens: the identity VNeID confirmed for each citizen account."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from portal.crypto import EncryptedTextField
from portal.uploads import ScannedQuerySet, ScanStatus, stored_name


class CitizenProfile(models.Model):
    """A citizen's identity as VNeID last confirmed it; the personal ID number is encrypted at rest."""

    class Sex(models.TextChoices):
        MALE = "M", _("Male")
        FEMALE = "F", _("Female")

    class Source(models.TextChoices):
        VNEID = "vneid", _("VNeID")

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, verbose_name=_("user"), on_delete=models.CASCADE, related_name="citizen_profile"
    )
    vneid_subject = models.CharField(_("VNeID subject"), max_length=255, unique=True)
    full_name = models.CharField(_("full name"), max_length=255)
    national_id = EncryptedTextField(_("personal identification number"))
    # Keyed hash of the number for look-ups; unique, because one person has one citizen account.
    national_id_hash = models.CharField(_("personal identification number hash"), max_length=64, unique=True)
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=Sex.choices, blank=True)
    assurance_level = models.CharField(
        _("identification level"), max_length=16, help_text=_("VNeID electronic identification level, e.g. 2.")
    )
    source = models.CharField(_("source"), max_length=16, choices=Source.choices, default=Source.VNEID)
    verified_at = models.DateTimeField(_("identity last verified at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("citizen profile")
        verbose_name_plural = _("citizen profiles")
        ordering = ["full_name", "pk"]

    def __str__(self) -> str:
        return self.full_name


class OrganisationProfile(models.Model):
    """An organisation account: VNeID's organisation identity, keyed by its tax/enterprise code, with the legal
    representative who signed in (their personal ID number encrypted)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        related_name="organisation_profile",
    )
    vneid_subject = models.CharField(_("VNeID subject"), max_length=255, unique=True)
    tax_code = models.CharField(_("tax/enterprise code"), max_length=20, unique=True)
    name = models.CharField(_("organisation name"), max_length=300)
    representative_name = models.CharField(_("legal representative"), max_length=255)
    representative_national_id = EncryptedTextField(_("legal representative's personal ID number"))
    representative_national_id_hash = models.CharField(max_length=64, db_index=True)
    representative_birth_date = models.DateField(_("legal representative's date of birth"), null=True, blank=True)
    assurance_level = models.CharField(_("identification level"), max_length=16)
    verified_at = models.DateTimeField(_("identity last verified at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("organisation profile")
        verbose_name_plural = _("organisation profiles")
        ordering = ["name", "pk"]

    def __str__(self) -> str:
        return f"{self.name} ({self.tax_code})"


class Consent(models.Model):
    """A data subject's consent to one purpose (Law 91/2025/QH15 Art. 9): the exact text shown, when, how."""

    class Purpose(models.TextChoices):
        PREFILL = "prefill", _("Verify my identity and prefill my applications from the population database")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="consents")
    purpose = models.CharField(_("purpose"), max_length=20, choices=Purpose.choices)
    text_version = models.CharField(_("text version"), max_length=20)
    text = models.TextField(_("text shown"))
    language = models.CharField(_("language"), max_length=8)
    reference = models.CharField(_("consent reference"), max_length=40, unique=True)
    channel = models.CharField(_("channel"), max_length=20, default="web")
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    given_at = models.DateTimeField(_("given at"), default=timezone.now)
    withdrawn_at = models.DateTimeField(_("withdrawn at"), null=True, blank=True)

    class Meta:
        verbose_name = _("consent")
        verbose_name_plural = _("consents")
        ordering = ["-given_at"]

    def __str__(self) -> str:
        return self.reference


class IdentityPrefill(models.Model):
    """What the portal knows of the applicant for prefilling, each field with its source and time.

    `fields` (encrypted JSON): {name: {"value": str, "source": population_db|vneid|typed, "at": iso}}.
    """

    class Source(models.TextChoices):
        POPULATION_DB = "population_db", _("National population database")
        VNEID = "vneid", _("VNeID")
        TYPED = "typed", _("Typed by you")

    class Status(models.TextChoices):
        VERIFIED = "verified", _("Verified with the population database")
        UNVERIFIED = "unverified", _("Not verified: the population database is unavailable")
        MISMATCH = "mismatch", _("Differs from the population database")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="identity_prefill")
    consent = models.ForeignKey(Consent, on_delete=models.PROTECT, related_name="+")
    fields_json = EncryptedTextField(_("fields"), default="{}")
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    checked_at = models.DateTimeField(_("checked at"), default=timezone.now)
    request_id = models.CharField(_("gateway request id"), max_length=64, blank=True)

    class Meta:
        verbose_name = _("identity prefill")
        verbose_name_plural = _("identity prefills")

    def __str__(self) -> str:
        return f"{self.user_id} {self.status}"


class ContactVerification(models.Model):
    """A one-time code sent to an email address or a phone number; verified once the applicant types it."""

    class Channel(models.TextChoices):
        EMAIL = "email", _("Email")
        PHONE = "phone", _("Phone")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="contact_verifications")
    channel = models.CharField(_("channel"), max_length=8, choices=Channel.choices)
    value = models.CharField(_("address or number"), max_length=254)
    code_hash = models.CharField(max_length=64)
    sent_at = models.DateTimeField(_("sent at"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires at"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)
    verified_at = models.DateTimeField(_("verified at"), null=True, blank=True)

    class Meta:
        verbose_name = _("contact verification")
        verbose_name_plural = _("contact verifications")
        ordering = ["-sent_at"]
        indexes = [models.Index(fields=["user", "channel", "value"])]

    def __str__(self) -> str:
        return f"{self.channel} {self.user_id}"


class Draft(models.Model):
    """An application being prepared; submitting it creates exactly one dossier (the token is the idempotency key)."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="drafts")
    procedure = models.ForeignKey("procedures.Procedure", on_delete=models.CASCADE, related_name="+")
    token = models.CharField(max_length=32, unique=True)
    data = models.JSONField(_("answers"), default=dict, blank=True)
    on_behalf = models.BooleanField(_("applying on behalf of someone else"), default=False)
    principal = models.JSONField(_("principal"), default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    dossier = models.OneToOneField(
        "procedures.Dossier", null=True, blank=True, on_delete=models.SET_NULL, related_name="draft"
    )

    class Meta:
        verbose_name = _("draft application")
        verbose_name_plural = _("draft applications")
        ordering = ["-updated_at"]

    def __str__(self) -> str:
        return self.token


def draft_upload_to(instance: DraftDocument, filename: str) -> str:
    return f"drafts/{instance.draft.token}/{stored_name(filename)}"  # never the applicant's file name


class DraftDocument(models.Model):
    """A file uploaded into a draft, for one checklist item (0: the power of attorney)."""

    POWER_OF_ATTORNEY = 0

    draft = models.ForeignKey(Draft, on_delete=models.CASCADE, related_name="documents")
    checklist_item = models.PositiveIntegerField(_("checklist item"))
    title = models.CharField(_("document"), max_length=255)
    file = models.FileField(upload_to=draft_upload_to, max_length=300)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)
    # A result the applicant already holds (their data store), copied in instead of an upload (decision 0065).
    reused_from = models.ForeignKey(
        "procedures.OfficialDocument", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Antivirus (portal.uploads, decision 0055): "pending" while the scanner was down, never shown to staff.
    scan_status = models.CharField(
        _("virus scan"), max_length=10, choices=ScanStatus.choices, default=ScanStatus.UNSCANNED
    )

    objects = ScannedQuerySet.as_manager()

    class Meta:
        ordering = ["checklist_item", "id"]

    def __str__(self) -> str:
        return self.original_name


class Payment(models.Model):
    """One attempt to pay a dossier's fees online; paid at most once, whatever the callbacks say."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting payment")
        PAID = "paid", _("Paid")
        FAILED = "failed", _("Failed")

    dossier = models.ForeignKey("procedures.Dossier", on_delete=models.PROTECT, related_name="payments")
    order_id = models.CharField(_("order"), max_length=40, unique=True)
    amount_vnd = models.BigIntegerField(_("amount (VND)"))
    timing = models.CharField(_("falls due"), max_length=16)
    items = models.JSONField(_("fee items"), default=list)
    status = models.CharField(_("status"), max_length=8, choices=Status.choices, default=Status.PENDING)
    provider_reference = models.CharField(_("payment reference"), max_length=80, blank=True)
    receipt_number = models.CharField(_("receipt number"), max_length=40, blank=True)
    callbacks = models.PositiveIntegerField(_("callbacks received"), default=0)
    failure = models.CharField(_("failure"), max_length=200, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    paid_at = models.DateTimeField(_("paid at"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment")
        verbose_name_plural = _("payments")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.order_id


class PaymentCallbackNonce(models.Model):
    """Nonces of accepted payment callbacks: the same nonce with another body is a replay."""

    nonce = models.CharField(max_length=64, unique=True)
    body_sha256 = models.CharField(max_length=64)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self) -> str:
        return self.nonce


class Feedback(models.Model):
    """Phản ánh, kiến nghị: about a dossier or a service, answered by staff by a due date."""

    class Kind(models.TextChoices):
        FEEDBACK = "feedback", _("Feedback (phản ánh)")
        RECOMMENDATION = "recommendation", _("Recommendation (kiến nghị)")

    class Status(models.TextChoices):
        OPEN = "open", _("Awaiting an answer")
        ANSWERED = "answered", _("Answered")

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="feedback")
    kind = models.CharField(_("kind"), max_length=16, choices=Kind.choices)
    dossier = models.ForeignKey(
        "procedures.Dossier", null=True, blank=True, on_delete=models.PROTECT, related_name="feedback"
    )
    procedure = models.ForeignKey(
        "procedures.Procedure", null=True, blank=True, on_delete=models.PROTECT, related_name="feedback"
    )
    agency = models.ForeignKey("procedures.Agency", on_delete=models.PROTECT, related_name="feedback")
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("content"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("sent at"), default=timezone.now)
    due_at = models.DateTimeField(_("answer due"))
    answer = models.TextField(_("answer"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)

    class Meta:
        verbose_name = _("feedback or recommendation")
        verbose_name_plural = _("feedback and recommendations")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.subject


class DossierLookupSecret(models.Model):
    """The keyed hash of the secret printed on a dossier's receipt, for the public look-up without an account."""

    dossier = models.OneToOneField("procedures.Dossier", on_delete=models.CASCADE, related_name="lookup_secret")
    secret_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return str(self.dossier_id)
