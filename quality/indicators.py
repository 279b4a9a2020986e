"""The Decision 766 indicators as this portal computes them (domain.md §5), with their points.

The official annex weights were not retrieved (domain.md §5): the split of each group's points among
its indicators below is OUR choice, shown on the dashboard next to each formula (docs/decisions/0038).
Points = max points × min(1, achieved / target); for "lower is better" indicators target / achieved.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

# Counters kept per day, agency and procedure (quality.models.DailyAggregate has one column each).
COUNTERS = (
    "submitted",
    "submitted_online",
    "received",
    "received_online",
    "received_digitised",
    "received_reused",
    "synced",
    "resolved",
    "resolved_early",
    "resolved_on_time",
    "resolved_late",
    "resolution_mdays",  # sum of working days net of pauses, in thousandths (integers add exactly)
    "e_result",
    "refused",
    "withdrawn",
    "stopped",
    "paid",
    "paid_online",
    "ratings",
    "ratings_satisfied",
)

COUNTER_LABELS = {
    "submitted": _("Dossiers submitted"),
    "submitted_online": _("Submitted online"),
    "received": _("Dossiers received"),
    "received_online": _("Received from online submissions"),
    "received_digitised": _("Received with their components digitised"),
    "received_reused": _("Received reusing data already held"),
    "synced": _("Received and synchronised to the national portal"),
    "resolved": _("Dossiers resolved (result issued)"),
    "resolved_early": _("Resolved early"),
    "resolved_on_time": _("Resolved on the due day"),
    "resolved_late": _("Resolved late"),
    "resolution_mdays": _("Working days used (thousandths)"),
    "e_result": _("Resolved with an electronic result"),
    "refused": _("Refused at reception"),
    "withdrawn": _("Withdrawn before receipt"),
    "stopped": _("Processing stopped"),
    "paid": _("Dossiers that paid a fee"),
    "paid_online": _("Paid online"),
    "ratings": _("Ratings given"),
    "ratings_satisfied": _("Ratings satisfied or very satisfied"),
}


@dataclass(frozen=True)
class Group:
    number: int
    label: object
    max_points: int


GROUPS = (
    Group(1, _("Publicity and transparency"), 18),
    Group(2, _("Progress and results"), 20),
    Group(3, _("Digitisation"), 22),
    Group(4, _("Online services and payment"), 22),
    Group(5, _("Satisfaction"), 18),
)


@dataclass(frozen=True)
class Indicator:
    code: str
    label: object
    group: int
    points: float
    numerator: str  # a counter, or a special source ("catalogue", "feedback")
    denominator: str
    formula: object
    unit: str = "%"  # "%" or "days"
    lower_is_better: bool = False
    default_target: float = 100.0

    @property
    def scored(self) -> bool:
        return self.points > 0


INDICATORS = (
    Indicator(
        "sync_rate",
        _("Dossiers synchronised to the national portal"),
        1,
        18,
        "synced",
        "received",
        _("received dossiers with a status delivered to DVCQG / dossiers received"),
    ),
    Indicator(
        "on_time_rate",
        _("Resolved early or on time"),
        2,
        20,
        "resolved_early+resolved_on_time",
        "resolved",
        _("(resolved early + resolved on time) / dossiers resolved; a result issued by the due date counts"),
    ),
    Indicator(
        "early_rate",
        _("Resolved early"),
        2,
        0,
        "resolved_early",
        "resolved",
        _("results issued on a day before the due day / dossiers resolved (shown, not scored)"),
    ),
    Indicator(
        "avg_resolution_days",
        _("Average resolution time (working days)"),
        2,
        0,
        "resolution_mdays",
        "resolved",
        _("mean of the working days from receipt to the result, net of pauses (shown, not scored)"),
        unit="days",
        lower_is_better=True,
    ),
    Indicator(
        "digitisation_rate",
        _("Dossiers digitised at intake"),
        3,
        8,
        "received_digitised",
        "received",
        _("received dossiers whose components are held as files (uploaded, scanned or reused) / dossiers received"),
    ),
    Indicator(
        "e_result_rate",
        _("Results issued electronically"),
        3,
        7,
        "e_result",
        "resolved",
        _("resolved dossiers with an electronic result document / dossiers resolved"),
    ),
    Indicator(
        "reuse_rate",
        _("Dossiers reusing digitised data"),
        3,
        7,
        "received_reused",
        "received",
        _("received dossiers with at least one component reused from data already held / dossiers received"),
    ),
    Indicator(
        "online_service_rate",
        _("Procedures offered online"),
        4,
        6,
        "catalogue",
        "catalogue",
        _("published procedures offered as full or partial online services / published procedures"),
    ),
    Indicator(
        "online_submit_rate",
        _("Dossiers submitted online"),
        4,
        8,
        "received_online",
        "received",
        _("received dossiers submitted online (this portal or DVCQG) / dossiers received"),
    ),
    Indicator(
        "online_payment_rate",
        _("Fees paid online"),
        4,
        8,
        "paid_online",
        "paid",
        _("dossiers with a payment recorded as online / dossiers with a payment recorded"),
    ),
    Indicator(
        "satisfaction_rate",
        _("Satisfaction"),
        5,
        6,
        "ratings_satisfied",
        "ratings",
        _("ratings 'satisfied' or 'very satisfied' / ratings given"),
    ),
    Indicator(
        "feedback_on_time_rate",
        _("Feedback and complaints answered on time"),
        5,
        12,
        "feedback",
        "feedback",
        _("feedback answered by its due time / feedback due in the period"),
    ),
)
INDICATOR_BY_CODE = {i.code: i for i in INDICATORS}
AGGREGATE_INDICATORS = tuple(i for i in INDICATORS if i.numerator not in ("catalogue", "feedback"))


def counter_parts(expr: str) -> list[str]:
    return expr.split("+")


def points_for(indicator: Indicator, value: float | None, target: float) -> float:
    """Points of INDICATOR at VALUE against TARGET (0 when there is no data)."""
    if value is None or not indicator.scored:
        return 0.0
    if indicator.lower_is_better:
        ratio = 1.0 if value <= 0 else target / value
    else:
        ratio = value / target if target > 0 else 1.0
    return round(indicator.points * min(1.0, max(0.0, ratio)), 2)
