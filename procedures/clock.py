"""The legal clock of dossiers: the calendar from the database, and due dates from each dossier's ledger.

The ledger is the dossier's events that carry a clock effect (start, pause, resume, restart, extend,
stop). `dossier_clock_apply` replays it with the pure engine in procedures.deadlines and writes the
result on the dossier, so the due date can always be recomputed from scratch and match.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable
from concurrent.futures import Future, ThreadPoolExecutor

from django.utils import timezone

from procedures import deadlines
from procedures.models import Agency, CalendarYear, Dossier, DossierEvent, Holiday, Procedure

_cache_lock = threading.Lock()
_cache: dict[tuple, deadlines.Calendar] = {}


_FINGERPRINT_SQL = " UNION ALL ".join(
    f"SELECT {i}, COUNT(*), MAX(updated_at) FROM {model._meta.db_table}"  # noqa: S608  # nosec B608  # model tables
    for i, model in enumerate((Holiday, CalendarYear))
)


def _fingerprint() -> tuple:
    """(rows, last change) of the holiday and calendar-year tables, in one round trip (every transition asks)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(_FINGERPRINT_SQL)
        return tuple(value for row in sorted(cursor.fetchall()) for value in row[1:])


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
        ledger = [
            deadlines.ClockEvent(deadlines.Kind(effect), at, new_due)
            for effect, at, new_due in dossier.events.exclude(clock_effect="")
            .order_by("at", "id")
            .values_list("clock_effect", "at", "clock_new_due")
        ]
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
    from django.db import connection

    if connection.vendor == "postgresql":
        return _recompute_open_postgresql(batch=batch)
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


def _recompute_open_postgresql(*, batch: int) -> dict[str, int]:
    """clock_recompute_open() on PostgreSQL: narrow rows, ledgers as Unix seconds, compare and write in SQL.

    Per batch of dossiers: one read of (id, agency, procedure, version, updated_at as text), one read of
    their ledgers with each moment as whole Unix seconds (no datetime parsed per event; the engine counts
    whole seconds anyway), the replay, then COPY of every answer into a temporary table and one UPDATE that
    writes only the rows whose clock differs and that no transition touched since they were read.
    """
    from django.db import connection

    replay = _Replay()
    checked = changed = 0
    last_pk = 0
    # Outside a transaction, a second connection writes batch N while this one reads and replays batch
    # N + 1 (PostgreSQL's index maintenance and the Python replay then use both cores). Inside one (the
    # admin's button, tests), everything stays on the caller's connection and in its transaction.
    writer = None if connection.in_atomic_block else ThreadPoolExecutor(max_workers=1)
    pending: Future | None = None
    try:
        while True:
            last_pk, answers = replay.batch(after=last_pk, size=batch)
            if not answers:
                break
            checked += len(answers)
            if writer is None:
                changed += _write_clock_postgresql(answers)
                continue
            if pending is not None:
                changed += pending.result()
            pending = writer.submit(_write_clock_postgresql, answers)
    finally:
        if writer is not None:
            try:
                if pending is not None:
                    changed += pending.result()
            finally:
                writer.submit(_close_connection).result()  # the writer thread's own connection
                writer.shutdown()
    return {"checked": checked, "changed": changed}


DOSSIERS, EVENTS = Dossier._meta.db_table, DossierEvent._meta.db_table  # fixed table names in the SQL below
WHOLE_SECONDS = "date_part('epoch', date_trunc('second', at))::bigint"  # the event's moment as Unix seconds


