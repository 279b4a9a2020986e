"""The deadline engine: working-time arithmetic on a calendar, and a dossier's clock ledger.

Pure functions over plain data, so the due date of any dossier can be recomputed from scratch
from its ledger and the calendar, in bulk and in tests.

The clock is continuous working time:

* A limit in **working days** is measured in office days: each working day spans the office day
  (default 08:00-17:00) and counts as one unit; a dossier received at 10:30 on Friday with a
  one-day limit is due at 10:30 on the next working day.
* A limit in **working hours** is measured on the working-hours schedule (default 08:00-12:00 and
  13:00-17:00), lunch excluded.
* Outside office time the clock does not run: a start at 18:05 counts from the next opening.
* A supplement request pauses the clock; the answer either resumes it (time already used still
  counts) or restarts the full limit, per the procedure's rule version (domain.md §1.4).
* An extension (apology and new appointment) replaces the due date once.
"""

from __future__ import annotations

import bisect
import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from zoneinfo import ZoneInfo

VN = ZoneInfo("Asia/Ho_Chi_Minh")
DEFAULT_OFFICE_DAY = (dt.time(8, 0), dt.time(17, 0))
DEFAULT_WORKING_HOURS = ((dt.time(8, 0), dt.time(12, 0)), (dt.time(13, 0), dt.time(17, 0)))
EPOCH = dt.date(2000, 1, 3)  # a Monday; coordinates count working days from here
# Viet Nam keeps UTC+7 all year (no daylight saving since 1975), so for dates from EPOCH on a Unix
# timestamp gives the local day and time by arithmetic (bulk recompute: no datetime objects per event).
_VN_OFFSET_SECONDS = 7 * 3600
_UNIX_DAY_ONE = dt.date(1970, 1, 1).toordinal()


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


