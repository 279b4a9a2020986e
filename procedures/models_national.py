"""National portal (DVCQG) data of the procedures app: catalogue sync, inbound dossiers, ratings.

Imported at the bottom of procedures/models.py so Django registers these models in the app.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

__all__ = ["CatalogueSyncRun", "DossierRating", "InboundNonce", "NationalCatalogueLink", "NationalInboundSubmission"]

# Master-data fields the national catalogue owns (docs/decisions/0020). A field named in a
# link's local_overrides is left alone by the sync; everything else (form, stages, cut-off,
# supplement rule, service level, publication…) is local and never touched.
NATIONAL_FIELDS = (
    "name",
    "level",
    "sector",
    "sector_code",
    "agency",
    "legal_basis",
    "time_limit",
    "fees",
    "documents",
)


class NationalCatalogueLink(models.Model):
    """How a procedure relates to its record in the national TTHC database."""

    procedure = models.OneToOneField(
        "procedures.Procedure", verbose_name=_("procedure"), on_delete=models.CASCADE, related_name="national_link"
    )
    local_overrides = models.JSONField(
        _("fields kept local"),
        default=list,
        blank=True,
        help_text=_(
            "Master-data fields the synchronisation must not overwrite, as a JSON list. Allowed: name, level, "
            "sector, sector_code, agency, legal_basis, time_limit, fees, documents."
        ),
    )
    last_synced_at = models.DateTimeField(_("last synchronised at"), null=True, blank=True)
    last_digest = models.CharField(_("digest of the last national record"), max_length=64, blank=True)
    last_record = models.JSONField(_("last national record"), default=dict, blank=True)
    missing_since = models.DateTimeField(
        _("missing from the national list since"), null=True, blank=True, help_text=_("Empty: listed nationally.")
    )

    class Meta:
        verbose_name = _("national catalogue link")
        verbose_name_plural = _("national catalogue links")

    def __str__(self) -> str:
        return str(self.procedure_id)


class CatalogueSyncRun(models.Model):
    """One synchronisation with the national TTHC database and its report."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        SUCCEEDED = "succeeded", _("Succeeded")
        PARTIAL = "partial", _("Finished with failures")
        FAILED = "failed", _("Failed")

    class Trigger(models.TextChoices):
        COMMAND = "command", _("Management command")
        SCHEDULE = "schedule", _("Schedule")
        ADMIN = "admin", _("Administrator")

    started_at = models.DateTimeField(_("started at"), default=timezone.now)
    finished_at = models.DateTimeField(_("finished at"), null=True, blank=True)
    trigger = models.CharField(_("trigger"), max_length=10, choices=Trigger.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name=_("started by"), null=True, blank=True, on_delete=models.PROTECT
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.RUNNING)
    listed = models.PositiveIntegerField(_("listed nationally"), default=0)
    created = models.PositiveIntegerField(_("created"), default=0)
    updated = models.PositiveIntegerField(_("updated"), default=0)
    unchanged = models.PositiveIntegerField(_("unchanged"), default=0)
    failed = models.PositiveIntegerField(_("failed"), default=0)
    items = models.JSONField(_("report"), default=list, blank=True)
    error = models.TextField(_("error"), blank=True)

    class Meta:
        verbose_name = _("catalogue synchronisation")
        verbose_name_plural = _("catalogue synchronisations")
        ordering = ["-started_at", "-id"]
        constraints = [
            # Two synchronisations never run at once (the schedule, a command and an administrator).
            models.UniqueConstraint(
                fields=["status"], condition=models.Q(status="running"), name="uniq_catalogue_sync_running"
            )
        ]

    def __str__(self) -> str:
        return f"{self.started_at:%Y-%m-%d %H:%M} {self.get_status_display()}"


