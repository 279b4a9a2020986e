"""The legal clock of dossiers: the calendar from the database, and due dates from each dossier's ledger.

The ledger is the dossier's events that carry a clock effect (start, pause, resume, restart, extend,
stop). `dossier_clock_apply` replays it with the pure engine in procedures.deadlines and writes the
result on the dossier, so the due date can always be recomputed from scratch and match.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable

from django.db.models import Count, Max
from django.utils import timezone

from procedures import deadlines
from procedures.models import Agency, CalendarYear, Dossier, DossierEvent, Holiday, Procedure

_cache_lock = threading.Lock()
_cache: dict[tuple, deadlines.Calendar] = {}


def _fingerprint() -> tuple:
    days = Holiday.objects.aggregate(n=Count("id"), last=Max("updated_at"))
    years = CalendarYear.objects.aggregate(n=Count("id"), last=Max("updated_at"))
    return (days["n"], days["last"], years["n"], years["last"])


def calendar_load(*, working_hours: str | None = None) -> deadlines.Calendar:
    """Return the working-day calendar from the admin-edited tables (cached until a row changes)."""
    from procedures.models import parse_working_hours

    periods = parse_working_hours(working_hours) if working_hours else deadlines.DEFAULT_WORKING_HOURS
    key = (_fingerprint(), periods)
    with _cache_lock:
        found = _cache.get(key)
    if found is not None:
        return found
    rows = Holiday.objects.values_list("date", "kind")
    calendar = deadlines.calendar_from_rows(
        days=[(day, kind == Holiday.Kind.MAKEUP_WORKING) for day, kind in rows],
        confirmed_years=CalendarYear.objects.filter(confirmed=True).values_list("year", flat=True),
        office_day=(periods[0][0], periods[-1][1]),
        working_hours=periods,
    )
    with _cache_lock:
        _cache.clear()  # one generation at a time: a changed table makes older calendars useless
        _cache[key] = calendar
    return calendar


def agency_calendar(agency: Agency | None) -> deadlines.Calendar:
    return calendar_load(working_hours=agency.working_hours if agency is not None else None)


def limit_of(source) -> tuple[float, deadlines.Unit, deadlines.Cutoff | None]:
    """(limit, unit, cutoff) of a procedure or procedure version (anything with the limit fields)."""
    if source.time_limit_hours is not None and source.time_limit_days is None:
        limit, unit = float(source.time_limit_hours), deadlines.Unit.HOURS
    elif source.time_limit_days is not None:
        limit, unit = float(source.time_limit_days), deadlines.Unit.DAYS
    else:
        raise ValueError("the time limit of this procedure is not configured")
    cutoff = None
    if source.cutoff_applies_to == Procedure.CutoffAppliesTo.START and source.cutoff_time is not None:
        cutoff = deadlines.Cutoff(at=source.cutoff_time)
    return limit, unit, cutoff


def dossier_limit(dossier: Dossier) -> tuple[float, deadlines.Unit, deadlines.Cutoff | None, str]:
    """(limit, unit, cutoff, on_supplement) of the procedure version the dossier was received under."""
    source = dossier.procedure_version or dossier.procedure
    limit, unit, cutoff = limit_of(source)
    return limit, unit, cutoff, source.on_supplement or Procedure.OnSupplement.PAUSE


def ledger_of(events: Iterable[DossierEvent]) -> list[deadlines.ClockEvent]:
    return [
        deadlines.ClockEvent(kind=deadlines.Kind(e.clock_effect), at=e.at, new_due=e.clock_new_due)
        for e in events
        if e.clock_effect
    ]


def clock_compute_for(
    dossier: Dossier,
    *,
    ledger: list[deadlines.ClockEvent],
    calendar: deadlines.Calendar | None = None,
    now: dt.datetime | None = None,
) -> deadlines.ClockState:
    limit, unit, cutoff, _mode = dossier_limit(dossier)
    calendar = calendar or agency_calendar(dossier.agency)
    return deadlines.clock_compute(calendar=calendar, events=ledger, limit=limit, unit=unit, cutoff=cutoff, now=now)


def dossier_clock_apply(
    dossier: Dossier,
    *,
    ledger: list[deadlines.ClockEvent] | None = None,
    calendar: deadlines.Calendar | None = None,
) -> deadlines.ClockState:
    """Recompute the dossier's clock from its ledger and set the clock fields (the caller saves)."""
    if ledger is None:
        ledger = ledger_of(dossier.events.exclude(clock_effect="").order_by("at", "id"))
    state = clock_compute_for(dossier, ledger=ledger, calendar=calendar, now=timezone.now())
    if state.due is not None or not state.paused:
        dossier.due_at = state.due
    dossier.clock_paused = state.paused
    dossier.clock_used = round(state.used, 4)
    dossier.extended = state.extended
    dossier.due_unconfirmed = state.unconfirmed_calendar if state.due is not None else dossier.due_unconfirmed
    if not state.extended and state.due is not None:
        dossier.original_due_at = state.due
    return state


def working_days_between(calendar: deadlines.Calendar, start: dt.datetime, end: dt.datetime) -> float:
    """Working days (office-day units) from START to END; negative when END is earlier."""
    return calendar.day_coordinate(end) - calendar.day_coordinate(start)