@dataclass(frozen=True)
class Calendar:
    """Which days are worked: weekdays minus holidays, plus make-up working weekend days."""

    holidays: frozenset[dt.date] = frozenset()
    working_weekend_days: frozenset[dt.date] = frozenset()
    confirmed_years: frozenset[int] = frozenset()
    office_day: tuple[dt.time, dt.time] = DEFAULT_OFFICE_DAY
    working_hours: tuple[tuple[dt.time, dt.time], ...] = DEFAULT_WORKING_HOURS
    # Sorted exceptions to the Monday-Friday rule, for counting in O(log n).
    _off_weekdays: tuple[dt.date, ...] = field(init=False, repr=False, compare=False)
    _on_weekends: tuple[dt.date, ...] = field(init=False, repr=False, compare=False)
    # Memo of ordinal -> working day (the calendar is immutable, so answers never change).
    _day_at: dict[int, dt.date] = field(init=False, repr=False, compare=False)
    # Memo of day -> ordinal (the bulk recompute asks for the same days again and again).
    _ordinal_of: dict[dt.date, int] = field(init=False, repr=False, compare=False)
    # Memo of Unix day number -> (ordinal, is working day), for the timestamp coordinates.
    _unix_day: dict[int, tuple[int, bool]] = field(init=False, repr=False, compare=False)
    _office_minutes: tuple[int, int] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        off = sorted(d for d in self.holidays if d.weekday() < 5 and d not in self.working_weekend_days)
        on = sorted(d for d in self.working_weekend_days if d.weekday() >= 5)
        object.__setattr__(self, "_off_weekdays", tuple(off))
        object.__setattr__(self, "_on_weekends", tuple(on))
        object.__setattr__(self, "_day_at", {})
        object.__setattr__(self, "_ordinal_of", {})
        object.__setattr__(self, "_unix_day", {})
        object.__setattr__(self, "_office_minutes", tuple(_minutes(t) for t in self.office_day))

    # --- days ---------------------------------------------------------------------------------

    def is_working_day(self, day: dt.date) -> bool:
        if day.weekday() >= 5:
            return day in self.working_weekend_days
        return day not in self.holidays or day in self.working_weekend_days

    def is_confirmed(self, day: dt.date) -> bool:
        return day.year in self.confirmed_years

    def _ordinal(self, day: dt.date) -> int:
        """Return how many working days lie in [EPOCH, day)."""
        found = self._ordinal_of.get(day)
        if found is not None:
            return found
        found = self._ordinal_count(day)
        if len(self._ordinal_of) < 200_000:
            self._ordinal_of[day] = found
        return found

    def _ordinal_count(self, day: dt.date) -> int:
        if day < EPOCH:
            raise ValueError(f"dates before {EPOCH} are not supported")
        days = (day - EPOCH).days
        weeks, rest = divmod(days, 7)
        weekdays = weeks * 5 + min(rest, 5)  # EPOCH is a Monday
        off = bisect.bisect_left(self._off_weekdays, day) - bisect.bisect_left(self._off_weekdays, EPOCH)
        on = bisect.bisect_left(self._on_weekends, day) - bisect.bisect_left(self._on_weekends, EPOCH)
        return weekdays - off + on

    def working_day_at(self, ordinal: int) -> dt.date:
        """Return the working day whose ordinal (working days since EPOCH) is ORDINAL."""
        found = self._day_at.get(ordinal)
        if found is not None:
            return found
        # The smallest day d with ordinal(d + 1) > ORDINAL; ordinal() is monotonic, so bisect.
        lo, hi = 0, ordinal * 2 + 400
        while lo < hi:
            mid = (lo + hi) // 2
            if self._ordinal(EPOCH + dt.timedelta(days=mid + 1)) > ordinal:
                hi = mid
            else:
                lo = mid + 1
        found = EPOCH + dt.timedelta(days=lo)
        if len(self._day_at) < 200_000:
            self._day_at[ordinal] = found
        return found

    def add_working_days(self, day: dt.date, days: int) -> dt.date:
        """Return the date DAYS working days after DAY (DAY itself not counted)."""
        base = self._ordinal(day) + (1 if self.is_working_day(day) else 0)
        return self.working_day_at(base + days - 1) if days > 0 else day

    # --- continuous working time -----------------------------------------------------------------

    def day_coordinate(self, moment: dt.datetime) -> float:
        """Return working-day time at MOMENT: whole working days since EPOCH plus the office-day fraction."""
        local = moment.astimezone(VN)
        return self._day_coordinate_local(local.date(), local.hour * 60 + local.minute, local.second)

    def day_coordinate_of_timestamp(self, seconds: int) -> float:
        """day_coordinate() of the moment SECONDS (whole seconds since 1970-01-01 UTC), without a datetime."""
        days, rest = divmod(int(seconds) + _VN_OFFSET_SECONDS, 86400)
        known = self._unix_day.get(days)
        if known is None:
            day = dt.date.fromordinal(_UNIX_DAY_ONE + days)
            known = (self._ordinal(day), self.is_working_day(day))
            if len(self._unix_day) < 200_000:
                self._unix_day[days] = known
        ordinal, working = known
        if not working:
            return float(ordinal)
        minute, second = divmod(rest, 60)
        start, end = self._office_minutes
        return ordinal + min(max(minute + second / 60 - start, 0), end - start) / (end - start)

    def _day_coordinate_local(self, day: dt.date, minute: int, second: int) -> float:
        start, end = self._office_minutes
        now = minute + second / 60
        if not self.is_working_day(day):
            return float(self._ordinal(day))  # the clock waits for the next working day's opening
        fraction = min(max(now - start, 0), end - start) / (end - start)
        return self._ordinal(day) + fraction

    def from_day_coordinate(self, coordinate: float) -> dt.datetime:
        """Return the moment whose working-day time is COORDINATE (the inverse of day_coordinate)."""
        whole = int(coordinate)
        fraction = coordinate - whole
        start, end = self._office_minutes
        if fraction == 0 and whole > 0:
            # The end of the previous working day and the start of this one are the same instant of
            # working time; an appointment is given at the close of the day the budget runs out.
            day = self.working_day_at(whole - 1)
            return dt.datetime.combine(day, self.office_day[1], tzinfo=VN)
        day = self.working_day_at(whole)
        minutes = start + fraction * (end - start)
        return dt.datetime.combine(day, dt.time(0, 0), tzinfo=VN) + dt.timedelta(minutes=round(minutes, 6))

    def _hours_per_day(self) -> int:
        return sum(_minutes(b) - _minutes(a) for a, b in self.working_hours)

    def hour_coordinate(self, moment: dt.datetime) -> float:
        """Return working minutes since EPOCH on the working-hours schedule (lunch excluded)."""
        local = moment.astimezone(VN)
        return self._hour_coordinate_local(local.date(), local.hour * 60 + local.minute, local.second)

    def hour_coordinate_of_timestamp(self, seconds: int) -> float:
        """hour_coordinate() of the moment SECONDS (whole seconds since 1970-01-01 UTC), without a datetime."""
        day, minute, second = _local_parts(seconds)
        return self._hour_coordinate_local(day, minute, second)

    def _hour_coordinate_local(self, day: dt.date, minute: int, second: int) -> float:
        base = self._ordinal(day) * self._hours_per_day()
        if not self.is_working_day(day):
            return float(base)
        now = minute + second / 60
        used = sum(min(max(now - _minutes(a), 0), _minutes(b) - _minutes(a)) for a, b in self.working_hours)
        return float(base + used)

    def from_hour_coordinate(self, coordinate: float) -> dt.datetime:
        per_day = self._hours_per_day()
        whole, rest = divmod(coordinate, per_day)
        if rest == 0 and whole > 0:
            day = self.working_day_at(int(whole) - 1)
            return dt.datetime.combine(day, self.working_hours[-1][1], tzinfo=VN)
        day = self.working_day_at(int(whole))
        for a, b in self.working_hours:
            span = _minutes(b) - _minutes(a)
            if rest <= span:
                minutes = _minutes(a) + rest
                return dt.datetime.combine(day, dt.time(0, 0), tzinfo=VN) + dt.timedelta(minutes=round(minutes, 6))
            rest -= span
        raise AssertionError("unreachable: rest exceeds the working day")