class NationalInboundSubmission(models.Model):
    """A dossier submitted on the national portal and the dossier we made of it (one per reference)."""

    national_reference = models.CharField(_("national dossier reference"), max_length=64, unique=True)
    dossier = models.OneToOneField(
        "procedures.Dossier", verbose_name=_("dossier"), on_delete=models.PROTECT, related_name="national_submission"
    )
    sender = models.CharField(_("sender"), max_length=40)
    payload_digest = models.CharField(_("payload SHA-256"), max_length=64)
    attachments = models.JSONField(_("attachments announced"), default=list, blank=True)
    received_at = models.DateTimeField(_("received at"), default=timezone.now)
    duplicates = models.PositiveIntegerField(_("duplicate submissions answered"), default=0)

    class FilesStatus(models.TextChoices):
        NONE = "", _("No attachments announced")
        PENDING = "pending", _("Files being fetched")
        COMPLETE = "complete", _("All files received")
        PROBLEM = "problem", _("Some files refused")

    # Fetching the announced attachments (docs/decisions/0045): one entry per announced attachment, in
    # order, {"status": "stored"|"refused", "document": id, "reason": code, "detail": text}; settled
    # entries are never redone.
    files_status = models.CharField(
        _("attachments"), max_length=10, choices=FilesStatus.choices, blank=True, default=FilesStatus.NONE
    )
    files_report = models.JSONField(_("attachment report"), default=dict, blank=True)

    class Meta:
        verbose_name = _("national portal submission")
        verbose_name_plural = _("national portal submissions")
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return self.national_reference

    def files_problems(self) -> list[str]:
        """The refused attachments as translated sentences, for the reception clerk."""
        from procedures.inbound import attachment_refusal_text

        problems = []
        for index, announced in enumerate(self.attachments):
            entry = self.files_report.get(str(index)) or {}
            if entry.get("status") == "refused":
                problems.append(
                    attachment_refusal_text(
                        name=announced.get("TenTepDinhKem", ""), reason=entry["reason"], detail=entry.get("detail", "")
                    )
                )
        return problems


class InboundNonce(models.Model):
    """A nonce of a signed inbound request, kept for the replay window."""

    sender = models.CharField(max_length=40)
    nonce = models.CharField(max_length=64)
    seen_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        default_permissions = ()
        constraints = [models.UniqueConstraint(fields=["sender", "nonce"], name="uniq_inbound_nonce")]

    def __str__(self) -> str:
        return f"{self.sender} {self.nonce}"


class DossierRating(models.Model):
    """The applicant's rating of how a dossier was handled, one per dossier and source.

    Scale (OUR design, docs/national-portal-inbound.md): 1 dissatisfied, 2 satisfied, 3 very
    satisfied; Decision 766 counts 2 and 3 as satisfied (domain.md §5).
    """

    class Source(models.TextChoices):
        NATIONAL_PORTAL = "national_portal", _("National Public Service Portal")
        PORTAL = "portal", _("This portal")

    class Score(models.IntegerChoices):
        DISSATISFIED = 1, _("Dissatisfied")
        SATISFIED = 2, _("Satisfied")
        VERY_SATISFIED = 3, _("Very satisfied")

    dossier = models.ForeignKey(
        "procedures.Dossier", verbose_name=_("dossier"), on_delete=models.CASCADE, related_name="ratings"
    )
    source = models.CharField(_("source"), max_length=20, choices=Source.choices)
    score = models.PositiveSmallIntegerField(_("rating"), choices=Score.choices)
    comment = models.TextField(_("comment"), blank=True)
    rated_at = models.DateTimeField(_("rated at"))
    rated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("rated by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    created_at = models.DateTimeField(_("recorded at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("service rating")
        verbose_name_plural = _("service ratings")
        ordering = ["-rated_at"]
        constraints = [
            models.UniqueConstraint(fields=["dossier", "source"], name="uniq_dossier_rating_source"),
            models.CheckConstraint(condition=models.Q(score__gte=1, score__lte=3), name="dossier_rating_score_range"),
        ]

    def __str__(self) -> str:
        return f"{self.dossier_id} {self.get_source_display()} {self.score}"

    @property
    def is_satisfied(self) -> bool:
        return self.score >= self.Score.SATISFIED
