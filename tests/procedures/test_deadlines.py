"""The deadline engine against hand-worked 2026-2027 cases and an independent day-by-day counter."""

from __future__ import annotations

import datetime as dt

import holidays as holidays_lib
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from procedures.deadlines import (
    VN,
    Calendar,
    ClockEvent,
    Cutoff,
    Kind,
    LedgerError,
    Unit,
    calendar_from_rows,
    clock_compute,
    clock_compute_timestamps,
)

VN_2026_2027 = frozenset(holidays_lib.country_holidays("VN", years=[2026, 2027]).keys())


def at(y, m, d, hh=9, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=VN)


def official(**kw) -> Calendar:
    return Calendar(**{"holidays": VN_2026_2027, **kw})


# --- an independent reference, written only for the tests --------------------------------------


def ref_is_working(day: dt.date, holidays: set[dt.date], working_weekends: set[dt.date]) -> bool:
    if day in working_weekends:
        return True
    return day.weekday() < 5 and day not in holidays


def ref_add_working_days(day, n, holidays, working_weekends):
    count = 0
    while count < n:
        day += dt.timedelta(days=1)
        if ref_is_working(day, holidays, working_weekends):
            count += 1
    return day


def ref_due(start, pauses, budget_days, holidays, working_weekends):
    """Walk minute by minute through office time (08:00-17:00), skipping paused intervals."""
    budget = round(budget_days * 540)
    moment = start.replace(second=0, microsecond=0)
    counted = 0
    while True:
        local = moment.astimezone(VN)
        in_office = dt.time(8, 0) <= local.time() < dt.time(17, 0)
        paused = any(a <= moment < b for a, b in pauses)
        if in_office and not paused and ref_is_working(local.date(), holidays, working_weekends):
            counted += 1
            if counted == budget:
                return moment + dt.timedelta(minutes=1)
        moment += dt.timedelta(minutes=1)


# --- hand-worked cases ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("received", "days", "expected"),
    [
        # Thursday before Tết 2026 (16-20 Feb off): Fri 13 (1), Mon 23 (2), Tue 24 (3).
        (at(2026, 2, 12, 10), 3, at(2026, 2, 24, 10)),
        # Across the year end: Thu 31 Dec (1), Fri 1 Jan 2027 is New Year, Mon 4 Jan (2).
        (at(2026, 12, 30, 14), 2, at(2027, 1, 4, 14)),
        # Hùng Kings 2026 falls on Sunday 26 Apr, compensated Monday 27 Apr: Tue 28 (1), Wed 29 (2).
        (at(2026, 4, 24, 11), 2, at(2026, 4, 29, 11)),
        # 30 Apr and 1 May 2026 (Thu, Fri): Wed 29 Apr + 1 day is Mon 4 May.
        (at(2026, 4, 29, 9, 30), 1, at(2026, 5, 4, 9, 30)),
        # Received Friday evening: the clock starts Monday morning; 2 days end Tuesday at closing.
        (at(2026, 11, 27, 18, 5), 2, at(2026, 12, 1, 17)),
        # Received on a Sunday: same as Monday's opening.
        (at(2026, 11, 29, 10), 1, at(2026, 11, 30, 17)),
    ],
)
def test_due_dates_across_tet_year_ends_and_compensated_days(received, days, expected):
    state = clock_compute(calendar=official(), events=[ClockEvent(Kind.START, received)], limit=days)
    assert state.due == expected


def test_a_make_up_working_saturday_entered_by_an_administrator_counts():
    saturday = dt.date(2026, 3, 7)
    calendar = official(working_weekend_days=frozenset({saturday}))
    state = clock_compute(calendar=calendar, events=[ClockEvent(Kind.START, at(2026, 3, 6, 9))], limit=1)
    assert state.due == at(2026, 3, 7, 9)


def test_a_swap_day_off_entered_by_an_administrator_does_not_count():
    calendar = official(holidays=VN_2026_2027 | {dt.date(2026, 3, 9)})
    state = clock_compute(calendar=calendar, events=[ClockEvent(Kind.START, at(2026, 3, 6, 9))], limit=1)
    assert state.due == at(2026, 3, 10, 9)


def test_the_afternoon_cut_off_is_a_setting_and_moves_the_start_to_the_next_working_day():
    events = [ClockEvent(Kind.START, at(2026, 2, 12, 15, 30))]
    without = clock_compute(calendar=official(), events=events, limit=1)
    with_cutoff = clock_compute(calendar=official(), events=events, limit=1, cutoff=Cutoff(dt.time(15, 0)))
    assert without.due == at(2026, 2, 13, 15, 30)
    assert with_cutoff.due == at(2026, 2, 13, 17)  # counted from Friday's opening: the whole Friday