def _local_parts(seconds: int) -> tuple[dt.date, int, int]:
    """(local day, minute of the day, second of the minute) in Viet Nam of the Unix time SECONDS."""
    days, rest = divmod(int(seconds) + _VN_OFFSET_SECONDS, 86400)
    minute, second = divmod(rest, 60)
    return dt.date.fromordinal(_UNIX_DAY_ONE + days), minute, second


class Unit(StrEnum):
    DAYS = "days"
    HOURS = "hours"


class Kind(StrEnum):
    START = "start"  # valid receipt: the clock starts
    PAUSE = "pause"  # supplement requested: the clock stops
    RESUME = "resume"  # supplement received: the clock runs on (time used still counts)
    RESTART = "restart"  # supplement received under a restart rule: the full limit again
    EXTEND = "extend"  # apology and new appointment: the due date is replaced (at most once)
    STOP = "stop"  # result ready, refused, withdrawn or stopped: time used stops counting, the due date stays


@dataclass(frozen=True)
class ClockEvent:
    kind: Kind
    at: dt.datetime
    new_due: dt.datetime | None = None  # for EXTEND


@dataclass(frozen=True)
class Cutoff:
    """A late-afternoon cut-off: a start at or after AT counts from the next working day's opening."""

    at: dt.time


@dataclass(frozen=True)
class ClockState:
    due: dt.datetime | None  # None while paused or before the start
    paused: bool
    used: float  # working time used so far, in the limit's unit (days or minutes)
    extended: bool
    unconfirmed_calendar: bool  # the due date falls in a year whose calendar nobody confirmed


class LedgerError(ValueError):
    """The ledger breaks a rule (e.g. a second extension, a resume without a pause)."""


def _effective_start(calendar: Calendar, at: dt.datetime, cutoff: Cutoff | None) -> dt.datetime:
    local = at.astimezone(VN)
    if cutoff is not None and calendar.is_working_day(local.date()) and local.time() >= cutoff.at:
        day = calendar.add_working_days(local.date(), 1)
        return dt.datetime.combine(day, calendar.office_day[0], tzinfo=VN)
    return at


def clock_compute(
    *,
    calendar: Calendar,
    events: Sequence[ClockEvent],
    limit: float,
    unit: Unit = Unit.DAYS,
    cutoff: Cutoff | None = None,
    now: dt.datetime | None = None,
) -> ClockState:
    """Replay EVENTS (in time order) and return the clock: due date, pause, time used."""
    to_coord = calendar.day_coordinate if unit is Unit.DAYS else calendar.hour_coordinate

    def start_coord(at: dt.datetime) -> float:
        return to_coord(_effective_start(calendar, at, cutoff))

    return _replay(
        calendar,
        [(e.kind, e.at, e.new_due) for e in sorted(events, key=lambda e: e.at)],
        to_coord=to_coord,
        start_coord=start_coord,
        unit=unit,
        limit=limit,
        now_coord=to_coord(now) if now is not None else None,
    )