def add_working_days_at(calendar: deadlines.Calendar, start: dt.datetime, days: float) -> dt.datetime:
    """The instant DAYS working days (office-day units) after START."""
    return calendar.from_day_coordinate(calendar.day_coordinate(start) + days)


LIMIT_FIELDS = ("time_limit_days", "time_limit_hours", "cutoff_time", "cutoff_applies_to")


class _Limits:
    __slots__ = LIMIT_FIELDS

    def __init__(self, values) -> None:
        for name, value in zip(LIMIT_FIELDS, values, strict=True):
            setattr(self, name, value)


def clock_recompute_open(*, batch: int = 5000) -> dict[str, int]:
    """Recompute the due date of every open dossier from its ledger; return counts (checked, changed).

    Works on plain rows (no model instances) and writes only the dossiers whose clock changed, in one
    set-based UPDATE per batch, so 100,000 open dossiers take seconds.
    """
    checked = changed = 0
    calendars: dict[str, deadlines.Calendar] = {}
    limits: dict[tuple, tuple] = {}
    open_states = [s for s in Dossier.State if s not in Dossier.FINAL_STATES]
    columns = [
        "pk",
        "agency__working_hours",
        *(f"procedure_version__{f}" for f in LIMIT_FIELDS),
        *(f"procedure__{f}" for f in LIMIT_FIELDS),
        "due_at",
        "clock_paused",
        "due_unconfirmed",
        "extended",
        "original_due_at",
        "updated_at",
    ]
    queryset = Dossier.objects.filter(state__in=open_states, received_at__isnull=False).order_by("pk")
    now = timezone.now()
    last_pk = 0
    n = len(LIMIT_FIELDS)
    while True:
        rows = list(queryset.filter(pk__gt=last_pk).values_list(*columns)[:batch])
        if not rows:
            break
        last_pk = rows[-1][0]
        ledgers: dict[int, list[deadlines.ClockEvent]] = {}
        for dossier_id, effect, at, new_due in (
            DossierEvent.objects.filter(dossier_id__gte=rows[0][0], dossier_id__lte=last_pk)
            .exclude(clock_effect="")
            .order_by("dossier_id", "at", "id")
            .values_list("dossier_id", "clock_effect", "at", "clock_new_due")
        ):
            ledgers.setdefault(dossier_id, []).append(deadlines.ClockEvent(deadlines.Kind(effect), at, new_due))
        updates = []
        for row in rows:
            pk, hours = row[0], row[1]
            version, procedure = row[2 : 2 + n], row[2 + n : 2 + 2 * n]
            due_at, paused, unconfirmed, extended, original, updated_at = row[2 + 2 * n :]
            calendar = calendars.get(hours) or calendars.setdefault(hours, calendar_load(working_hours=hours))
            key = version if version[0] is not None or version[1] is not None else procedure
            limit = limits.get(key) or limits.setdefault(key, limit_of(_Limits(key)))
            state = deadlines.clock_compute(
                calendar=calendar,
                events=ledgers.get(pk, []),
                limit=limit[0],
                unit=limit[1],
                cutoff=limit[2],
                now=now,
            )
            checked += 1
            new_due = state.due if (state.due is not None or not state.paused) else due_at
            new_unconfirmed = state.unconfirmed_calendar if state.due is not None else unconfirmed
            if (new_due, state.paused, new_unconfirmed, state.extended) != (due_at, paused, unconfirmed, extended):
                new_original = state.due if (not state.extended and state.due is not None) else original
                updates.append((pk, new_due, state.paused, new_unconfirmed, state.extended, new_original, updated_at))
        if updates:
            changed += len(updates)
            _write_clock(updates)
    return {"checked": checked, "changed": changed}


def _write_clock(updates: list[tuple]) -> None:
    from django.db import connection

    if connection.vendor != "postgresql":
        objs = []
        for pk, due, paused, unconfirmed, extended, original, _updated in updates:
            d = Dossier(pk=pk)
            d.due_at, d.clock_paused, d.due_unconfirmed, d.extended, d.original_due_at = (
                due, paused, unconfirmed, extended, original,
            )  # fmt: skip
            objs.append(d)
        Dossier.objects.bulk_update(objs, ["due_at", "clock_paused", "due_unconfirmed", "extended", "original_due_at"])
        return
    from django.db import transaction

    table = Dossier._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        # COPY into a temporary table and one joined UPDATE: far cheaper than row-by-row updates.
        cursor.execute("DROP TABLE IF EXISTS clock_recompute_rows")
        cursor.execute(
            "CREATE TEMP TABLE clock_recompute_rows (id bigint PRIMARY KEY, due timestamptz, paused boolean, "
            "unconfirmed boolean, extended boolean, original timestamptz, seen timestamptz) ON COMMIT DROP"
        )
        with cursor.cursor.copy(
            "COPY clock_recompute_rows (id, due, paused, unconfirmed, extended, original, seen) FROM STDIN"
        ) as copy:
            for row in updates:
                copy.write_row(row)
        cursor.execute(
            f"UPDATE {table} AS d SET due_at = v.due, clock_paused = v.paused, "  # noqa: S608 (fixed names)
            "due_unconfirmed = v.unconfirmed, extended = v.extended, original_due_at = v.original "
            # A dossier that a transition changed since it was read keeps the transition's answer.
            "FROM clock_recompute_rows AS v WHERE d.id = v.id AND d.updated_at = v.seen"
        )