def test_a_supplement_pauses_the_clock_and_the_answer_resumes_it():
    events = [
        ClockEvent(Kind.START, at(2026, 11, 2, 9)),
        ClockEvent(Kind.PAUSE, at(2026, 11, 4, 9)),  # two days used
        ClockEvent(Kind.RESUME, at(2026, 11, 9, 13, 30)),
    ]
    paused = clock_compute(calendar=official(), events=events[:2], limit=5)
    assert paused.paused
    assert paused.due is None
    assert paused.used == pytest.approx(2.0)
    resumed = clock_compute(calendar=official(), events=events, limit=5)
    assert resumed.due == at(2026, 11, 12, 13, 30)


def test_under_a_restart_rule_the_answer_restarts_the_full_limit():
    events = [
        ClockEvent(Kind.START, at(2026, 11, 2, 9)),
        ClockEvent(Kind.PAUSE, at(2026, 11, 4, 9)),
        ClockEvent(Kind.RESTART, at(2026, 11, 9, 13, 30)),
    ]
    assert clock_compute(calendar=official(), events=events, limit=5).due == at(2026, 11, 16, 13, 30)


def test_an_extension_sets_one_new_appointment_and_never_two():
    start = ClockEvent(Kind.START, at(2026, 11, 2, 9))
    first = ClockEvent(Kind.EXTEND, at(2026, 11, 5, 9), new_due=at(2026, 11, 20, 16))
    state = clock_compute(calendar=official(), events=[start, first], limit=5)
    assert state.due == at(2026, 11, 20, 16)
    assert state.extended
    second = ClockEvent(Kind.EXTEND, at(2026, 11, 6, 9), new_due=at(2026, 11, 27, 16))
    with pytest.raises(LedgerError, match="at most once"):
        clock_compute(calendar=official(), events=[start, first, second], limit=5)


def test_illegal_ledgers_are_refused():
    start = ClockEvent(Kind.START, at(2026, 11, 2, 9))
    with pytest.raises(LedgerError):
        clock_compute(calendar=official(), events=[start, ClockEvent(Kind.RESUME, at(2026, 11, 3))], limit=5)
    with pytest.raises(LedgerError):
        clock_compute(calendar=official(), events=[start, start], limit=5)


def test_limits_in_working_hours_skip_lunch_and_nights():
    calendar = official()
    state = clock_compute(
        calendar=calendar, events=[ClockEvent(Kind.START, at(2026, 11, 2, 10))], limit=8, unit=Unit.HOURS
    )
    assert state.due == at(2026, 11, 3, 10)  # 10-12, 13-17 on Monday, 8-10 on Tuesday
    state = clock_compute(
        calendar=calendar, events=[ClockEvent(Kind.START, at(2026, 11, 2, 11, 30))], limit=4, unit=Unit.HOURS
    )
    assert state.due == at(2026, 11, 2, 16, 30)


def test_a_due_date_in_a_year_nobody_confirmed_is_flagged():
    calendar = official(confirmed_years=frozenset({2026}))
    state = clock_compute(calendar=calendar, events=[ClockEvent(Kind.START, at(2026, 12, 30, 9))], limit=5)
    assert state.due.year == 2027
    assert state.unconfirmed_calendar
    inside = clock_compute(calendar=calendar, events=[ClockEvent(Kind.START, at(2026, 11, 2, 9))], limit=5)
    assert not inside.unconfirmed_calendar


def test_calendar_from_rows_splits_days_off_and_make_up_days():
    calendar = calendar_from_rows(days=[(dt.date(2026, 2, 16), False), (dt.date(2026, 3, 7), True)])
    assert not calendar.is_working_day(dt.date(2026, 2, 16))
    assert calendar.is_working_day(dt.date(2026, 3, 7))


# --- properties against the reference ------------------------------------------------------------

days_2026_2027 = st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2027, 12, 31))


@settings(max_examples=150, deadline=None)
@given(
    start=days_2026_2027,
    n=st.integers(min_value=0, max_value=250),
    extra_off=st.sets(days_2026_2027, max_size=15),
    make_up=st.sets(days_2026_2027, max_size=6),
)
def test_add_working_days_agrees_with_a_day_by_day_count(start, n, extra_off, make_up):
    holidays = set(VN_2026_2027) | extra_off
    working_weekends = {d for d in make_up if d.weekday() >= 5}
    calendar = Calendar(holidays=frozenset(holidays), working_weekend_days=frozenset(working_weekends))
    assert calendar.add_working_days(start, n) == ref_add_working_days(start, n, holidays, working_weekends)
    expected_working = ref_is_working(start, holidays, working_weekends)
    assert calendar.is_working_day(start) == expected_working


