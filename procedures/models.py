"""Catalogue (agencies, procedures, calendar) and dossiers with their lifecycle."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import ConcurrentTransitionMixin, FSMField, transition

from portal.crypto import EncryptedTextField

# --- Catalogue ---------------------------------------------------------------------------------


class Agency(models.Model):
    """An agency that receives or decides dossiers, with its electronic identifier (mã định danh).

    `code` is the identifier in force today (dossier codes are built from it); earlier and later
    identifiers, each with its validity period, are kept in AgencyIdentifier (domain.md §2.2).
    """

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

    def identifier_on(self, day) -> str:
        """Return the identifier valid on DAY (falls back to the current code)."""
        for ident in self.identifiers.all():
            if (ident.valid_from is None or ident.valid_from <= day) and (
                ident.valid_to is None or day <= ident.valid_to
            ):
                return ident.code
        return self.code


class AgencyIdentifier(models.Model):
    """One electronic identifier of an agency and when it was valid (codes changed in 2020 and 2025)."""

    class Scheme(models.TextChoices):
        QCVN_102_2016 = "qcvn102_2016", _("QCVN 102:2016/BTTTT")
        QD_20_2020 = "qd20_2020", _("Decision 20/2020/QĐ-TTg")
        QD_09_2025 = "qd09_2025", _("Decision 09/2025/QĐ-TTg")

    agency = models.ForeignKey(Agency, on_delete=models.CASCADE, related_name="identifiers")
    code = models.CharField(_("identifier"), max_length=35)
    scheme = models.CharField(_("scheme"), max_length=20, choices=Scheme.choices)
    valid_from = models.DateField(_("valid from"), null=True, blank=True)
    valid_to = models.DateField(_("valid to"), null=True, blank=True)

    class Meta:
        verbose_name = _("agency identifier")
        verbose_name_plural = _("agency identifiers")
        ordering = ["agency", "valid_from"]
        constraints = [
            models.UniqueConstraint(fields=["agency", "code", "valid_from"], name="uniq_agency_identifier"),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.valid_from or '…'} – {self.valid_to or '…'})"

    def clean(self) -> None:
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            raise ValidationError({"valid_to": _("The end of validity is before its start.")})


class Procedure(models.Model):
    """An administrative procedure (thủ tục hành chính) offered as an online public service.

    This row is the editable working copy. Publishing, and every later edit of a published
    procedure, freezes it into a ProcedureVersion; dossiers are pinned to the version.
    Empty values mean "unknown" (no source gives them) and are shown as such.
    """

    class ServiceLevel(models.TextChoices):
        FULL = "full", _("Full-process online")  # toàn trình
        PARTIAL = "partial", _("Partial online")  # một phần

    class Level(models.TextChoices):
        CENTRAL = "central", _("Central (ministry)")
        PROVINCIAL = "provincial", _("Provincial (Department of Health)")

    class ApplicantType(models.TextChoices):
        CITIZEN = "citizen", _("Citizens")
        ORGANISATION = "organisation", _("Organisations")
        BOTH = "both", _("Citizens and organisations")

    class TimeUnit(models.TextChoices):
        DAYS = "days", _("working days")
        HOURS = "hours", _("working hours")

    class CutoffAppliesTo(models.TextChoices):
        NONE = "none", _("No cut-off")
        START = "start", _("Start of the clock")
        TRANSFER = "transfer", _("Transfer to the deciding unit only")

    class OnSupplement(models.TextChoices):
        PAUSE = "pause", _("Pause the clock")
        RESTART = "restart", _("Restart the clock")

    class ResultKind(models.TextChoices):
        LICENCE = "licence", _("Licence")
        CERTIFICATE = "certificate", _("Certificate")
        WRITTEN_ANSWER = "written_answer", _("Written answer")
        OTHER = "other", _("Other")

    code = models.CharField(
        _("procedure code"),
        max_length=40,
        unique=True,
        help_text=_("National TTHC database code such as 1.003925, or an internal process code such as QT.YDCT.11."),
    )
    name = models.CharField(_("name (Vietnamese)"), max_length=500)
    name_en = models.CharField(_("name (English)"), max_length=500, blank=True)
    agency = models.ForeignKey(
        Agency, verbose_name=_("deciding agency"), on_delete=models.PROTECT, null=True, blank=True
    )
    level = models.CharField(_("level"), max_length=12, choices=Level.choices, blank=True)
    sector = models.CharField(_("sector"), max_length=200, blank=True)
    sector_en = models.CharField(_("sector (English)"), max_length=200, blank=True)
    sector_code = models.CharField(
        _("sector code"), max_length=40, blank=True, help_text=_("National sector code (MaLinhVuc), e.g. G03-GD10.")
    )
    applicant_type = models.CharField(_("who may apply"), max_length=12, choices=ApplicantType.choices, blank=True)
    representative_allowed = models.BooleanField(
        _("an authorised representative may apply"), null=True, blank=True, help_text=_("Empty: unknown.")
    )
    service_level = models.CharField(
        _("service level"),
        max_length=10,
        choices=ServiceLevel.choices,
        default=ServiceLevel.FULL,
        blank=True,
        help_text=_("Empty: unknown."),
    )
    return_online = models.BooleanField(_("result returned online"), default=False)
    return_postal = models.BooleanField(_("result returned by public postal service"), default=False)
    return_counter = models.BooleanField(_("result returned at the counter"), default=False)
    time_limit_days = models.PositiveIntegerField(
        _("time limit (working days)"), null=True, blank=True, help_text=_("Empty: unknown. 0: immediately.")
    )
    time_limit_hours = models.PositiveIntegerField(
        _("time limit (working hours)"), null=True, blank=True, help_text=_("For express procedures instead of days.")
    )
    time_limit_note = models.CharField(_("time limit note"), max_length=300, blank=True)
    cutoff_time = models.TimeField(_("daily cut-off"), null=True, blank=True, default=dt.time(15, 0))
    cutoff_applies_to = models.CharField(
        _("cut-off applies to"), max_length=10, choices=CutoffAppliesTo.choices, default=CutoffAppliesTo.TRANSFER
    )
    on_supplement = models.CharField(
        _("when a supplement is requested"), max_length=10, choices=OnSupplement.choices, default=OnSupplement.PAUSE
    )
    fees_known = models.BooleanField(
        _("fees are known"), default=False, help_text=_("Ticked with no fee item: the procedure is free of charge.")
    )
    legal_basis = models.TextField(_("legal basis"), blank=True)
    source = models.TextField(_("source of this information"), blank=True)
    description = models.TextField(_("description"), blank=True)
    result_kind = models.CharField(_("result issued"), max_length=20, choices=ResultKind.choices, blank=True)
    result_name = models.CharField(_("result document"), max_length=300, blank=True)
    result_template = models.FileField(
        _("result PDF template"),
        upload_to="catalogue/results/",
        blank=True,
        validators=[FileExtensionValidator(["pdf"])],
    )
    form_schema = models.JSONField(_("application form schema"), default=dict, blank=True)
    illustrative_parts = models.JSONField(
        _("illustrative parts"),
        default=list,
        blank=True,
        help_text=_("Parts filled with illustrative content: documents, stages, form."),
    )
    is_published = models.BooleanField(_("published"), default=False)
    is_illustrative = models.BooleanField(_("illustrative"), default=False)
    current_version = models.ForeignKey(
        "ProcedureVersion",
        verbose_name=_("current version"),
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        editable=False,
    )
    search_text = models.TextField(editable=False, blank=True, default="")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("procedure")
        verbose_name_plural = _("procedures")
        ordering = ["code"]
        indexes = [models.Index(fields=["is_published", "code"], name="procedure_published_code")]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def save(self, *args, **kwargs):
        from procedures.text import search_normalise

        parts = [self.code, self.name, self.name_en, self.sector, self.sector_en]
        if self.agency_id and getattr(self, "agency", None) is not None:
            parts += [self.agency.name, self.agency.name_en]
        self.search_text = search_normalise(" ".join(p for p in parts if p))
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = set(kwargs["update_fields"]) | {"search_text"}
        super().save(*args, **kwargs)

    def clean(self) -> None:
        from procedures.formschema import form_schema_errors

        errors = {}
        if self.time_limit_days is not None and self.time_limit_hours is not None:
            errors["time_limit_hours"] = _("Give the time limit in working days or in working hours, not both.")
        if self.form_schema:
            problems = form_schema_errors(self.form_schema)
            if problems:
                errors["form_schema"] = [_("Form schema: %(problem)s") % {"problem": p} for p in problems]
        if errors:
            raise ValidationError(errors)

    def display_name(self, language: str) -> str:
        return self.name_en if language == "en" and self.name_en else self.name

    @property
    def time_limit(self) -> tuple[int, str] | None:
        """(amount, unit) or None when unknown."""
        if self.time_limit_days is not None:
            return self.time_limit_days, self.TimeUnit.DAYS
        if self.time_limit_hours is not None:
            return self.time_limit_hours, self.TimeUnit.HOURS
        return None

    @property
    def can_apply_online(self) -> bool:
        """Published, with a deciding agency and a time limit in days (the due-date engine needs both)."""
        return bool(self.is_published and self.agency_id and self.time_limit_days is not None)

    @property
    def return_channels(self) -> list[str]:
        labels = []
        if self.return_online:
            labels.append(_("online"))
        if self.return_postal:
            labels.append(_("by public postal service"))
        if self.return_counter:
            labels.append(_("at the counter"))
        return labels

    def is_part_illustrative(self, part: str) -> bool:
        return self.is_illustrative or part in (self.illustrative_parts or [])


class ProcedureStage(models.Model):
    """A processing stage with its role and time budget; the stages drive the dossier workflow."""

    class Role(models.TextChoices):
        RECEPTION = "reception", _("Reception (one-stop)")
        SPECIALIST = "specialist", _("Specialist department")
        LEADER_APPROVAL = "leader_approval", _("Leader approval")
        SIGNING = "signing", _("Signing")
        RECORDS = "records", _("Records clerk")
        CONSULTATION = "consultation", _("Inter-agency consultation")

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="stages")
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    name = models.CharField(_("stage"), max_length=300)
    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    budget = models.DecimalField(
        _("time budget"),
        max_digits=6,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(0)],
        help_text=_("In the procedure's time unit (working days or hours). Empty: unknown."),
    )

    class Meta:
        verbose_name = _("processing stage")
        verbose_name_plural = _("processing stages")
        ordering = ["procedure", "order", "id"]

    def __str__(self) -> str:
        return f"{self.order}. {self.name}"


class ProcedureFee(models.Model):
    """A fee or charge (phí, lệ phí) in VND, with when it falls due and its effective period."""

    class Kind(models.IntegerChoices):  # LoaiPhiLePhi (domain.md §4.2)
        ORDINARY = 1, _("Fee or charge")
        APPRAISAL = 2, _("Appraisal fee")
        EXTENSION = 3, _("Extension fee")

    class Timing(models.TextChoices):  # HinhThucThu 1, 2, 4; prepayment has no national code
        AT_RECEIPT = "1", _("At receipt")
        AT_SUPPLEMENT = "2", _("At supplement")
        AT_RESULT = "4", _("When the result is returned")
        ONLINE_BEFORE_SUBMISSION = "online_before", _("Online, before submission")

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="fees")
    name = models.CharField(_("fee item"), max_length=300)
    name_en = models.CharField(_("fee item (English)"), max_length=300, blank=True)
    kind = models.PositiveSmallIntegerField(_("kind"), choices=Kind.choices, default=Kind.ORDINARY)
    amount_vnd = models.BigIntegerField(_("amount (VND)"), null=True, blank=True, help_text=_("Empty: unknown."))
    timing = models.CharField(
        _("falls due"), max_length=16, choices=Timing.choices, blank=True, help_text=_("Empty: unknown.")
    )
    exempt = models.TextField(_("who is exempt"), blank=True)
    valid_from = models.DateField(_("effective from"), null=True, blank=True)
    valid_to = models.DateField(_("effective to"), null=True, blank=True)
    note = models.CharField(_("note"), max_length=300, blank=True)

    class Meta:
        verbose_name = _("fee or charge")
        verbose_name_plural = _("fees and charges")
        ordering = ["procedure", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(amount_vnd__isnull=True) | models.Q(amount_vnd__gte=0), name="fee_not_negative"
            )
        ]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        errors = {}
        if self.amount_vnd is not None and self.amount_vnd < 0:
            errors["amount_vnd"] = _("A fee cannot be negative (%(amount)s VND).") % {"amount": self.amount_vnd}
        if self.valid_from and self.valid_to and self.valid_to < self.valid_from:
            errors["valid_to"] = _("The fee's effective period ends before it starts.")
        if errors:
            raise ValidationError(errors)

    def is_effective_on(self, day) -> bool:
        return (self.valid_from is None or self.valid_from <= day) and (self.valid_to is None or day <= self.valid_to)


class ProcedureDocument(models.Model):
    """An item of the document checklist (thành phần hồ sơ)."""

    class CopyType(models.IntegerChoices):  # LoaiBan (domain.md §4.2)
        ORIGINAL = 0, _("Original")
        COPY = 1, _("Copy")
        ELECTRONIC = 2, _("Electronic copy")

    class ReplacedBy(models.TextChoices):
        NONE = "", _("Not replaceable")
        POPULATION_DB = "population_db", _("Identity data from the national population database")
        CITIZEN_STORE = "citizen_store", _("A result held in the applicant's data store")

    procedure = models.ForeignKey(Procedure, on_delete=models.CASCADE, related_name="documents")
    order = models.PositiveSmallIntegerField(_("order"), default=1)
    name = models.CharField(_("document"), max_length=500)
    name_en = models.CharField(_("document (English)"), max_length=500, blank=True)
    copy_type = models.PositiveSmallIntegerField(_("original or copy"), choices=CopyType.choices, default=CopyType.COPY)
    copies = models.PositiveSmallIntegerField(_("number of copies"), default=1)
    required = models.BooleanField(_("required"), default=True)
    template = models.FileField(
        _("template"),
        upload_to="catalogue/templates/",
        blank=True,
        validators=[FileExtensionValidator(["pdf", "doc", "docx", "xls", "xlsx", "odt"])],
    )
    accepted_types = models.CharField(
        _("accepted file types"),
        max_length=100,
        default="pdf",
        help_text=_("Comma-separated extensions, e.g. pdf,jpg."),
    )
    max_size_mb = models.PositiveSmallIntegerField(_("largest file (MB)"), default=10)
    replaced_by = models.CharField(_("data that can replace it"), max_length=20, choices=ReplacedBy.choices, blank=True)

    class Meta:
        verbose_name = _("checklist document")
        verbose_name_plural = _("document checklist")
        ordering = ["procedure", "order", "id"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        types = [t.strip().lower().lstrip(".") for t in self.accepted_types.split(",") if t.strip()]
        bad = [t for t in types if t not in ALLOWED_UPLOAD_TYPES]
        if not types or bad:
            raise ValidationError(
                {
                    "accepted_types": _("Unknown file type(s): %(bad)s. Allowed: %(allowed)s.")
                    % {"bad": ", ".join(bad) or "-", "allowed": ", ".join(sorted(ALLOWED_UPLOAD_TYPES))}
                }
            )
        self.accepted_types = ",".join(types)


ALLOWED_UPLOAD_TYPES = {"pdf", "jpg", "jpeg", "png", "doc", "docx", "xls", "xlsx", "zip", "xml"}


class ProcedureVersion(models.Model):
    """A frozen copy of a procedure's configuration; a dossier keeps the version it was submitted under."""

    procedure = models.ForeignKey(Procedure, on_delete=models.PROTECT, related_name="versions")
    number = models.PositiveIntegerField(_("version"))
    snapshot = models.JSONField(_("configuration"))
    digest = models.CharField(max_length=64, editable=False)
    time_limit_days = models.PositiveIntegerField(_("time limit (working days)"), null=True, blank=True)
    time_limit_hours = models.PositiveIntegerField(_("time limit (working hours)"), null=True, blank=True)
    on_supplement = models.CharField(_("when a supplement is requested"), max_length=10)
    cutoff_time = models.TimeField(_("daily cut-off"), null=True, blank=True)
    cutoff_applies_to = models.CharField(_("cut-off applies to"), max_length=10)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        verbose_name = _("procedure version")
        verbose_name_plural = _("procedure versions")
        ordering = ["procedure", "-number"]
        constraints = [models.UniqueConstraint(fields=["procedure", "number"], name="uniq_procedure_version")]

    def __str__(self) -> str:
        return f"{self.procedure.code} v{self.number}"


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
    procedure_version = models.ForeignKey(
        ProcedureVersion,
        verbose_name=_("procedure version"),
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="dossiers",
        help_text=_("The catalogue version the dossier was submitted under."),
    )
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
