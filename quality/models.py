"""Service-quality data: yearly targets, per-dossier facts and the daily aggregates the dashboard reads."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from quality.indicators import INDICATORS


class Target(models.Model):
    """The target of one indicator for one year (Resolution 76/NQ-CP targets are entered by an administrator)."""

    year = models.PositiveSmallIntegerField(_("year"), validators=[MinValueValidator(2020), MaxValueValidator(2100)])
    indicator = models.CharField(_("indicator"), max_length=40, choices=[(i.code, i.label) for i in INDICATORS])
    target = models.FloatField(
        _("target"),
        validators=[MinValueValidator(0.01)],
        help_text=_("Percent for rates (e.g. 95), working days for the average resolution time."),
    )
    source = models.CharField(_("source"), max_length=300, blank=True, help_text=_("The document that sets it."))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("service-quality target")
        verbose_name_plural = _("service-quality targets")
        ordering = ["-year", "indicator"]
        constraints = [models.UniqueConstraint(fields=["year", "indicator"], name="uniq_quality_target_year")]

    def __str__(self) -> str:
        return f"{self.year} {self.indicator} {self.target:g}"

    def clean(self) -> None:
        from django.core.exceptions import ValidationError

        from quality.indicators import INDICATOR_BY_CODE

        spec = INDICATOR_BY_CODE.get(self.indicator)
        if spec is not None and spec.unit == "%" and self.target is not None and self.target > 100:
            raise ValidationError({"target": _("A rate cannot have a target above 100%.")})


class DossierFact(models.Model):
    """What one dossier contributes to the indicators, recomputed from its data whenever it changes.

    `contribution` is exactly what this row added to DailyAggregate ({day: {counter: n}}), so a
    recomputation applies only the difference. The columns serve the drill-down lists.
    """

    dossier = models.OneToOneField(
        "procedures.Dossier", primary_key=True, on_delete=models.CASCADE, related_name="quality_fact"
    )
    agency = models.ForeignKey("procedures.Agency", on_delete=models.CASCADE, related_name="+")
    procedure = models.ForeignKey("procedures.Procedure", on_delete=models.CASCADE, related_name="+")
    submitted_day = models.DateField()
    online = models.BooleanField(default=False)
    received_day = models.DateField(null=True)
    digitised = models.BooleanField(default=False)
    reused = models.BooleanField(default=False)
    synced = models.BooleanField(default=False)
    resolved_day = models.DateField(null=True)
    outcome = models.CharField(max_length=10, blank=True)  # early / on_time / late
    resolution_mdays = models.IntegerField(default=0)
    e_result = models.BooleanField(default=False)
    refused_day = models.DateField(null=True)
    withdrawn_day = models.DateField(null=True)
    stopped_day = models.DateField(null=True)
    paid_day = models.DateField(null=True)
    paid_online = models.BooleanField(default=False)
    contribution = models.JSONField(default=dict)
    computed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        default_permissions = ()
        # Drill-down lists count and page through these by day range (and agency) with index-only scans
        # on PostgreSQL: the flags the lists filter on are carried in the index.
        indexes = [
            models.Index(
                fields=["received_day", "agency"],
                include=["dossier", "procedure", "online", "digitised", "reused", "synced"],
                name="quality_fact_received",
            ),
            models.Index(
                fields=["resolved_day", "agency"],
                include=["dossier", "procedure", "outcome", "e_result"],
                name="quality_fact_resolved",
            ),
            models.Index(
                fields=["submitted_day", "agency"],
                include=["dossier", "procedure", "online"],
                name="quality_fact_submitted",
            ),
        ]

    def __str__(self) -> str:
        return str(self.dossier_id)


class Counters(models.Model):
    """The counters of quality.indicators.COUNTERS, one column each."""

    submitted = models.IntegerField(default=0)
    submitted_online = models.IntegerField(default=0)
    received = models.IntegerField(default=0)
    received_online = models.IntegerField(default=0)
    received_digitised = models.IntegerField(default=0)
    received_reused = models.IntegerField(default=0)
    synced = models.IntegerField(default=0)
    resolved = models.IntegerField(default=0)
    resolved_early = models.IntegerField(default=0)
    resolved_on_time = models.IntegerField(default=0)
    resolved_late = models.IntegerField(default=0)
    resolution_mdays = models.BigIntegerField(default=0)
    e_result = models.IntegerField(default=0)
    refused = models.IntegerField(default=0)
    withdrawn = models.IntegerField(default=0)
    stopped = models.IntegerField(default=0)
    paid = models.IntegerField(default=0)
    paid_online = models.IntegerField(default=0)
    ratings = models.IntegerField(default=0)
    ratings_satisfied = models.IntegerField(default=0)

    class Meta:
        abstract = True


class DailyAggregate(Counters):
    """Counters of one day (local date), agency and procedure; the dashboard sums these."""

    day = models.DateField(_("day"))
    agency = models.ForeignKey("procedures.Agency", on_delete=models.CASCADE, related_name="+")
    procedure = models.ForeignKey("procedures.Procedure", on_delete=models.CASCADE, related_name="+")

    class Meta:
        verbose_name = _("daily service-quality counters")
        verbose_name_plural = _("daily service-quality counters")
        default_permissions = ("view",)
        permissions = [("view_all_agencies", _("Can see the service-quality dashboard of every agency"))]
        constraints = [
            models.UniqueConstraint(fields=["day", "agency", "procedure"], name="uniq_quality_daily"),
        ]
        indexes = [models.Index(fields=["agency", "day"], name="quality_daily_agency_day")]

    def __str__(self) -> str:
        return f"{self.day} {self.agency_id} {self.procedure_id}"


class MonthlyAggregate(Counters):
    """The same counters per month (first day of the month): whole months of a period are read from here."""

    month = models.DateField(_("month"))
    agency = models.ForeignKey("procedures.Agency", on_delete=models.CASCADE, related_name="+")
    procedure = models.ForeignKey("procedures.Procedure", on_delete=models.CASCADE, related_name="+")

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["month", "agency", "procedure"], name="uniq_quality_monthly"),
        ]
        indexes = [models.Index(fields=["agency", "month"], name="quality_monthly_agency_month")]

    def __str__(self) -> str:
        return f"{self.month:%Y-%m} {self.agency_id} {self.procedure_id}"


class RefreshState(models.Model):
    """The watermark of the incremental refresh (one row, locked while a refresh runs)."""

    last_event_id = models.BigIntegerField(default=0)
    last_run_at = models.DateTimeField(null=True, blank=True)
    last_rebuild_at = models.DateTimeField(null=True, blank=True)
    dossiers_refreshed = models.BigIntegerField(default=0)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"event #{self.last_event_id} at {self.last_run_at}"
