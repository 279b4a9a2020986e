"""Catalogue (agencies, procedures, calendar) and dossiers with their lifecycle."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from portal.crypto import EncryptedTextField

# --- Catalogue ---------------------------------------------------------------------------------


class Agency(models.Model):
    """An agency that receives or decides dossiers, with its electronic identifier (mã định danh)."""

    code = models.CharField(_("electronic identifier"), max_length=35, unique=True)
    name = models.CharField(_("name (Vietnamese)"), max_length=255)
    name_en = models.CharField(_("name (English)"), max_length=255, blank=True)
    is_illustrative = models.BooleanField(
        _("illustrative"), default=False, help_text=_("Demo data whose code is not an official identifier.")
    )

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class Procedure(models.Model):
    """An administrative procedure (thủ tục hành chính) offered as an online public service."""

    class ServiceLevel(models.TextChoices):
        FULL = "full", _("Full-process online")  # toàn trình
        PARTIAL = "partial", _("Partial online")  # một phần

    code = models.CharField(_("procedure code"), max_length=40, unique=True)
    name = models.CharField(_("name (Vietnamese)"), max_length=500)
    name_en = models.CharField(_("name (English)"), max_length=500, blank=True)
    agency = models.ForeignKey(Agency, verbose_name=_("deciding agency"), on_delete=models.PROTECT)
    sector = models.CharField(_("sector"), max_length=200, blank=True)
    sector_code = models.CharField(
        _("sector code"), max_length=40, blank=True, help_text=_("National sector code (MaLinhVuc), e.g. G03-GD10.")
    )
    service_level = models.CharField(
        _("service level"), max_length=10, choices=ServiceLevel.choices, default=ServiceLevel.FULL
    )
    time_limit_days = models.PositiveIntegerField(_("time limit (working days)"))
    legal_basis = models.TextField(_("legal basis"), blank=True)
    description = models.TextField(_("description"), blank=True)
    is_published = models.BooleanField(_("published"), default=False)
    is_illustrative = models.BooleanField(_("illustrative"), default=False)

    class Meta:
        verbose_name = _("procedure")
        verbose_name_plural = _("procedures")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def display_name(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name


class Holiday(models.Model):
    """A public holiday or compensatory day off; weekends are never working days."""

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=200)

    class Meta:
        verbose_name = _("public holiday")
        verbose_name_plural = _("public holidays")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%d/%m/%Y} {self.name}"


class StaffProfile(models.Model):
    """A member of staff: their agency and role in the one-stop workflow."""

    class Role(models.TextChoices):
        RECEPTION_CLERK = "reception_clerk", _("Reception clerk")
        PROCESSING_OFFICER = "processing_officer", _("Processing officer")
        LEADER = "leader", _("Leader")
        SIGNING_AUTHORITY = "signing_authority", _("Signing authority")
        RECORDS_CLERK = "records_clerk", _("Records clerk")
        ADMINISTRATOR = "administrator", _("Administrator")

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_profile")
    agency = models.ForeignKey(Agency, verbose_name=_("agency"), on_delete=models.PROTECT)
    role = models.CharField(_("role"), max_length=30, choices=Role.choices)
    title = models.CharField(_("title"), max_length=200, blank=True)

    class Meta:
        verbose_name = _("staff profile")
        verbose_name_plural = _("staff profiles")

    def __str__(self) -> str:
        return f"{self.user} ({self.get_role_display()}, {self.agency.code})"


# --- Dossiers ----------------------------------------------------------------------------------


class DossierCodeCounter(models.Model):
    """Per-agency, per-day sequence for dossier codes; the row is locked while a code is issued."""

    agency_code = models.CharField(max_length=35)
    day = models.DateField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency_code", "day"], name="uniq_code_counter_day")]
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.agency_code} {self.day:%y%m%d} #{self.last}"


class Dossier(ConcurrentTransitionMixin, models.Model):
    """An application (hồ sơ) and where it stands in the one-stop lifecycle."""

    class State(models.TextChoices):
        SUBMITTED = "submitted", pgettext_lazy("dossier state", "Submitted online")  # national status 1
        RECEIVED = "received", pgettext_lazy("dossier state", "Received")  # national status 2, clock runs

    NATIONAL_STATUS = {State.SUBMITTED: 1, State.RECEIVED: 2}

    class Channel(models.TextChoices):
        ONLINE = "online", _("Online")
        COUNTER = "counter", _("At the counter")

    reference = models.CharField(_("submission reference"), max_length=32, unique=True)
    code = models.CharField(_("dossier code"), max_length=64, unique=True, null=True, blank=True)
    procedure = models.ForeignKey(Procedure, verbose_name=_("procedure"), on_delete=models.PROTECT)
    agency = models.ForeignKey(
        Agency, verbose_name=_("deciding agency"), on_delete=models.PROTECT, related_name="dossiers"
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("applicant account"), on_delete=models.PROTECT, related_name="dossiers"
    )
    channel = models.CharField(_("channel"), max_length=10, choices=Channel.choices, default=Channel.ONLINE)
    applicant_name = models.CharField(_("applicant name"), max_length=200)
    applicant_national_id = EncryptedTextField(_("personal ID number"))
    applicant_national_id_hash = models.CharField(max_length=64, db_index=True, editable=False)
    applicant_address = EncryptedTextField(_("address"))
    applicant_phone = models.CharField(_("phone"), max_length=20)
    applicant_email = models.EmailField(_("email"), blank=True)
    request_summary = models.TextField(_("what is requested"))
    state = FSMField(_("state"), default=State.SUBMITTED, choices=State.choices, protected=True, db_index=True)
    submitted_at = models.DateTimeField(_("submitted at"), default=timezone.now)
    received_at = models.DateTimeField(_("received at"), null=True, blank=True)
    received_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("received by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    due_at = models.DateTimeField(_("due for return"), null=True, blank=True)
    rule_version = models.CharField(_("rule version"), max_length=40, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("dossier")
        verbose_name_plural = _("dossiers")
        ordering = ["-submitted_at"]
        indexes = [models.Index(fields=["agency", "state", "submitted_at"])]

    def __str__(self) -> str:
        return self.code or self.reference

    @property
    def national_status(self) -> int:
        return self.NATIONAL_STATUS[self.State(self.state)]

    @transition(field=state, source=State.SUBMITTED, target=State.RECEIVED)
    def receive(self, *, code: str, at, by, due_at, rule_version: str) -> None:
        self.code = code
        self.received_at = at
        self.received_by = by
        self.due_at = due_at
        self.rule_version = rule_version


def dossier_upload_to(instance: DossierDocument, filename: str) -> str:
    return f"dossiers/{instance.dossier.reference}/{instance.sha256[:16]}-{filename}"


class DossierDocument(models.Model):
    """A file the applicant submitted (thành phần hồ sơ), checked by content, size and type."""

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(_("document"), max_length=255)
    file = models.FileField(_("file"), upload_to=dossier_upload_to, max_length=300)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("dossier document")
        verbose_name_plural = _("dossier documents")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title


class DossierEvent(models.Model):
    """One state change of a dossier, written in the same transaction as the change."""

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        RECEIVED = "received", _("Received")

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="events")
    kind = models.CharField(_("event"), max_length=30, choices=Kind.choices)
    from_state = models.CharField(_("from"), max_length=30, blank=True)
    to_state = models.CharField(_("to"), max_length=30)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    reason = models.TextField(_("reason"), blank=True)
    at = models.DateTimeField(_("time"), default=timezone.now)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("dossier event")
        verbose_name_plural = _("dossier events")
        ordering = ["at", "id"]

    def __str__(self) -> str:
        return f"{self.dossier} {self.kind}"


def official_upload_to(instance: OfficialDocument, filename: str) -> str:
    return f"official/{instance.dossier.reference}/{filename}"


class OfficialDocument(models.Model):
    """An official slip rendered once as PDF and kept with its checksum."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Receipt and appointment slip (form 01)")

    dossier = models.ForeignKey(Dossier, on_delete=models.CASCADE, related_name="official_documents")
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    template_version = models.CharField(_("template version"), max_length=60)
    file = models.FileField(upload_to=official_upload_to, max_length=300)
    sha256 = models.CharField(max_length=64)
    rendered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("official document")
        verbose_name_plural = _("official documents")
        constraints = [models.UniqueConstraint(fields=["dossier", "kind"], name="uniq_official_doc_kind")]

    def __str__(self) -> str:
        return f"{self.dossier} {self.get_kind_display()}"
