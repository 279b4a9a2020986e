"""Reading the dashboard: who sees what, the period's counters, indicators and scores, trends, rankings,
the overdue backlog, and the dossiers behind every number (drill-down)."""

from __future__ import annotations

import datetime as dt
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from procedures import clock
from procedures.models import Agency, Dossier, Procedure, StaffProfile
from quality.facts import rating_model
from quality.indicators import COUNTERS, GROUPS, INDICATORS, Indicator, counter_parts, points_for
from quality.models import DailyAggregate, DossierFact, MonthlyAggregate, Target

VIEW_ALL = "quality.view_all_agencies"
# Sorted: the same list as the partial index of migration 0002 (open dossiers whose clock runs).
OPEN_STATES = sorted(str(s) for s in Dossier.CLOCK_STATES)
DASHBOARD_ROLES = (StaffProfile.Role.LEADER, StaffProfile.Role.ADMINISTRATOR)


@dataclass(frozen=True)
class Scope:
    """What the user may see: every agency, or one."""

    all_agencies: bool
    agency_id: int | None


def scope_for(user) -> Scope:
    """Ministry level (superuser or the view-all permission): all agencies; leaders and administrators: their own."""
    if not getattr(user, "is_authenticated", False):
        raise PermissionDenied
    if user.is_superuser or user.has_perm(VIEW_ALL):
        return Scope(True, None)
    profile = StaffProfile.objects.filter(user=user, role__in=DASHBOARD_ROLES).first()
    if profile is None:
        raise PermissionDenied
    return Scope(False, profile.agency_id)


@dataclass
class Filters:
    start: dt.date
    end: dt.date
    agency_id: int | None = None
    sector: str = ""
    procedure_id: int | None = None

    def query(self) -> dict[str, str]:
        out = {"start": self.start.isoformat(), "end": self.end.isoformat()}
        if self.agency_id:
            out["agency"] = str(self.agency_id)
        if self.sector:
            out["sector"] = self.sector
        if self.procedure_id:
            out["procedure"] = str(self.procedure_id)
        return out


def _scoped(rows: QuerySet, filters: Filters) -> QuerySet:
    if filters.agency_id:
        rows = rows.filter(agency_id=filters.agency_id)
    if filters.procedure_id:
        rows = rows.filter(procedure_id=filters.procedure_id)
    if filters.sector:
        rows = rows.filter(procedure_id__in=Procedure.objects.filter(sector=filters.sector).values("pk"))
    return rows


def aggregate_rows(filters: Filters) -> QuerySet[DailyAggregate]:
    return _scoped(DailyAggregate.objects.filter(day__gte=filters.start, day__lte=filters.end), filters)


SUMS = {c: Sum(c) for c in COUNTERS}


