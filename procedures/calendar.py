"""Working-day arithmetic on the holiday table: weekends and public holidays do not count."""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays as holidays_lib
from django.db import transaction
from django.utils import timezone

from procedures.models import Holiday

WEEKEND = {5, 6}  # Saturday, Sunday
OFFICE_OPENS = dt.time(8, 0)
OFFICE_CLOSES = dt.time(17, 0)


def _holiday_dates(start: dt.date, end: dt.date) -> set[dt.date]:
    return set(Holiday.objects.filter(date__gte=start, date__lte=end).values_list("date", flat=True))


def is_working_day(day: dt.date, holidays: set[dt.date] | None = None) -> bool:
    """Return whether DAY is a working day (not a weekend, not a holiday in the table)."""
    if day.weekday() in WEEKEND:
        return False
    if holidays is None:
        holidays = _holiday_dates(day, day)
    return day not in holidays


def add_working_days(day: dt.date, days: int) -> dt.date:
    """Return the date DAYS working days after DAY (DAY itself is not counted)."""
    # A generous window: every year has fewer than 30 holidays, weekends are 2/7 of the days.
    window_end = day + dt.timedelta(days=days * 2 + 60)
    holidays = _holiday_dates(day, window_end)
    current = day
    remaining = days
    while remaining > 0:
        current += dt.timedelta(days=1)
        if current > window_end:  # extremely long limits: widen the window
            window_end = current + dt.timedelta(days=remaining * 2 + 60)
            holidays |= _holiday_dates(current, window_end)
        if is_working_day(current, holidays):
            remaining -= 1
    return current


def next_working_day(day: dt.date) -> dt.date:
    """Return DAY if it is a working day, else the first working day after it."""
    holidays = _holiday_dates(day, day + dt.timedelta(days=40))
    while not is_working_day(day, holidays):
        day += dt.timedelta(days=1)
    return day


def due_at(*, received_at: dt.datetime, working_days: int) -> dt.datetime:
    """Return the appointment for a result due WORKING_DAYS after receipt, in local time.

    The clock starts on the day of receipt when it is a working day within office hours, else at
    the opening of the next working day; the result is due at the same time of day on the Nth
    working day after that start.
    """
    local = timezone.localtime(received_at)
    start_day, start_time = local.date(), local.time().replace(microsecond=0)
    if not is_working_day(start_day) or start_time >= OFFICE_CLOSES:
        start_day = next_working_day(start_day + dt.timedelta(days=1) if start_time >= OFFICE_CLOSES else start_day)
        start_time = OFFICE_OPENS
    elif start_time < OFFICE_OPENS:
        start_time = OFFICE_OPENS
    due_day = add_working_days(start_day, working_days)
    return timezone.make_aware(dt.datetime.combine(due_day, start_time))


@lru_cache(maxsize=8)
def _vn_holidays(year: int) -> dict[dt.date, str]:
    return dict(holidays_lib.country_holidays("VN", years=[year], language="vi").items())


@transaction.atomic
def calendar_seed_year(*, year: int) -> int:
    """Add the statutory holidays of YEAR (python-holidays, VN) to the table; keep admins' edits."""
    created = 0
    for day, name in sorted(_vn_holidays(year).items()):
        _obj, was_created = Holiday.objects.get_or_create(date=day, defaults={"name": name})
        created += int(was_created)
    return created
