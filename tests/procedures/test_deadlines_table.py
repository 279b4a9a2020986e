"""Hand-worked due dates for 2026-2027: Tết, year ends, compensatory days and administrator-entered days.

The calendar is the one administrators build: 2026 and 2027 seeded from python-holidays (VN), then
reviewed with the days below, loaded by procedures.clock from the tables. Every expected due date was
worked out by hand on a paper calendar and is written literally. Office day 08:00-17:00 (limits in
working days); working hours 08:00-12:00, 13:00-17:00 (limits in hours).

Sources of the days:
- 2026 Tết: 14-22 Feb 2026 for civil servants (domain.md §1.4); the package has the weekdays 16-20 Feb.
- 2026 New Year: 4 days (domain.md §1.4), so Friday 2 Jan 2026 is a swap day off; the make-up
  Saturday 10 Jan 2026 is ILLUSTRATIVE (administrator-entered, not taken from a decision).
- 2026 National Day: Monday 31 Aug off for Saturday 22 Aug worked (the package's label).
- 2027 Tết: python-holidays 0.109's dates, Thursday 4 to Wednesday 10 Feb 2027 ("29 Tết" to "Mùng năm");
  no Prime Minister's decision for 2027 was checked (the year is left unconfirmed).
- 2027: 1 May is a Saturday, compensated Monday 3 May (the package's label "nghỉ bù").
- 24 Nov (Ngày Văn hóa Việt Nam) comes from the package; domain.md says its legal status was not
  confirmed: an administrator would delete the row if it is not a day off.
"""

from __future__ import annotations

import datetime as dt

import pytest

from procedures import clock
from procedures.calendar import calendar_seed_year
from procedures.deadlines import VN, ClockEvent, Cutoff, Kind, Unit, clock_compute
from procedures.models import CalendarYear, Holiday

pytestmark = pytest.mark.django_db


def at(y, m, d, hh=9, mm=0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=VN)


ADMIN_DAYS = [
    (dt.date(2026, 1, 2), "Nghỉ Tết Dương lịch (hoán đổi)", Holiday.Kind.SWAP_OFF),
    (dt.date(2026, 1, 10), "Làm bù cho ngày 02/01/2026 (minh họa)", Holiday.Kind.MAKEUP_WORKING),
]


@pytest.fixture
def calendar(db):
    for year in (2026, 2027):
        calendar_seed_year(year=year)
    for day, name, kind in ADMIN_DAYS:
        Holiday.objects.create(date=day, name=name, kind=kind, source="administrator (illustrative)")
    CalendarYear.objects.filter(year=2026).update(confirmed=True)  # 2027 stays unconfirmed
    return clock.calendar_load()


S, P, R, RS, X, ST = Kind.START, Kind.PAUSE, Kind.RESUME, Kind.RESTART, Kind.EXTEND, Kind.STOP
D, H = Unit.DAYS, Unit.HOURS