def clock_compute_timestamps(
    *,
    calendar: Calendar,
    events: Sequence[tuple[Kind, int, dt.datetime | None]],
    limit: float,
    unit: Unit = Unit.DAYS,
    cutoff: Cutoff | None = None,
    now: int | None = None,
) -> ClockState:
    """clock_compute() for a ledger of (kind, Unix time in whole seconds, new due), already in time order; NOW too.

    For the bulk recompute: no datetime per event. The engine counts whole seconds (day_coordinate
    ignores microseconds), so the answer is the one clock_compute() gives for the same ledger.
    """
    by_day = unit is Unit.DAYS
    to_coord = calendar.day_coordinate_of_timestamp if by_day else calendar.hour_coordinate_of_timestamp
    moment_coord = calendar.day_coordinate if by_day else calendar.hour_coordinate

    def start_coord(seconds: int) -> float:
        if cutoff is None:
            return to_coord(seconds)
        at = dt.datetime.fromtimestamp(seconds, VN)
        return moment_coord(_effective_start(calendar, at, cutoff))

    return _replay(
        calendar,
        events,
        to_coord=to_coord,
        start_coord=start_coord,
        unit=unit,
        limit=limit,
        now_coord=to_coord(now) if now is not None else None,
    )


def _replay(calendar: Calendar, events, *, to_coord, start_coord, unit: Unit, limit: float, now_coord) -> ClockState:
    """The ledger rules, over (kind, moment, new due) in time order; TO_COORD turns a moment into working time."""
    from_coord = calendar.from_day_coordinate if unit is Unit.DAYS else calendar.from_hour_coordinate
    budget = limit if unit is Unit.DAYS else limit * 60
    running_since: float | None = None
    used = 0.0
    extended_due: dt.datetime | None = None
    started = False
    stopped_at: float | None = None
    for kind, at, new_due in events:
        if stopped_at is not None:
            raise LedgerError("the clock was stopped for good")
        if kind is Kind.STOP:
            if not started:
                raise LedgerError("a stop before the start")
            stopped_at = to_coord(at)
        elif kind is Kind.START:
            if started:
                raise LedgerError("the clock was started twice")
            started = True
            running_since = start_coord(at)
        elif kind is Kind.PAUSE:
            if running_since is None:
                raise LedgerError("a pause while the clock is not running")
            used += max(to_coord(at) - running_since, 0.0)
            running_since = None
        elif kind in (Kind.RESUME, Kind.RESTART):
            if not started or running_since is not None:
                raise LedgerError("a resume without a pause")
            if kind is Kind.RESTART:
                used = 0.0
                extended_due = None  # a new clock: an earlier appointment no longer stands
            running_since = to_coord(at)
        elif kind is Kind.EXTEND:
            if extended_due is not None:
                raise LedgerError("the appointment can be rescheduled at most once")
            if new_due is None:
                raise LedgerError("an extension needs the new appointment")
            extended_due = new_due
    if not started:
        return ClockState(None, False, 0.0, False, False)
    if running_since is None:  # paused: nothing runs
        return ClockState(None, True, used, extended_due is not None, False)
    due = extended_due or from_coord(running_since + (budget - used))
    if stopped_at is not None:
        used += max(stopped_at - running_since, 0.0)
    elif now_coord is not None:
        used += max(now_coord - running_since, 0.0)
    unconfirmed = not calendar.is_confirmed(due.astimezone(VN).date())
    return ClockState(due, False, used, extended_due is not None, unconfirmed)


def calendar_from_rows(
    *,
    days: Iterable[tuple[dt.date, bool]],
    confirmed_years: Iterable[int] = (),
    office_day: tuple[dt.time, dt.time] = DEFAULT_OFFICE_DAY,
    working_hours: tuple[tuple[dt.time, dt.time], ...] = DEFAULT_WORKING_HOURS,
) -> Calendar:
    """Build a Calendar from (date, is_working) exceptions to the Monday-Friday rule."""
    holidays, working = set(), set()
    for day, is_working in days:
        (working if is_working else holidays).add(day)
    return Calendar(
        holidays=frozenset(holidays),
        working_weekend_days=frozenset(working),
        confirmed_years=frozenset(confirmed_years),
        office_day=office_day,
        working_hours=working_hours,
    )
