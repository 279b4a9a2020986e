"""Catalogue (agencies, procedures, calendar) and dossiers with their lifecycle."""

from __future__ import annotations

import datetime as dt
import itertools

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import FileExtensionValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from django_fsm import RETURN_VALUE, ConcurrentTransitionMixin, FSMField, transition

from portal.crypto import EncryptedTextField
from portal.uploads import ScannedQuerySet, ScanStatus, stored_name

# --- Catalogue ---------------------------------------------------------------------------------


def parse_working_hours(text: str) -> tuple[tuple[dt.time, dt.time], ...]:
    """Parse "08:00-12:00,13:00-17:00" into ordered, non-overlapping periods (ValueError if not)."""
    periods = []
    for part in (text or "").split(","):
        start, sep, end = part.strip().partition("-")
        if not sep:
            raise ValueError(part)
        periods.append((dt.time.fromisoformat(start.strip()), dt.time.fromisoformat(end.strip())))
    if not periods or any(a >= b for a, b in periods) or any(p[1] > q[0] for p, q in itertools.pairwise(periods)):
        raise ValueError(text)
    return tuple(periods)


def validate_working_hours(text: str) -> None:
    try:
        parse_working_hours(text)
    except ValueError:
        raise ValidationError(
            _("Give the office periods as HH:MM-HH:MM separated by commas, in order, e.g. 08:00-12:00,13:00-17:00.")
        ) from None


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
    working_hours = models.CharField(
        _("working hours"),
        max_length=100,
        default="08:00-12:00,13:00-17:00",
        validators=[validate_working_hours],
        help_text=_("Office periods of a working day, e.g. 08:00-12:00,13:00-17:00; time limits in hours use them."),
    )

    class Meta:
        verbose_name = _("agency")
        verbose_name_plural = _("agencies")
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"

    @property
    def working_periods(self) -> tuple[tuple[dt.time, dt.time], ...]:
        return parse_working_hours(self.working_hours)

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
    """An exception to the Monday-Friday week: a day off (holiday, Tết, compensatory) or a make-up working day."""

    class Kind(models.TextChoices):
        HOLIDAY = "holiday", _("Public holiday")
        COMPENSATORY = "compensatory", _("Compensatory day off")
        SWAP_OFF = "swap_off", _("Day off swapped with a working Saturday")
        MAKEUP_WORKING = "makeup_working", _("Make-up working day (e.g. a Saturday)")

    date = models.DateField(_("date"), unique=True)
    name = models.CharField(_("name"), max_length=200)
    kind = models.CharField(_("kind"), max_length=20, choices=Kind.choices, default=Kind.HOLIDAY)
    source = models.CharField(
        _("source"), max_length=200, blank=True, help_text=_("Where the day comes from: a package seed or a decision.")
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("calendar day")
        verbose_name_plural = _("calendar days")
        ordering = ["date"]

    def __str__(self) -> str:
        return f"{self.date:%d/%m/%Y} {self.name}"

    @property
    def is_working(self) -> bool:
        return self.kind == self.Kind.MAKEUP_WORKING

    def clean(self) -> None:
        weekend = self.date is not None and self.date.weekday() >= 5
        if self.kind == self.Kind.MAKEUP_WORKING and self.date is not None and not weekend:
            raise ValidationError({"kind": _("A make-up working day must be a Saturday or a Sunday.")})
        if self.kind != self.Kind.MAKEUP_WORKING and weekend and self.kind != self.Kind.HOLIDAY:
            raise ValidationError({"kind": _("Weekends are already days off.")})


class CalendarYear(models.Model):
    """The working-day calendar of one year: seeded from the holidays package, then reviewed and confirmed."""

    year = models.PositiveSmallIntegerField(_("year"), unique=True)
    seeded_at = models.DateTimeField(_("seeded at"), null=True, blank=True)
    confirmed = models.BooleanField(_("confirmed"), default=False)
    confirmed_at = models.DateTimeField(_("confirmed at"), null=True, blank=True)
    confirmed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(_("note"), blank=True, help_text=_("The decision that fixed this year's days off."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("calendar year")
        verbose_name_plural = _("calendar years")
        ordering = ["-year"]

    def __str__(self) -> str:
        return str(self.year)


class RuleVersion(models.Model):
    """The legal rules a dossier is received under, by effective date (forms, numbering, extension rules)."""

    code = models.CharField(_("code"), max_length=40, unique=True)
    name = models.CharField(_("name"), max_length=300)
    effective_from = models.DateField(_("effective from"))
    effective_to = models.DateField(_("effective to"), null=True, blank=True)
    form_numbers = models.JSONField(
        _("form numbers"), default=dict, help_text=_("Form kind to its number in the annex, e.g. receipt: 01.")
    )
    form_suffixes = models.JSONField(
        _("form number suffixes"), default=dict, help_text=_("Form kind to its number suffix, e.g. supplement: PBS.")
    )
    form_names = models.JSONField(_("form names"), default=dict, blank=True)
    unit_suffix = models.CharField(_("unit suffix"), max_length=30, default="BPTNTKQ")
    legal_basis = models.CharField(_("legal basis"), max_length=300, blank=True)
    max_extensions = models.PositiveSmallIntegerField(_("reschedulings allowed"), default=1)
    extension_notice_working_days = models.PositiveSmallIntegerField(
        _("apology at the latest (working days before the deadline)"), default=1
    )
    due_soon_working_days = models.PositiveSmallIntegerField(_("due soon within (working days)"), default=2)

    class Meta:
        verbose_name = _("rule version")
        verbose_name_plural = _("rule versions")
        ordering = ["-effective_from"]

    def __str__(self) -> str:
        return self.code

    @classmethod
    def in_force(cls, day) -> RuleVersion:
        found = (
            cls.objects.filter(effective_from__lte=day)
            .filter(models.Q(effective_to__isnull=True) | models.Q(effective_to__gte=day))
            .order_by("-effective_from")
            .first()
        )
        if found is None:
            from procedures.rules import rule_versions_ensure

            if rule_versions_ensure():
                return cls.in_force(day)
            raise RuleVersion.DoesNotExist(f"no rule version in force on {day}")
        return found

    def form_number(self, kind: str) -> str:
        return str(self.form_numbers.get(kind, ""))


class Department(models.Model):
    """A unit (phòng, bộ phận) of an agency to which dossiers are assigned and transferred."""

    agency = models.ForeignKey(Agency, verbose_name=_("agency"), on_delete=models.PROTECT, related_name="departments")
    code = models.CharField(_("code"), max_length=40)
    name = models.CharField(_("name"), max_length=255)

    class Meta:
        verbose_name = _("department")
        verbose_name_plural = _("departments")
        ordering = ["agency", "code"]
        constraints = [models.UniqueConstraint(fields=["agency", "code"], name="uniq_department_code")]

    def __str__(self) -> str:
        return self.name


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
    department = models.ForeignKey(
        Department, verbose_name=_("department"), null=True, blank=True, on_delete=models.PROTECT
    )
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
    """An application (hồ sơ) and where it stands in the one-stop lifecycle.

    The state field is protected: only the transitions below change it, and only
    procedures.lifecycle.dossier_transition calls them (row lock, event, audit, outbox).
    """

    class State(models.TextChoices):
        SUBMITTED = "submitted", pgettext_lazy("dossier state", "Submitted online")
        FEE_DUE = "fee_due", pgettext_lazy("dossier state", "Awaiting payment")
        RECEIVED = "received", pgettext_lazy("dossier state", "Received")
        SUPPLEMENT_REQUESTED = "supplement_requested", pgettext_lazy("dossier state", "Supplement requested")
        SUPPLEMENTED = "supplemented", pgettext_lazy("dossier state", "Supplemented, to be checked")
        REFUSED = "refused", pgettext_lazy("dossier state", "Refused at reception")
        IN_PROCESSING = "in_processing", pgettext_lazy("dossier state", "In processing")
        IN_CONSULTATION = "in_consultation", pgettext_lazy("dossier state", "In inter-agency consultation")
        AWAITING_APPROVAL = "awaiting_approval", pgettext_lazy("dossier state", "Awaiting the leader's approval")
        AWAITING_SIGNATURE = "awaiting_signature", pgettext_lazy("dossier state", "Awaiting signature")
        AWAITING_ISSUE = "awaiting_issue", pgettext_lazy("dossier state", "Signed, to be numbered and issued")
        RESULT_READY = "result_ready", pgettext_lazy("dossier state", "Result ready")
        RETURNED = "returned", pgettext_lazy("dossier state", "Result returned")
        WITHDRAWN = "withdrawn", pgettext_lazy("dossier state", "Withdrawn by the applicant")
        STOPPED = "stopped", pgettext_lazy("dossier state", "Processing stopped")

    # National Public Service Portal status codes (domain.md §1.3). SUPPLEMENTED depends on where
    # the supplement was asked for: see national_status.
    NATIONAL_STATUS = {
        State.SUBMITTED: 1,
        State.FEE_DUE: 6,
        State.RECEIVED: 2,
        State.SUPPLEMENT_REQUESTED: 5,
        State.REFUSED: 3,
        State.IN_PROCESSING: 4,
        State.IN_CONSULTATION: 4,
        State.AWAITING_APPROVAL: 4,
        State.AWAITING_SIGNATURE: 4,
        State.AWAITING_ISSUE: 4,
        State.RESULT_READY: 9,
        State.RETURNED: 10,
        State.WITHDRAWN: 7,
        State.STOPPED: 8,
    }
    FINAL_STATES = frozenset({State.REFUSED, State.RETURNED, State.WITHDRAWN, State.STOPPED})
    # States in which the legal clock runs (or is paused) for an open dossier.
    CLOCK_STATES = frozenset(
        {
            State.RECEIVED,
            State.IN_PROCESSING,
            State.IN_CONSULTATION,
            State.AWAITING_APPROVAL,
            State.AWAITING_SIGNATURE,
            State.AWAITING_ISSUE,
        }
    )
    PROCESSING_STATES = frozenset(
        {State.IN_PROCESSING, State.IN_CONSULTATION, State.AWAITING_APPROVAL, State.AWAITING_SIGNATURE}
    )

    class Channel(models.TextChoices):
        ONLINE = "online", _("Online")
        COUNTER = "counter", _("At the counter")
        POSTAL = "postal", _("By public postal service")
        NATIONAL_PORTAL = "national_portal", _("National Public Service Portal")

    class ApplicantKind(models.TextChoices):
        CITIZEN = "citizen", _("Citizen")
        ORGANISATION = "organisation", _("Organisation")

    class Decision(models.TextChoices):
        NONE = "", _("Not decided")
        APPROVED = "approved", _("Approved")
        DENIED = "denied", _("Denied")

    class IdentityStatus(models.TextChoices):
        VERIFIED = "verified", _("Verified with the population database")
        UNVERIFIED = "unverified", _("Not verified (gateway unavailable); to be re-verified")
        MISMATCH = "mismatch", _("Differs from the population database")

    class Watch(models.TextChoices):
        NONE = "", _("On schedule")
        DUE_SOON = "due_soon", _("Due soon")
        OVERDUE = "overdue", _("Overdue")

    # Unique by a constraint in Meta (no LIKE twin index: references are only looked up whole; decision 0060).
    reference = models.CharField(_("submission reference"), max_length=32)
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
    # No single-column index on the foreign keys that lead a composite index in Meta (agency, receiving
    # unit, department, officer, consulted agency): those serve the look-ups, and every index costs on each
    # due-date write (docs/decisions/0060).
    agency = models.ForeignKey(
        Agency, verbose_name=_("deciding agency"), on_delete=models.PROTECT, related_name="dossiers", db_index=False
    )
    received_by_agency = models.ForeignKey(
        Agency,
        verbose_name=_("receiving unit"),
        null=True,
        blank=True,
        db_index=False,
        on_delete=models.PROTECT,
        related_name="dossiers_received",
        help_text=_("Where the dossier was received, when not at the deciding agency."),
    )
    applicant = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("applicant account"), on_delete=models.PROTECT, related_name="dossiers"
    )
    channel = models.CharField(_("channel"), max_length=20, choices=Channel.choices, default=Channel.ONLINE)
    applicant_kind = models.CharField(
        _("applicant kind"), max_length=12, choices=ApplicantKind.choices, default=ApplicantKind.CITIZEN
    )
    applicant_name = models.CharField(_("applicant name"), max_length=200)
    # The name lower-cased without diacritics (procedures.text.search_normalise), for the workspace search.
    applicant_name_search = models.CharField(max_length=200, blank=True, default="", editable=False)
    applicant_national_id = EncryptedTextField(_("personal ID number"))
    applicant_national_id_hash = models.CharField(max_length=64, editable=False)  # indexed in Meta (no LIKE index)
    applicant_address = EncryptedTextField(_("address"))
    applicant_phone = models.CharField(_("phone"), max_length=20)
    applicant_email = models.EmailField(_("email"), blank=True)
    organisation_tax_code = models.CharField(_("tax/enterprise code"), max_length=20, blank=True)
    # Form 01: "if authorised": the principal for whom the applicant acts, and the authorisation.
    principal_name = models.CharField(_("on behalf of"), max_length=200, blank=True)
    principal_id = EncryptedTextField(_("principal's personal ID or tax code"), blank=True)
    principal_address = EncryptedTextField(_("principal's address"), blank=True)
    principal_phone = models.CharField(_("principal's phone"), max_length=20, blank=True)
    principal_email = models.EmailField(_("principal's email"), blank=True)
    authorisation_document = models.CharField(_("authorisation document"), max_length=300, blank=True)
    identity_status = models.CharField(
        _("identity check"), max_length=12, choices=IdentityStatus.choices, default=IdentityStatus.VERIFIED
    )
    identity_checked_at = models.DateTimeField(_("identity checked at"), null=True, blank=True)
    request_summary = models.TextField(_("what is requested"))
    form_data = models.JSONField(_("form answers"), default=dict, blank=True)
    # Indexed in Meta (a plain btree: states are only compared for equality, no LIKE twin; decision 0060).
    state = FSMField(_("state"), default=State.SUBMITTED, choices=State.choices, protected=True)
    resume_state = models.CharField(max_length=30, blank=True, editable=False)
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
    # Where the dossier is inside the agency.
    department = models.ForeignKey(
        Department,
        verbose_name=_("department"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
    )
    assigned_to = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("handling officer"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dossiers_assigned",
        db_index=False,
    )
    stage_order = models.PositiveSmallIntegerField(_("stage"), null=True, blank=True)
    stage_name = models.CharField(_("stage"), max_length=300, blank=True)
    stage_due_at = models.DateTimeField(_("stage due"), null=True, blank=True)
    consulted_agency = models.ForeignKey(
        Agency,
        verbose_name=_("consulted agency"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="dossiers_consulted",
        db_index=False,
    )
    # The legal clock, recomputed from the ledger (DossierEvent.clock_effect) by procedures.clock.
    due_at = models.DateTimeField(_("due for return"), null=True, blank=True, db_index=True)
    original_due_at = models.DateTimeField(_("original appointment"), null=True, blank=True)
    clock_paused = models.BooleanField(_("clock paused"), default=False)
    clock_used = models.FloatField(_("working time used"), default=0)
    extended = models.BooleanField(_("appointment rescheduled"), default=False)
    due_unconfirmed = models.BooleanField(
        _("due date in an unconfirmed calendar year"),
        default=False,
        help_text=_("The due date falls in a year whose working-day calendar no administrator has confirmed."),
    )
    watch = models.CharField(_("deadline watch"), max_length=10, choices=Watch.choices, blank=True, default="")
    rule_version = models.CharField(_("rule version"), max_length=40, blank=True)
    # Decision and result.
    decision = models.CharField(_("decision"), max_length=10, choices=Decision.choices, blank=True, default="")
    decision_reason = models.TextField(_("reasons"), blank=True)
    refusal_reason = models.TextField(_("reasons for refusal"), blank=True)
    stop_reason = models.TextField(_("reasons for stopping"), blank=True)
    supplement_items = models.JSONField(_("documents and corrections requested"), default=list, blank=True)
    result_file = models.FileField(_("result"), upload_to="results/", max_length=300, blank=True)
    result_sha256 = models.CharField(max_length=64, blank=True)
    result_signed_at = models.DateTimeField(_("signed at"), null=True, blank=True)
    result_signed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    result_number = models.CharField(_("result number"), max_length=60, blank=True)
    result_issued_at = models.DateTimeField(_("result issued at"), null=True, blank=True)
    returned_at = models.DateTimeField(_("result returned at"), null=True, blank=True)
    return_method = models.CharField(_("how the result was received"), max_length=100, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("dossier")
        verbose_name_plural = _("dossiers")
        ordering = ["-submitted_at"]
        indexes = [
            models.Index(fields=["agency", "state", "submitted_at"]),
            models.Index(fields=["agency", "state", "due_at", "id"], name="dossier_queue_due"),
            models.Index(fields=["assigned_to", "state", "due_at", "id"], name="dossier_officer_due"),
            models.Index(fields=["consulted_agency", "state", "due_at", "id"], name="dossier_consulted_due"),
            # Workspace queues (issue 7).
            models.Index(fields=["received_by_agency", "state", "due_at", "id"], name="dossier_received_by_due"),
            models.Index(fields=["department", "state", "due_at", "id"], name="dossier_department_due"),
            models.Index(fields=["agency", "watch", "due_at", "id"], name="dossier_watch_due"),
            models.Index(fields=["agency", "due_at", "id"], name="dossier_agency_due"),
            models.Index(
                fields=["agency", "state", "id"], condition=models.Q(due_at__isnull=True), name="dossier_undated"
            ),
            models.Index(fields=["applicant_national_id_hash"], name="dossier_national_id_hash"),
            models.Index(fields=["state"], name="dossier_state"),
        ]
        constraints = [models.UniqueConstraint(fields=["reference"], name="dossier_reference_unique")]

    def __str__(self) -> str:
        return self.code or self.reference

    def save(self, *args, **kwargs):
        from procedures.text import search_normalise

        self.applicant_name_search = search_normalise(self.applicant_name)[:200]
        if kwargs.get("update_fields") is not None:
            kwargs["update_fields"] = set(kwargs["update_fields"]) | {"applicant_name_search"}
        super().save(*args, **kwargs)

    @property
    def national_status(self) -> int:
        state = self.State(self.state)
        if state == self.State.SUPPLEMENTED:
            return {self.State.SUBMITTED: 1, self.State.RECEIVED: 2}.get(self.resume_state, 4)
        return self.NATIONAL_STATUS[state]

    @property
    def is_final(self) -> bool:
        return self.state in self.FINAL_STATES

    @property
    def is_overdue(self) -> bool:
        if self.due_at is None or self.clock_paused:
            return False
        end = self.finished_at or (self.result_issued_at if self.state == self.State.RESULT_READY else None)
        return (end or timezone.now()) > self.due_at

    @property
    def clock_started(self) -> bool:
        return self.received_at is not None

    # --- transitions: called only by procedures.lifecycle -------------------------------------

    @transition(field=state, source=State.SUBMITTED, target=State.RECEIVED)
    def receive(self, *, code: str, at, by) -> None:
        self.code = code
        self.received_at = at
        self.received_by = by

    @transition(field=state, source=[State.SUBMITTED, State.RESULT_READY], target=State.FEE_DUE)
    def request_payment(self) -> None:
        self.resume_state = self.state

    @transition(field=state, source=State.FEE_DUE, target=RETURN_VALUE(State.SUBMITTED, State.RESULT_READY))
    def confirm_payment(self) -> str:
        return self.resume_state or self.State.SUBMITTED

    @transition(
        field=state,
        source=[State.SUBMITTED, State.RECEIVED, State.IN_PROCESSING],
        target=State.SUPPLEMENT_REQUESTED,
    )
    def request_supplement(self, *, items: list[str]) -> None:
        self.resume_state = self.state
        self.supplement_items = items

    @transition(field=state, source=State.SUPPLEMENT_REQUESTED, target=State.SUPPLEMENTED)
    def supplement(self) -> None:
        pass

    @transition(
        field=state,
        source=State.SUPPLEMENTED,
        target=RETURN_VALUE(State.SUBMITTED, State.RECEIVED, State.IN_PROCESSING),
    )
    def accept_supplement(self) -> str:
        self.supplement_items = []
        return self.resume_state or self.State.SUBMITTED

    @transition(
        field=state,
        source=[State.SUBMITTED, State.SUPPLEMENTED],
        target=State.REFUSED,
        conditions=[lambda d: d.state == d.State.SUBMITTED or d.resume_state == d.State.SUBMITTED],
    )
    def refuse(self, *, reason: str, at) -> None:
        self.refusal_reason = reason
        self.finished_at = at

    @transition(field=state, source=[State.RECEIVED, State.IN_PROCESSING], target=State.IN_PROCESSING)
    def assign(self, *, officer, department) -> None:
        self.assigned_to = officer
        self.department = department

    @transition(field=state, source=State.IN_PROCESSING, target=State.RECEIVED)
    def send_back_to_leader(self) -> None:
        self.assigned_to = None

    @transition(field=state, source=State.IN_PROCESSING, target=State.IN_CONSULTATION)
    def consult(self, *, agency) -> None:
        self.consulted_agency = agency

    @transition(field=state, source=State.IN_CONSULTATION, target=State.IN_PROCESSING)
    def answer_consultation(self) -> None:
        pass

    @transition(field=state, source=State.IN_PROCESSING, target=State.AWAITING_APPROVAL)
    def forward_for_approval(self) -> None:
        pass

    @transition(field=state, source=State.AWAITING_APPROVAL, target=State.IN_PROCESSING)
    def send_back(self) -> None:
        pass

    @transition(field=state, source=State.AWAITING_APPROVAL, target=State.AWAITING_SIGNATURE)
    def approve(self) -> None:
        self.decision = self.Decision.APPROVED

    @transition(field=state, source=State.AWAITING_APPROVAL, target=State.AWAITING_SIGNATURE)
    def deny(self, *, reason: str) -> None:
        self.decision = self.Decision.DENIED
        self.decision_reason = reason

    @transition(field=state, source=State.AWAITING_SIGNATURE, target=State.AWAITING_ISSUE)
    def sign(self, *, at, by) -> None:
        self.result_signed_at = at
        self.result_signed_by = by

    @transition(field=state, source=State.AWAITING_ISSUE, target=State.RESULT_READY)
    def issue(self, *, number: str, at) -> None:
        self.result_number = number
        self.result_issued_at = at

    @transition(field=state, source=State.RESULT_READY, target=State.RETURNED)
    def return_result(self, *, at, how: str) -> None:
        self.returned_at = at
        self.return_method = how
        self.finished_at = at

    @transition(
        field=state,
        source=[State.SUBMITTED, State.FEE_DUE, State.SUPPLEMENT_REQUESTED],
        target=State.WITHDRAWN,
        conditions=[lambda d: d.received_at is None],
    )
    def withdraw(self, *, reason: str, at) -> None:
        self.stop_reason = reason
        self.finished_at = at

    @transition(
        field=state,
        source=[
            State.RECEIVED,
            State.SUPPLEMENT_REQUESTED,
            State.SUPPLEMENTED,
            State.IN_PROCESSING,
            State.IN_CONSULTATION,
            State.AWAITING_APPROVAL,
        ],
        target=State.STOPPED,
        conditions=[lambda d: d.received_at is not None],
    )
    def stop(self, *, reason: str, at) -> None:
        self.stop_reason = reason
        self.finished_at = at


class DossierStep(models.Model):
    """One hand-over of a dossier to a unit or person (the process-control slip, BM.05, is generated from these)."""

    class Outcome(models.TextChoices):
        EARLY = "early", _("Early")
        ON_TIME = "on_time", _("On time")
        LATE = "late", _("Late")

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="steps")
    stage_order = models.PositiveSmallIntegerField(_("stage"), null=True, blank=True)
    stage_name = models.CharField(_("stage"), max_length=300)
    unit_name = models.CharField(_("unit"), max_length=300)
    handler = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("received by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    given_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("given by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    started_at = models.DateTimeField(_("handed over at"))
    due_at = models.DateTimeField(_("stage due"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    outcome = models.CharField(_("result"), max_length=10, choices=Outcome.choices, blank=True)
    note = models.CharField(_("note"), max_length=500, blank=True)

    class Meta:
        verbose_name = _("processing step")
        verbose_name_plural = _("processing steps")
        ordering = ["started_at", "id"]

    def __str__(self) -> str:
        return f"{self.dossier} {self.stage_name}"


class ResultBookCounter(models.Model):
    """The records clerk's book of results per agency and year; the row is locked while a number is issued."""

    agency = models.ForeignKey(Agency, on_delete=models.PROTECT)
    year = models.PositiveSmallIntegerField()
    last = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["agency", "year"], name="uniq_result_book_year")]
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.agency.code} {self.year} #{self.last}"


def dossier_upload_to(instance: DossierDocument, filename: str) -> str:
    return f"dossiers/{instance.dossier.reference}/{stored_name(filename)}"  # never the applicant's file name


class DossierDocument(models.Model):
    """A file the applicant submitted (thành phần hồ sơ), checked by content, size and type."""

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="documents")
    title = models.CharField(_("document"), max_length=255)
    file = models.FileField(_("file"), upload_to=dossier_upload_to, max_length=300)
    original_name = models.CharField(_("file name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=100)
    size = models.PositiveIntegerField(_("size (bytes)"))
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(default=timezone.now)

    class Source(models.TextChoices):
        UPLOAD = "upload", _("Uploaded by the applicant")
        SCANNED = "scanned", _("Digitised at the counter")
        REUSED = "reused", _("Reused from data already held")
        SUPPLEMENT = "supplement", _("Supplement")

    source = models.CharField(_("source"), max_length=12, choices=Source.choices, default=Source.UPLOAD)
    checklist_item = models.PositiveIntegerField(
        _("checklist item"), null=True, blank=True, help_text=_("Order of the item in the procedure's checklist.")
    )
    digitised_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # Antivirus (portal.uploads, decision 0055): staff see only clean or, with no scanner, unscanned files.
    scan_status = models.CharField(
        _("virus scan"), max_length=10, choices=ScanStatus.choices, default=ScanStatus.UNSCANNED
    )

    objects = ScannedQuerySet.as_manager()

    class Meta:
        verbose_name = _("dossier document")
        verbose_name_plural = _("dossier documents")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.title


class DossierEvent(models.Model):
    """One step in a dossier's life, written in the same transaction as the change; append-only.

    Events with a clock effect form the dossier's clock ledger: the due date is recomputed from them.
    """

    class Kind(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        RECEIVED = "received", _("Received")
        PAYMENT_REQUESTED = "payment_requested", _("Payment requested")
        PAYMENT_CONFIRMED = "payment_confirmed", _("Payment received")
        SUPPLEMENT_REQUESTED = "supplement_requested", _("Supplement requested")
        SUPPLEMENTED = "supplemented", _("Supplement submitted")
        SUPPLEMENT_ACCEPTED = "supplement_accepted", _("Supplement accepted")
        REFUSED = "refused", _("Refused at reception")
        ASSIGNED = "assigned", _("Assigned")
        TRANSFERRED = "transferred", _("Transferred")
        SENT_BACK = "sent_back", _("Sent back")
        CONSULTATION_REQUESTED = "consultation_requested", _("Consultation requested")
        CONSULTATION_ANSWERED = "consultation_answered", _("Consultation answered")
        FORWARDED = "forwarded", _("Forwarded for approval")
        APPROVED = "approved", _("Approved")
        DENIED = "denied", _("Denied")
        SIGNED = "signed", _("Signed")
        ISSUED = "issued", _("Numbered and issued")
        RETURNED = "returned", _("Result returned")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        STOPPED = "stopped", _("Processing stopped")
        EXTENDED = "extended", _("Apology and new appointment")

    class ClockEffect(models.TextChoices):
        NONE = "", _("None")
        START = "start", _("Clock starts")
        PAUSE = "pause", _("Clock paused")
        RESUME = "resume", _("Clock resumes")
        RESTART = "restart", _("Clock restarts")
        EXTEND = "extend", _("New appointment")
        STOP = "stop", _("Clock stops")

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="events")
    kind = models.CharField(_("event"), max_length=30, choices=Kind.choices)
    from_state = models.CharField(_("from"), max_length=30, blank=True)
    to_state = models.CharField(_("to"), max_length=30)
    actor = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT)
    reason = models.TextField(_("reason"), blank=True)
    at = models.DateTimeField(_("time"), default=timezone.now)
    clock_effect = models.CharField(
        _("clock effect"), max_length=10, choices=ClockEffect.choices, blank=True, default=""
    )
    clock_new_due = models.DateTimeField(_("new appointment"), null=True, blank=True)
    data = models.JSONField(default=dict, blank=True)

    class Meta:
        verbose_name = _("dossier event")
        verbose_name_plural = _("dossier events")
        ordering = ["at", "id"]
        indexes = [models.Index(fields=["at", "kind"], name="dossier_event_at_kind")]

    def __str__(self) -> str:
        return f"{self.dossier} {self.kind}"


def official_upload_to(instance: OfficialDocument, filename: str) -> str:
    return f"official/{instance.dossier.reference}/{filename}"


class OfficialDocument(models.Model):
    """An official slip rendered once as PDF and kept with its checksum."""

    class Kind(models.TextChoices):
        RECEIPT = "receipt", _("Receipt and appointment slip")
        SUPPLEMENT_REQUEST = "supplement_request", _("Request to supplement the dossier")
        REFUSAL = "refusal", _("Refusal slip")
        APOLOGY = "apology", _("Apology and new appointment")
        STOP_NOTICE = "stop_notice", _("Notice that processing stops")
        CONTROL_SLIP = "control_slip", _("Process-control slip")
        RESULT = "result", _("Result")

    dossier = models.ForeignKey(Dossier, on_delete=models.PROTECT, related_name="official_documents")
    kind = models.CharField(_("kind"), max_length=30, choices=Kind.choices)
    # Several slips of one kind (two supplement requests; a control slip re-issued at each hand-over).
    sequence = models.PositiveSmallIntegerField(default=1)
    event = models.ForeignKey(DossierEvent, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    number = models.CharField(_("number"), max_length=100, blank=True)
    template_version = models.CharField(_("template version"), max_length=60)
    file = models.FileField(upload_to=official_upload_to, max_length=300)
    sha256 = models.CharField(max_length=64)
    verify_token = models.CharField(max_length=43, unique=True, null=True, blank=True, editable=False)
    rendered_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = _("official document")
        verbose_name_plural = _("official documents")
        constraints = [
            models.UniqueConstraint(fields=["dossier", "kind", "sequence"], name="uniq_official_doc_kind_seq")
        ]

    def __str__(self) -> str:
        return f"{self.dossier} {self.get_kind_display()}"


from procedures.models_exports import *  # noqa: E402,F403
from procedures.models_national import *  # noqa: E402,F403
from procedures.models_notify import *  # noqa: E402,F403