# (label, ledger [(kind, at, new_due)], limit, unit, cutoff, expected due, due in an unconfirmed year)
CASES = [
    (
        "Thursday before Tết 2026: Fri 13 (1), Tết and weekends to Sun 22, Mon 23 (2), Tue 24 (3)",
        [(S, at(2026, 2, 12, 10), None)],
        3, D, None, at(2026, 2, 24, 10), False,
    ),
    (
        "Friday afternoon before Tết 2026, one day: Mon 23 Feb",
        [(S, at(2026, 2, 13, 16), None)],
        1, D, None, at(2026, 2, 23, 16), False,
    ),
    (
        "Received on a Tết day (Tue 17 Feb 2026): the clock starts Mon 23 at 08:00; one day ends at its close",
        [(S, at(2026, 2, 17, 10), None)],
        1, D, None, at(2026, 2, 23, 17), False,
    ),
    (
        "Supplement across Tết 2026, resume: 2 of 5 days used (Mon 9-Wed 11), 3 left from Mon 23 14:00",
        [(S, at(2026, 2, 9, 9), None), (P, at(2026, 2, 11, 9), None), (R, at(2026, 2, 23, 14), None)],
        5, D, None, at(2026, 2, 26, 14), False,
    ),
    (
        "Same ledger under a restart rule: 5 full days from Mon 23 Feb 14:00 (Tue..Fri, Mon 2 Mar)",
        [(S, at(2026, 2, 9, 9), None), (P, at(2026, 2, 11, 9), None), (RS, at(2026, 2, 23, 14), None)],
        5, D, None, at(2026, 3, 2, 14), False,
    ),
    (
        "15:00 cut-off of the procedure: received Thu 12 Feb 2026 15:30, counted from Fri 13 08:00",
        [(S, at(2026, 2, 12, 15, 30), None)],
        1, D, dt.time(15, 0), at(2026, 2, 13, 17), False,
    ),
    (
        "Year end 2025/2026: Thu 1 Jan holiday, Fri 2 Jan swap day off (admin), Mon 5 (1), Tue 6 (2)",
        [(S, at(2025, 12, 31, 15), None)],
        2, D, None, at(2026, 1, 6, 15), False,
    ),
    (
        "Make-up Saturday 10 Jan 2026 entered by the administrator (illustrative) counts",
        [(S, at(2026, 1, 9, 11), None)],
        1, D, None, at(2026, 1, 10, 11), False,
    ),
    (
        "Saturday 22 Aug 2026 is worked (package swap for Mon 31 Aug)",
        [(S, at(2026, 8, 21, 9, 30), None)],
        2, D, None, at(2026, 8, 24, 9, 30), False,
    ),
    (
        "National Day 2026: Mon 31 Aug swap, Tue 1 and Wed 2 Sep holidays; Thu 3 (1), Fri 4 (2)",
        [(S, at(2026, 8, 28, 10), None)],
        2, D, None, at(2026, 9, 4, 10), False,
    ),
    (
        "Hùng Kings 2026 on Sunday 26 Apr, compensated Mon 27; then 30 Apr and 1 May: Tue 28, Wed 29, Mon 4 May",
        [(S, at(2026, 4, 24, 11), None)],
        3, D, None, at(2026, 5, 4, 11), False,
    ),
    (
        "Ngày Văn hóa Việt Nam, Tue 24 Nov 2026 (package row): Mon 23 + 1 day is Wed 25",
        [(S, at(2026, 11, 23, 10), None)],
        1, D, None, at(2026, 11, 25, 10), False,
    ),
    (
        "Stop: the due date stays where it was (Mon 5 Jan 2026 + 3 days = Thu 8 Jan)",
        [(S, at(2026, 1, 5, 9), None), (ST, at(2026, 1, 7, 9), None)],
        3, D, None, at(2026, 1, 8, 9), False,
    ),
    (
        "Year end 2026/2027: Thu 31 Dec (1), Fri 1 Jan 2027 holiday, Mon 4 Jan (2); 2027 unconfirmed",
        [(S, at(2026, 12, 30, 14), None)],
        2, D, None, at(2027, 1, 4, 14), True,
    ),
    (
        "Hours across the year end: Thu 31 Dec 16-17 (1 h), Mon 4 Jan 2027 08-11 (3 h)",
        [(S, at(2026, 12, 31, 16), None)],
        4, H, None, at(2027, 1, 4, 11), True,
    ),
    (
        "Hours onto the make-up Saturday 22 Aug 2026: Fri 16-17 (1 h), Sat 08-11 (3 h)",
        [(S, at(2026, 8, 21, 16), None)],
        4, H, None, at(2026, 8, 22, 11), False,
    ),
    (
        "Tết 2027 (package: Thu 4-Wed 10 Feb): Wed 3 Feb + 2 days is Thu 11 (1), Fri 12 (2)",
        [(S, at(2027, 2, 3, 9), None)],
        2, D, None, at(2027, 2, 12, 9), True,
    ),
    (
        "Tết 2027 in hours: Wed 3 Feb 15-17 (2 h), Thu 11 Feb 08-12 (4 h) and 13-15 (2 h)",
        [(S, at(2027, 2, 3, 15), None)],
        8, H, None, at(2027, 2, 11, 15), True,
    ),
    (
        "Pause across Tết 2027: 1.5 of 4 days used (Mon 1 Feb, Tue 2 to 12:30); 2.5 left from Thu 11 08:00",
        [(S, at(2027, 2, 1, 8), None), (P, at(2027, 2, 2, 12, 30), None), (R, at(2027, 2, 11, 8), None)],
        4, D, None, at(2027, 2, 15, 12, 30), True,
    ),
    (
        "1 May 2027 on a Saturday, compensated Mon 3 May; 30 Apr a holiday: Tue 4 (1), Wed 5 (2)",
        [(S, at(2027, 4, 29, 16), None)],
        2, D, None, at(2027, 5, 5, 16), True,
    ),
    (
        "Extension across Tết 2027: the apology's new appointment replaces the due date, once",
        [
            (S, at(2027, 1, 18, 9), None),
            (P, at(2027, 1, 20, 9), None),
            (R, at(2027, 1, 25, 9), None),
            (X, at(2027, 1, 26, 10), at(2027, 2, 19, 16)),
        ],
        10, D, None, at(2027, 2, 19, 16), True,
    ),
    (
        "National Day 2027: Thu 2 and Fri 3 Sep; Wed 1 Sep + 1 day is Mon 6 Sep",
        [(S, at(2027, 9, 1, 14, 45), None)],
        1, D, None, at(2027, 9, 6, 14, 45), True,
    ),
]  # fmt: skip


@pytest.mark.parametrize(
    ("label", "ledger", "limit", "unit", "cutoff", "expected", "unconfirmed"), CASES, ids=[c[0][:60] for c in CASES]
)
def test_hand_worked_due_dates(calendar, label, ledger, limit, unit, cutoff, expected, unconfirmed):
    state = clock_compute(
        calendar=calendar,
        events=[ClockEvent(kind, moment, new_due) for kind, moment, new_due in ledger],
        limit=limit,
        unit=unit,
        cutoff=Cutoff(cutoff) if cutoff else None,
    )
    assert state.due == expected, label
    assert state.unconfirmed_calendar == unconfirmed, label


def test_the_seeded_and_reviewed_days_are_what_the_table_assumes(calendar):
    off = [dt.date(2026, 2, d) for d in range(16, 21)] + [dt.date(2027, 2, d) for d in (4, 5, 8, 9, 10)]
    off += [dt.date(2026, 1, 2), dt.date(2026, 8, 31), dt.date(2026, 4, 27), dt.date(2027, 5, 3)]
    assert not any(calendar.is_working_day(d) for d in off)
    assert calendar.is_working_day(dt.date(2026, 1, 10)) and calendar.is_working_day(dt.date(2026, 8, 22))
    assert calendar.is_working_day(dt.date(2026, 2, 23)) and calendar.is_working_day(dt.date(2027, 2, 11))
    assert Holiday.objects.get(date=dt.date(2027, 2, 4)).name == "29 Tết"  # the package's label


def test_removing_a_package_day_in_review_moves_the_due_date(calendar):
    Holiday.objects.filter(date=dt.date(2026, 11, 24)).delete()  # if 24 Nov is not made a day off
    state = clock_compute(
        calendar=clock.calendar_load(), events=[ClockEvent(Kind.START, at(2026, 11, 23, 10))], limit=1
    )
    assert state.due == at(2026, 11, 24, 10)