class _Replay:
    """Reads open dossiers batch by batch with their ledgers and replays each (calendars, limits cached)."""

    def __init__(self) -> None:
        self.now = int(timezone.now().timestamp())
        self.open_states = [str(s) for s in Dossier.State if s not in Dossier.FINAL_STATES]
        self.kinds = {kind.value: kind for kind in deadlines.Kind}
        self.hours_of = dict(Agency.objects.values_list("pk", "working_hours"))
        self.calendars: dict[int, deadlines.Calendar] = {}
        self.limits: dict[tuple[int, int | None], tuple] = {}

    def limit_for(self, procedure_id: int, version_id: int | None) -> tuple:
        from procedures.models import ProcedureVersion

        key = (procedure_id, version_id)
        found = self.limits.get(key)
        if found is None:
            values = None
            if version_id is not None:
                values = ProcedureVersion.objects.filter(pk=version_id).values_list(*LIMIT_FIELDS).first()
            if values is None or (values[0] is None and values[1] is None):
                values = Procedure.objects.filter(pk=procedure_id).values_list(*LIMIT_FIELDS).get()
            found = self.limits[key] = limit_of(_Limits(values))
        return found

    def calendar_for(self, agency_id: int) -> deadlines.Calendar:
        found = self.calendars.get(agency_id)
        if found is None:
            found = self.calendars[agency_id] = calendar_load(working_hours=self.hours_of.get(agency_id))
        return found

    def batch(self, *, after: int, size: int) -> tuple[int, list[tuple]]:
        """(last id read, answers) for up to SIZE open dossiers with an id above AFTER."""
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT id, agency_id, procedure_id, procedure_version_id, updated_at::text FROM {DOSSIERS} "  # noqa: S608  # nosec B608
                "WHERE state = ANY(%s) AND received_at IS NOT NULL AND id > %s ORDER BY id LIMIT %s",
                [self.open_states, after, size],
            )
            rows = cursor.fetchall()
            if not rows:
                return after, []
            cursor.execute(
                f"SELECT dossier_id, clock_effect, {WHOLE_SECONDS}, clock_new_due FROM {EVENTS} "  # noqa: S608  # nosec B608
                "WHERE dossier_id BETWEEN %s AND %s AND clock_effect <> '' ORDER BY dossier_id, at, id",
                [rows[0][0], rows[-1][0]],
            )
            ledgers: dict[int, list] = {}
            kinds = self.kinds
            for dossier_id, effect, seconds, new_due in cursor.fetchall():
                ledger = ledgers.get(dossier_id)
                if ledger is None:
                    ledger = ledgers[dossier_id] = []
                ledger.append((kinds[effect], seconds, new_due))
        answers = []
        for pk, agency_id, procedure_id, version_id, seen in rows:
            limit, unit, cutoff = self.limit_for(procedure_id, version_id)
            state = deadlines.clock_compute_timestamps(
                calendar=self.calendar_for(agency_id),
                events=ledgers.get(pk, ()),
                limit=limit,
                unit=unit,
                cutoff=cutoff,
                now=self.now,
            )
            dated = state.due is not None
            answers.append(
                (
                    pk,
                    state.due,
                    dated or not state.paused,  # paused with no due date: the stored date stays
                    state.paused,
                    state.unconfirmed_calendar if dated else None,
                    state.extended,
                    state.due if dated and not state.extended else None,
                    seen,
                )
            )
        return rows[-1][0], answers


def _write_clock_postgresql(answers: list[tuple]) -> int:
    """Write the clocks that differ (and whose row is unchanged since it was read); return how many."""
    from django.db import connection

    return _write_clock_rows(connection, answers)


def _close_connection() -> None:
    from django.db import connection

    connection.close()


def _write_clock_rows(connection, answers: list[tuple]) -> int:
    from django.db import transaction

    table = Dossier._meta.db_table
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS clock_recompute_rows")
        cursor.execute(
            "CREATE TEMP TABLE clock_recompute_rows (id bigint, due timestamptz, set_due boolean, paused boolean, "
            "unconfirmed boolean, extended boolean, original timestamptz, seen timestamptz) ON COMMIT DROP"
        )
        with cursor.cursor.copy(
            "COPY clock_recompute_rows (id, due, set_due, paused, unconfirmed, extended, original, seen) FROM STDIN"
        ) as copy:
            for row in answers:
                copy.write_row(row)
        cursor.execute("ANALYZE clock_recompute_rows")
        # nosemgrep: sql-built-from-strings  table name from Dossier._meta, no values spliced
        cursor.execute(
            f"UPDATE {table} AS d SET due_at = CASE WHEN v.set_due THEN v.due ELSE d.due_at END, "  # noqa: S608  # nosec B608  # table name from Dossier._meta
            "clock_paused = v.paused, due_unconfirmed = COALESCE(v.unconfirmed, d.due_unconfirmed), "
            "extended = v.extended, original_due_at = COALESCE(v.original, d.original_due_at) "
            # A dossier that a transition changed since it was read keeps the transition's answer.
            "FROM clock_recompute_rows AS v WHERE d.id = v.id AND d.updated_at = v.seen AND "
            "(CASE WHEN v.set_due THEN v.due ELSE d.due_at END, v.paused, "
            "COALESCE(v.unconfirmed, d.due_unconfirmed), v.extended) "
            "IS DISTINCT FROM (d.due_at, d.clock_paused, d.due_unconfirmed, d.extended)"
        )
        return cursor.rowcount


def _write_clock(updates: list[tuple]) -> None:
    """Write changed clocks on databases other than PostgreSQL (SQLite in development and tests)."""
    objs = []
    for pk, due, paused, unconfirmed, extended, original, _updated in updates:
        d = Dossier(pk=pk)
        d.due_at, d.clock_paused, d.due_unconfirmed, d.extended, d.original_due_at = (
            due, paused, unconfirmed, extended, original,
        )  # fmt: skip
        objs.append(d)
    Dossier.objects.bulk_update(objs, ["due_at", "clock_paused", "due_unconfirmed", "extended", "original_due_at"])