minutes_of_day = st.integers(min_value=0, max_value=24 * 60 - 1)


@settings(max_examples=40, deadline=None)
@given(
    start_day=st.dates(min_value=dt.date(2026, 1, 5), max_value=dt.date(2027, 11, 30)),
    start_minute=minutes_of_day,
    limit=st.integers(min_value=1, max_value=6),
    pause_after=st.integers(min_value=0, max_value=3 * 24 * 60),
    pause_length=st.integers(min_value=1, max_value=10 * 24 * 60),
)
def test_due_date_with_a_pause_agrees_with_a_minute_by_minute_walk(
    start_day, start_minute, limit, pause_after, pause_length
):
    start = dt.datetime.combine(start_day, dt.time(0, 0), tzinfo=VN) + dt.timedelta(minutes=start_minute)
    pause = start + dt.timedelta(minutes=pause_after)
    resume = pause + dt.timedelta(minutes=pause_length)
    events = [ClockEvent(Kind.START, start), ClockEvent(Kind.PAUSE, pause), ClockEvent(Kind.RESUME, resume)]
    state = clock_compute(calendar=official(), events=events, limit=limit)
    expected = ref_due(start, [(pause, resume)], limit, set(VN_2026_2027), set())
    if pause >= expected:  # the clock ran out before the supplement request: compare without it
        state = clock_compute(calendar=official(), events=events[:1], limit=limit)
    # The engine gives the close of the day where the reference gives the next opening: same instant.
    assert _same_working_instant(state.due, expected)


def _same_working_instant(engine: dt.datetime, reference: dt.datetime) -> bool:
    if engine == reference:
        return True
    calendar = official()
    return calendar.day_coordinate(engine) == pytest.approx(calendar.day_coordinate(reference), abs=1e-6)


# --- the bulk recompute's timestamp path gives exactly what the datetime path gives ---------------


@settings(max_examples=200, deadline=None)
@given(seconds=st.integers(min_value=946_857_600, max_value=1_830_000_000))  # 2000-01-03 .. 2027-12
def test_coordinates_of_a_unix_timestamp_equal_those_of_the_datetime(seconds):
    calendar = official(working_weekend_days=frozenset({dt.date(2026, 2, 28)}))
    moment = dt.datetime.fromtimestamp(seconds, VN)
    assert calendar.day_coordinate_of_timestamp(seconds) == calendar.day_coordinate(moment)
    assert calendar.hour_coordinate_of_timestamp(seconds) == calendar.hour_coordinate(moment)


@settings(max_examples=100, deadline=None)
@given(
    start=st.integers(min_value=1_767_200_000, max_value=1_820_000_000),  # 2026 .. 2027
    pause_after=st.integers(min_value=0, max_value=5 * 86400),
    pause_length=st.integers(min_value=1, max_value=20 * 86400),
    micro=st.integers(min_value=0, max_value=999_999),
    restart=st.booleans(),
    unit=st.sampled_from([Unit.DAYS, Unit.HOURS]),
    cutoff=st.sampled_from([None, Cutoff(dt.time(15, 0))]),
)
def test_the_timestamp_replay_equals_the_datetime_replay(
    start, pause_after, pause_length, micro, restart, unit, cutoff
):
    calendar = official()
    moments = [start, start + pause_after, start + pause_after + pause_length]
    kinds = [Kind.START, Kind.PAUSE, Kind.RESTART if restart else Kind.RESUME]
    # The stored moments carry microseconds; the engine counts whole seconds on both paths.
    events = [
        ClockEvent(kind, dt.datetime.fromtimestamp(s, VN) + dt.timedelta(microseconds=micro))
        for kind, s in zip(kinds, moments, strict=True)
    ]
    now = dt.datetime.fromtimestamp(moments[-1] + 86400, VN)
    for n in (1, 2, 3):
        expected = clock_compute(calendar=calendar, events=events[:n], limit=5, unit=unit, cutoff=cutoff, now=now)
        got = clock_compute_timestamps(
            calendar=calendar,
            events=[(k, s, None) for k, s in zip(kinds[:n], moments[:n], strict=True)],
            limit=5,
            unit=unit,
            cutoff=cutoff,
            now=int(now.timestamp()),
        )
        assert got == expected
