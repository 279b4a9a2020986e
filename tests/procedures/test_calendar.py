from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from procedures.calendar import add_working_days, calendar_seed_year, due_at, is_working_day
from procedures.models import Holiday

VN = ZoneInfo("Asia/Ho_Chi_Minh")

pytestmark = pytest.mark.django_db


def test_weekends_do_not_count():
    assert add_working_days(dt.date(2026, 11, 27), 1) == dt.date(2026, 11, 30)  # Friday -> Monday


def test_tet_2026_from_the_seeded_calendar_does_not_count():
    calendar_seed_year(year=2026)
    assert Holiday.objects.filter(date=dt.date(2026, 2, 17)).exists()
    assert not is_working_day(dt.date(2026, 2, 17))
    # Friday 13 Feb + 1 working day: the weekend, then Tết 16-20 Feb, then the weekend again.
    assert add_working_days(dt.date(2026, 2, 13), 1) == dt.date(2026, 2, 23)


def test_seeding_keeps_an_administrators_edit_and_is_idempotent():
    Holiday.objects.create(date=dt.date(2026, 2, 16), name="Nghỉ Tết (điều chỉnh)")
    first = calendar_seed_year(year=2026)
    assert calendar_seed_year(year=2026) == 0
    assert first > 5
    assert Holiday.objects.get(date=dt.date(2026, 2, 16)).name == "Nghỉ Tết (điều chỉnh)"


def test_an_extra_day_off_set_by_an_administrator_counts():
    Holiday.objects.create(date=dt.date(2026, 11, 30), name="Ngày nghỉ bù (minh họa)")
    assert add_working_days(dt.date(2026, 11, 27), 1) == dt.date(2026, 12, 1)


def test_a_dossier_received_after_office_hours_starts_the_next_working_morning():
    evening = dt.datetime(2026, 11, 27, 18, 5, tzinfo=VN)  # Friday evening
    assert timezone.localtime(due_at(received_at=evening, working_days=2)) == dt.datetime(2026, 12, 2, 8, 0, tzinfo=VN)