def _month_end(month: dt.date) -> dt.date:
    return (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def cube(filters: Filters) -> list[dict[str, Any]]:
    """The period's counters per month, agency and procedure, which totals, trend and rankings share.

    Whole months come from MonthlyAggregate; the days of a month the period only partly covers come
    from DailyAggregate.
    """
    first_full = filters.start if filters.start.day == 1 else _month_end(filters.start) + dt.timedelta(days=1)
    # The last day of the last whole month of the period.
    last_full_end = (
        filters.end if filters.end == _month_end(filters.end) else filters.end.replace(day=1) - dt.timedelta(days=1)
    )
    out: list[dict[str, Any]] = []
    daily_ranges = []
    if first_full <= last_full_end:
        monthly = _scoped(
            MonthlyAggregate.objects.filter(month__gte=first_full, month__lte=last_full_end.replace(day=1)), filters
        )
        out += list(monthly.values("month", "agency_id", "procedure_id", *COUNTERS))
        if filters.start < first_full:
            daily_ranges.append((filters.start, first_full - dt.timedelta(days=1)))
        if last_full_end < filters.end:
            daily_ranges.append((last_full_end + dt.timedelta(days=1), filters.end))
    else:
        daily_ranges.append((filters.start, filters.end))
    for low, high in daily_ranges:
        rows = (
            _scoped(DailyAggregate.objects.filter(day__gte=low, day__lte=high), filters)
            .annotate(month=TruncMonth("day"))
            .values("month", "agency_id", "procedure_id")
            .annotate(**SUMS)
            .order_by()
        )
        for row in rows:
            month = row["month"]
            row["month"] = month.date() if isinstance(month, dt.datetime) else month
            out.append(row)
    return out


def _vector(row: dict[str, Any]) -> tuple[int, ...]:
    found = row.get("_v")
    if found is None:
        found = row["_v"] = tuple(row[c] or 0 for c in COUNTERS)
    return found


def _sum(rows: list[dict[str, Any]]) -> Counter:
    if not rows:
        return Counter(dict.fromkeys(COUNTERS, 0))
    return Counter(dict(zip(COUNTERS, map(sum, zip(*(_vector(r) for r in rows), strict=True)), strict=True)))


def totals(filters: Filters, cells: list[dict[str, Any]] | None = None) -> Counter:
    if cells is None:
        found = aggregate_rows(filters).aggregate(**SUMS)
        return Counter({c: found[c] or 0 for c in COUNTERS})
    return _sum(cells)


def _value(totals_: Counter, expr: str) -> int:
    return sum(totals_.get(part, 0) for part in counter_parts(expr))


@dataclass
class IndicatorRow:
    spec: Indicator
    numerator: int | None
    denominator: int | None
    value: float | None  # percent, or working days
    target: float
    target_set: bool
    points: float
    available: bool = True
    note: str = ""

    @property
    def code(self) -> str:
        return self.spec.code

    @property
    def num_display(self):
        """The numerator as shown: working days (not thousandths) for the average resolution time."""
        if self.numerator is not None and self.spec.unit == "days":
            return round(self.numerator / 1000, 2)
        return self.numerator


def catalogue_counts(filters: Filters) -> tuple[int, int]:
    """(published procedures offered online (full or partial), published procedures) in scope."""
    procedures = Procedure.objects.filter(is_published=True)
    if filters.agency_id:
        procedures = procedures.filter(agency_id=filters.agency_id)
    if filters.sector:
        procedures = procedures.filter(sector=filters.sector)
    if filters.procedure_id:
        procedures = procedures.filter(pk=filters.procedure_id)
    found = procedures.aggregate(
        total=Count("id"),
        online=Count("id", filter=Q(service_level__in=[Procedure.ServiceLevel.FULL, Procedure.ServiceLevel.PARTIAL])),
    )
    return found["online"], found["total"]


# --- feedback and complaints (citizens.Feedback) -----------------------------------------------------


def feedback_source() -> dict[str, Any]:
    """The feedback model and the fields the indicator reads (every feedback names its procedure and agency)."""
    from citizens.models import Feedback

    return {
        "model": Feedback,
        "created": "created_at",
        "due": "due_at",
        "answered": "answered_at",
        "agency": "agency",
        "procedure": "procedure",
    }


def feedback_rows(filters: Filters, source: dict[str, Any]) -> QuerySet:
    """Feedback whose answer fell due in the period (the denominator of the indicator)."""
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(filters.start, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    rows = source["model"].objects.filter(**{f"{source['due']}__gte": start, f"{source['due']}__lt": end})
    if filters.agency_id and source["agency"]:
        rows = rows.filter(**{f"{source['agency']}_id": filters.agency_id})
    if filters.procedure_id and source["procedure"]:
        rows = rows.filter(**{f"{source['procedure']}_id": filters.procedure_id})
    if filters.sector and source["procedure"]:
        rows = rows.filter(**{f"{source['procedure']}__sector": filters.sector})
    return rows


def feedback_counts(filters: Filters) -> tuple[int, int]:
    source = feedback_source()
    rows = feedback_rows(filters, source)
    answered = source["answered"]
    from django.db.models import F

    on_time = rows.filter(**{f"{answered}__isnull": False, f"{answered}__lte": F(source["due"])}).count()
    return on_time, rows.count()


# --- indicators and scores --------------------------------------------------------------------------


def targets_for(year: int) -> dict[str, float]:
    return dict(Target.objects.filter(year=year).values_list("indicator", "target"))


def indicator_rows(filters: Filters, totals_: Counter) -> list[IndicatorRow]:
    targets = targets_for(filters.end.year)
    rows = []
    for spec in INDICATORS:
        target = targets.get(spec.code, spec.default_target)
        available, note = True, ""
        if spec.numerator == "catalogue":
            num, den = catalogue_counts(filters)
        elif spec.numerator == "feedback":
            num, den = feedback_counts(filters)
        elif spec.numerator == "ratings_satisfied" and rating_model() is None:
            num = den = None
            available = False
            note = "ratings_missing"
        else:
            num, den = _value(totals_, spec.numerator), _value(totals_, spec.denominator)
        value = None
        if num is not None and den:
            value = round(num / den / 1000, 2) if spec.unit == "days" else round(100.0 * num / den, 2)
        rows.append(
            IndicatorRow(
                spec=spec,
                numerator=num,
                denominator=den,
                value=value,
                target=target,
                target_set=spec.code in targets,
                points=points_for(spec, value, target),
                available=available,
                note=note,
            )
        )
    return rows


def scores(rows: list[IndicatorRow]) -> dict[str, Any]:
    groups = []
    for group in GROUPS:
        members = [r for r in rows if r.spec.group == group.number]
        measured = sum(r.spec.points for r in members if r.spec.scored and r.value is not None)
        groups.append(
            {
                "group": group,
                "rows": members,
                "points": round(sum(r.points for r in members), 2),
                "measured_max": measured,
            }
        )
    return {
        "groups": groups,
        "total": round(sum(g["points"] for g in groups), 2),
        "measured_max": sum(g["measured_max"] for g in groups),
    }


def rate(num: int, den: int) -> float | None:
    return round(100.0 * num / den, 2) if den else None


def trend(filters: Filters, cells: list[dict[str, Any]] | None = None) -> list[dict[str, Any]]:
    """Per month: received, resolved, on-time rate, online share."""
    cells = cube(filters) if cells is None else cells
    by_month: dict[dt.date, list] = {}
    for row in cells:
        by_month.setdefault(row["month"], []).append(row)
    out = []
    for month in sorted(by_month):
        r = _sum(by_month[month])
        last = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)
        on_time = r["resolved_early"] + r["resolved_on_time"]
        out.append(
            {
                "month": month,
                "start": max(month, filters.start),
                "end": min(last, filters.end),
                "received": r["received"],
                "resolved": r["resolved"],
                "on_time": on_time,
                "on_time_rate": rate(on_time, r["resolved"]),
                "online_rate": rate(r["received_online"], r["received"]),
            }
        )
    return out


def procedure_names(cells: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    ids = {r["procedure_id"] for r in cells}
    return {p["pk"]: p for p in Procedure.objects.filter(pk__in=ids).values("pk", "code", "name", "sector")}


def ranking(
    filters: Filters,
    by: str,
    limit: int = 15,
    cells: list[dict[str, Any]] | None = None,
    procedures: dict[int, dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """Procedures, agencies or sectors by on-time rate (those with results first, most resolved on ties)."""
    cells = cube(filters) if cells is None else cells
    procedures = procedure_names(cells) if procedures is None else procedures
    groups: dict[Any, list] = {}
    for row in cells:
        if by == "procedure":
            key = row["procedure_id"]
        elif by == "agency":
            key = row["agency_id"]
        else:
            key = procedures[row["procedure_id"]]["sector"]
        groups.setdefault(key, []).append(row)
    agencies = {}
    if by == "agency":
        agencies = {a["pk"]: a for a in Agency.objects.filter(pk__in=list(groups)).values("pk", "code", "name")}
    out = []
    for key, rows in groups.items():
        r = _sum(rows)
        on_time = r["resolved_early"] + r["resolved_on_time"]
        item = {
            "key": key,
            "received": r["received"],
            "resolved": r["resolved"],
            "on_time": on_time,
            "late": r["resolved_late"],
            "on_time_rate": rate(on_time, r["resolved"]),
        }
        if by == "procedure":
            item.update(code=procedures[key]["code"], name=procedures[key]["name"])
        elif by == "agency":
            item.update(code=agencies[key]["code"], name=agencies[key]["name"])
        else:
            item.update(code="", name=key or "—")
        out.append(item)
    out.sort(key=lambda i: (i["on_time_rate"] is None, -(i["on_time_rate"] or 0), -i["resolved"], str(i["code"])))
    return out[:limit]


# --- overdue backlog (live: the open dossiers past their due date) -------------------------------


def _dossier_scope(queryset: QuerySet[Dossier], filters: Filters) -> QuerySet[Dossier]:
    if filters.agency_id:
        queryset = queryset.filter(agency_id=filters.agency_id)
    if filters.procedure_id:
        queryset = queryset.filter(procedure_id=filters.procedure_id)
    if filters.sector:
        queryset = queryset.filter(procedure_id__in=Procedure.objects.filter(sector=filters.sector).values("pk"))
    return queryset


def backlog_bounds(
    now: dt.datetime, agency: Agency | None = None
) -> list[tuple[int, int | None, dt.datetime, dt.datetime | None]]:
    """[(from working days, to working days or None, due before, due at or after)] per bucket."""
    calendar = clock.agency_calendar(agency)
    edges = sorted(set(settings.QUALITY_BACKLOG_BUCKETS))
    out = []
    for i, low in enumerate(edges):
        high = edges[i + 1] if i + 1 < len(edges) else None
        due_before = now if low == 0 else clock.add_working_days_at(calendar, now, -low)
        due_after = clock.add_working_days_at(calendar, now, -high) if high is not None else None
        out.append((low, high, due_before, due_after))
    return out


def backlog_queryset(filters: Filters, *, due_before: dt.datetime, due_after: dt.datetime | None) -> QuerySet[Dossier]:
    rows = Dossier.objects.filter(state__in=OPEN_STATES, clock_paused=False, due_at__lt=due_before)
    if due_after is not None:
        rows = rows.filter(due_at__gte=due_after)
    return _dossier_scope(rows, filters)


def backlog(filters: Filters, now: dt.datetime | None = None) -> list[dict[str, Any]]:
    now = now or timezone.now()
    agency = Agency.objects.filter(pk=filters.agency_id).first() if filters.agency_id else None
    bounds = backlog_bounds(now, agency)
    aggregates = {}
    for i, (_low, _high, before, after) in enumerate(bounds):
        condition = Q(due_at__lt=before) & (Q(due_at__gte=after) if after is not None else Q())
        aggregates[f"b{i}"] = Count("due_at", filter=condition)  # due_at only: an index-only scan
    base = _dossier_scope(Dossier.objects.filter(state__in=OPEN_STATES, clock_paused=False, due_at__lt=now), filters)
    counts = base.aggregate(**aggregates)
    return [
        {"index": i, "low": low, "high": high, "count": counts[f"b{i}"]} for i, (low, high, _b, _a) in enumerate(bounds)
    ]


# --- drill-down ------------------------------------------------------------------------------------

FACT_FILTERS: dict[str, tuple[str, dict[str, Any]]] = {
    "submitted": ("submitted_day", {}),
    "submitted_online": ("submitted_day", {"online": True}),
    "received": ("received_day", {}),
    "received_online": ("received_day", {"online": True}),
    "received_digitised": ("received_day", {"digitised": True}),
    "received_reused": ("received_day", {"reused": True}),
    "synced": ("received_day", {"synced": True}),
    "resolved": ("resolved_day", {}),
    "resolved_early": ("resolved_day", {"outcome": "early"}),
    "resolved_on_time": ("resolved_day", {"outcome": "on_time"}),
    "resolved_late": ("resolved_day", {"outcome": "late"}),
    "resolved_early+resolved_on_time": ("resolved_day", {"outcome__in": ["early", "on_time"]}),
    "resolution_mdays": ("resolved_day", {}),
    "e_result": ("resolved_day", {"e_result": True}),
    "refused": ("refused_day", {}),
    "withdrawn": ("withdrawn_day", {}),
    "stopped": ("stopped_day", {}),
    "paid": ("paid_day", {}),
    "paid_online": ("paid_day", {"paid_online": True}),
}


@dataclass
class Drill:
    """The rows behind one number: dossiers (or ratings, one row each)."""

    title: str
    dossiers: QuerySet[Dossier] | None = None
    ratings: QuerySet | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def count(self) -> int:
        return (self.ratings if self.ratings is not None else self.dossiers).count()


def drill_counter(filters: Filters, counter: str) -> QuerySet[DossierFact]:
    """The facts of the dossiers behind COUNTER (ordered by dossier; counted without touching dossiers)."""
    day_field, conditions = FACT_FILTERS[counter]
    facts = DossierFact.objects.filter(
        **{f"{day_field}__gte": filters.start, f"{day_field}__lte": filters.end}, **conditions
    )
    if filters.agency_id:
        facts = facts.filter(agency_id=filters.agency_id)
    if filters.procedure_id:
        facts = facts.filter(procedure_id=filters.procedure_id)
    if filters.sector:
        facts = facts.filter(procedure_id__in=Procedure.objects.filter(sector=filters.sector).values("pk"))
    return facts.order_by("dossier_id")


def drill_ratings(filters: Filters, *, satisfied_only: bool) -> QuerySet:
    model = rating_model()
    tz = timezone.get_current_timezone()
    start = dt.datetime.combine(filters.start, dt.time.min, tzinfo=tz)
    end = dt.datetime.combine(filters.end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    rows = model.objects.filter(rated_at__gte=start, rated_at__lt=end)
    if satisfied_only:
        rows = rows.filter(score__gte=2)
    if filters.agency_id:
        rows = rows.filter(dossier__agency_id=filters.agency_id)
    if filters.procedure_id:
        rows = rows.filter(dossier__procedure_id=filters.procedure_id)
    if filters.sector:
        rows = rows.filter(dossier__procedure__sector=filters.sector)
    return rows.select_related("dossier", "dossier__procedure").order_by("rated_at", "pk")


def dossier_order(queryset: QuerySet[Dossier]) -> QuerySet[Dossier]:
    return queryset.select_related("procedure", "agency").order_by("pk")
