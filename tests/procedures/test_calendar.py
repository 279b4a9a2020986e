"""Calendar administration (seed, review, confirm, report) and properties of the calendar and the clock ledger.

The properties check procedures.deadlines against an independent reference written only for these
tests: it walks the calendar day by day and, inside a working day, minute by minute.
"""

from __future__ import annotations

import datetime as dt
import re
from io import StringIO

import holidays as holidays_lib
import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.urls import reverse
from django.utils import timezone, translation
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.errors import ApplicationError
from portal.models import AuditRecord
from procedures import clock
from procedures.admin import DueUnconfirmedListFilter
from procedures.calendar import (
    calendar_seed_year,
    calendar_year_confirm,
    calendar_year_reopen,
    dossiers_due_unconfirmed,
    package_days,
)
from procedures.deadlines import VN, Calendar, ClockEvent, Cutoff, Kind, Unit, clock_compute
from procedures.models import CalendarYear, Dossier, Holiday
from tests.conftest import totp_enrol

VN_2026_2027 = frozenset(holidays_lib.country_holidays("VN", years=[2026, 2027]).keys())
OFFICE = [(8 * 60, 17 * 60)]  # the office day, for limits in working days (minutes of the day)
HOURS = [(8 * 60, 12 * 60), (13 * 60, 17 * 60)]  # the working hours, for limits in hours


# --- an independent reference: day by day, minute by minute inside a working day -------------------


class Reference:
    def __init__(self, holidays, working_weekends, unit: Unit):
        self.holidays = set(holidays)
        self.working_weekends = set(working_weekends)
        self.windows = OFFICE if unit is Unit.DAYS else HOURS
        self.per_unit = 540 if unit is Unit.DAYS else 60
        self.used_unit = 540 if unit is Unit.DAYS else 1  # the engine reports days, or minutes for hours

    def is_working(self, day: dt.date) -> bool:
        if day in self.working_weekends:
            return True
        return day.weekday() < 5 and day not in self.holidays

    def _minutes_of(self, day: dt.date):
        """Yield the instants (each the start of one counted minute) of DAY, in order."""
        if not self.is_working(day):
            return
        midnight = dt.datetime.combine(day, dt.time(0, 0), tzinfo=VN)
        for start, end in self.windows:
            for minute in range(start, end):
                yield midnight + dt.timedelta(minutes=minute)

    def count(self, a: dt.datetime, b: dt.datetime) -> int:
        """Counted minutes in [a, b)."""
        total = 0
        day = a.astimezone(VN).date()
        while day <= b.astimezone(VN).date():
            total += sum(1 for m in self._minutes_of(day) if a <= m < b)
            day += dt.timedelta(days=1)
        return total

    def advance(self, a: dt.datetime, k: int) -> dt.datetime:
        """The instant right after the K-th counted minute from A (A itself when K is 0)."""
        if k == 0:
            return a
        day = a.astimezone(VN).date()
        while True:
            for m in self._minutes_of(day):
                if m >= a:
                    k -= 1
                    if k == 0:
                        return m + dt.timedelta(minutes=1)
            day += dt.timedelta(days=1)

    def effective_start(self, at: dt.datetime, cutoff: dt.time | None) -> dt.datetime:
        local = at.astimezone(VN)
        if cutoff is not None and self.is_working(local.date()) and local.time() >= cutoff:
            day = local.date() + dt.timedelta(days=1)
            while not self.is_working(day):
                day += dt.timedelta(days=1)
            return dt.datetime.combine(day, dt.time(0, 0), tzinfo=VN)
        return at

    def replay(self, events, *, limit, cutoff=None, now=None):
        """(due, paused, used (days, or minutes for hours), extended) of the ledger EVENTS."""
        budget = limit * self.per_unit
        running = None
        used = 0
        extended = None
        stopped = None
        for kind, at, new_due in events:
            if kind == "start":
                running = self.effective_start(at, cutoff)
            elif kind == "pause":
                used += self.count(running, at)
                running = None
            elif kind in ("resume", "restart"):
                if kind == "restart":
                    used, extended = 0, None
                running = at
            elif kind == "extend":
                extended = new_due
            elif kind == "stop":
                stopped = at
        if running is None:
            return None, True, used / self.used_unit, extended is not None
        due = extended or self.advance(running, budget - used)
        end = stopped or now
        if end is not None:
            used += self.count(running, end)
        return due, False, used / self.used_unit, extended is not None


# --- properties --------------------------------------------------------------------------------------

dates = st.dates(min_value=dt.date(2026, 1, 1), max_value=dt.date(2027, 12, 31))


@settings(max_examples=200, deadline=None)
@given(extra_off=st.sets(dates, max_size=12), make_up=st.sets(dates, max_size=6), day=dates)
def test_the_calendar_agrees_with_the_reference_on_every_day(extra_off, make_up, day):
    weekends = {d for d in make_up if d.weekday() >= 5}
    calendar = Calendar(holidays=VN_2026_2027 | frozenset(extra_off), working_weekend_days=frozenset(weekends))
    ref = Reference(VN_2026_2027 | extra_off, weekends, Unit.DAYS)
    assert calendar.is_working_day(day) == ref.is_working(day)
    # Working days between two dates: the engine's ordinal difference against a day-by-day count.
    later = day + dt.timedelta(days=45)
    expected = sum(ref.is_working(day + dt.timedelta(days=i)) for i in range(45))
    assert calendar._ordinal(later) - calendar._ordinal(day) == expected


# Times of day around the edges that matter (opening, lunch, the 15:00 cut-off, closing) and any minute.
EDGES = [7 * 60 + 59, 8 * 60, 11 * 60 + 59, 12 * 60, 12 * 60 + 30, 13 * 60, 14 * 60 + 59, 15 * 60, 15 * 60 + 30]
EDGES += [16 * 60 + 59, 17 * 60, 18 * 60 + 5]


def _minute(draw, lo: dt.date, hi: dt.date) -> dt.datetime:
    day = lo + dt.timedelta(days=draw(st.integers(min_value=0, max_value=(hi - lo).days)))
    minute = draw(st.one_of(st.sampled_from(EDGES), st.integers(min_value=0, max_value=24 * 60 - 1)))
    return dt.datetime.combine(day, dt.time(0, 0), tzinfo=VN) + dt.timedelta(minutes=minute)


@st.composite
def ledgers(draw):
    """A legal ledger (start, pauses with resume or restart, at most one extension, a final pause or stop)."""
    unit = draw(st.sampled_from([Unit.DAYS, Unit.HOURS]))
    start = _minute(draw, dt.date(2026, 1, 1), dt.date(2027, 9, 30))
    # Administrator-entered days near the start, where the clock will run over them.
    near = st.integers(min_value=0, max_value=40).map(lambda n: start.date() + dt.timedelta(days=n))
    extra_off = draw(st.sets(near, max_size=4))
    weekends = {d for d in draw(st.sets(near, max_size=4)) if d.weekday() >= 5}
    ref = Reference(VN_2026_2027 | extra_off, weekends, unit)
    limit = draw(st.integers(min_value=1, max_value=6 if unit is Unit.DAYS else 20))
    cutoff = draw(st.sampled_from([None, dt.time(15, 0)]))
    budget = limit * ref.per_unit
    events = [("start", start, None)]
    running = ref.effective_start(start, cutoff)
    used = 0
    extended = False
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        k = draw(st.integers(min_value=0, max_value=budget - used - 1))
        pause_at = ref.advance(running, k)
        if not extended and draw(st.booleans()):
            extend_at = ref.advance(running, draw(st.integers(min_value=0, max_value=k)))
            new_due = extend_at + dt.timedelta(minutes=draw(st.integers(min_value=60, max_value=60 * 24 * 60)))
            events.append(("extend", max(extend_at, events[-1][1]), new_due))
            extended = True
        events.append(("pause", pause_at, None))
        used += k
        resume_at = pause_at + dt.timedelta(minutes=draw(st.integers(min_value=1, max_value=30 * 24 * 60)))
        restart = draw(st.booleans())
        events.append(("restart" if restart else "resume", resume_at, None))
        if restart:
            used, extended = 0, False
        running = resume_at
    ending = draw(st.sampled_from(["running", "paused", "stopped"]))
    if ending != "running":
        at = ref.advance(running, draw(st.integers(min_value=0, max_value=budget - used - 1)))
        events.append(("pause" if ending == "paused" else "stop", max(at, events[-1][1]), None))
    now = events[-1][1] + dt.timedelta(minutes=draw(st.integers(min_value=0, max_value=20 * 24 * 60)))
    confirmed = draw(st.sets(st.sampled_from([2026, 2027, 2028])))
    return ref, unit, limit, cutoff, events, now, confirmed, extra_off, weekends


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(case=ledgers())
def test_the_ledger_agrees_with_the_reference(case):
    ref, unit, limit, cutoff, events, now, confirmed, extra_off, weekends = case
    calendar = Calendar(
        holidays=VN_2026_2027 | frozenset(extra_off),
        working_weekend_days=frozenset(weekends),
        confirmed_years=frozenset(confirmed),
    )
    state = clock_compute(
        calendar=calendar,
        events=[ClockEvent(Kind(kind), at, new_due) for kind, at, new_due in events],
        limit=limit,
        unit=unit,
        cutoff=Cutoff(cutoff) if cutoff else None,
        now=now,
    )
    due, paused, used, extended = ref.replay(events, limit=limit, cutoff=cutoff, now=now)
    assert state.paused == paused
    assert state.extended == extended
    assert state.used == pytest.approx(used, abs=1e-6)
    if paused:
        assert state.due is None
    else:
        assert abs(state.due - due) < dt.timedelta(seconds=1), (state.due, due)
        assert state.unconfirmed_calendar == (due.astimezone(VN).year not in confirmed)


@pytest.mark.django_db
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rows=st.lists(
        st.tuples(dates, st.sampled_from([k for k, _label in Holiday.Kind.choices])),
        max_size=15,
        unique_by=lambda r: r[0],
    ),
    day=dates,
)
def test_the_calendar_loaded_from_the_admin_tables_agrees_with_the_reference(rows, day):
    Holiday.objects.all().delete()
    Holiday.objects.bulk_create([Holiday(date=d, name="minh họa", kind=k) for d, k in rows])
    calendar = clock.calendar_load()
    off = {d for d, k in rows if k != Holiday.Kind.MAKEUP_WORKING}
    on = {d for d, k in rows if k == Holiday.Kind.MAKEUP_WORKING}
    ref = Reference(off, on, Unit.DAYS)
    for i in range(14):
        current = day + dt.timedelta(days=i)
        assert calendar.is_working_day(current) == ref.is_working(current), current


# --- seeding, reviewing, confirming ---------------------------------------------------------------------


@pytest.fixture
def admin_user(db):
    return totp_enrol(get_user_model().objects.create_superuser("quan-tri", "admin@example.vn", "admin-password-2026"))


@pytest.fixture
def admin_client(client, admin_user):
    client.force_login(admin_user)
    client.cookies["portal_language"] = "en"  # messages are asserted in English
    return client


@pytest.mark.django_db
def test_seeding_adds_the_package_days_with_their_kinds_and_leaves_the_year_unconfirmed():
    added = calendar_seed_year(year=2026)
    assert added == Holiday.objects.filter(date__year=2026).count() == len(package_days(2026))
    kinds = dict(Holiday.objects.values_list("date", "kind"))
    assert kinds[dt.date(2026, 2, 17)] == Holiday.Kind.HOLIDAY  # Tết
    assert kinds[dt.date(2026, 4, 27)] == Holiday.Kind.COMPENSATORY  # Hùng Kings on a Sunday
    assert kinds[dt.date(2026, 8, 31)] == Holiday.Kind.SWAP_OFF  # off, for Saturday 22 Aug worked
    assert kinds[dt.date(2026, 8, 22)] == Holiday.Kind.MAKEUP_WORKING
    year = CalendarYear.objects.get(year=2026)
    assert year.seeded_at is not None and not year.confirmed
    assert AuditRecord.objects.filter(action="calendar.seed", object_id=str(year.pk)).count() == 1
    calendar = clock.calendar_load()
    assert calendar.is_working_day(dt.date(2026, 8, 22)) and not calendar.is_working_day(dt.date(2026, 8, 31))


@pytest.mark.django_db
def test_seeding_keeps_an_administrators_rows_and_adds_nothing_twice():
    Holiday.objects.create(date=dt.date(2026, 2, 16), name="Nghỉ Tết (quyết định)", kind=Holiday.Kind.HOLIDAY)
    first = calendar_seed_year(year=2026)
    assert calendar_seed_year(year=2026) == 0
    assert first == len(package_days(2026)) - 1
    assert Holiday.objects.get(date=dt.date(2026, 2, 16)).name == "Nghỉ Tết (quyết định)"


@pytest.mark.django_db
def test_a_confirmed_year_is_not_seeded_again_until_it_is_reopened(admin_user):
    calendar_seed_year(year=2026)
    calendar_year_confirm(year=2026, actor=admin_user)
    with translation.override("en"), pytest.raises(ApplicationError, match="reopen"):
        calendar_seed_year(year=2026)
    with pytest.raises(ApplicationError):
        calendar_year_reopen(year=2026, actor=admin_user, reason=" ")
    calendar_year_reopen(year=2026, actor=admin_user, reason="Quyết định mới đổi ngày nghỉ bù")
    assert calendar_seed_year(year=2026) == 0
    assert AuditRecord.objects.filter(action="calendar.reopen", reason__startswith="Quyết định").exists()


@pytest.mark.django_db
def test_a_year_without_days_cannot_be_confirmed(admin_user):
    CalendarYear.objects.create(year=2030)
    with translation.override("en"), pytest.raises(ApplicationError, match="no days"):
        calendar_year_confirm(year=2030, actor=admin_user)
    with pytest.raises(ApplicationError):
        calendar_seed_year(year=1999)


@pytest.mark.django_db
def test_the_administrator_seeds_reviews_and_confirms_in_the_admin(admin_client, admin_user):
    changelist = reverse("admin:procedures_calendaryear_changelist")
    page = admin_client.get(changelist)
    assert page.status_code == 200 and reverse("admin:procedures_calendaryear_seed") in page.content.decode()
    assert admin_client.get(reverse("admin:procedures_calendaryear_seed")).status_code == 405
    response = admin_client.post(reverse("admin:procedures_calendaryear_seed"), {"year": "2027"}, follow=True)
    assert response.status_code == 200
    year = CalendarYear.objects.get(year=2027)
    assert year.seeded_at is not None and not year.confirmed
    assert Holiday.objects.filter(date=dt.date(2027, 2, 8), kind=Holiday.Kind.HOLIDAY).exists()  # Tết 2027
    # Review: a make-up working Saturday from the year's decision (illustrative date).
    response = admin_client.post(
        reverse("admin:procedures_holiday_add"),
        {"date": "2027-02-20", "name": "Làm bù (minh họa)", "kind": Holiday.Kind.MAKEUP_WORKING, "source": "QĐ"},
    )
    assert response.status_code == 302
    assert AuditRecord.objects.filter(action="calendar.day_add").count() == 1
    # A make-up working day on a weekday is refused with a clear message.
    response = admin_client.post(
        reverse("admin:procedures_holiday_add"),
        {"date": "2027-02-17", "name": "sai", "kind": Holiday.Kind.MAKEUP_WORKING, "source": ""},
    )
    assert response.status_code == 200
    assert "A make-up working day must be a Saturday or a Sunday." in response.content.decode()
    # Confirm (action): who and when, audited.
    response = admin_client.post(changelist, {"action": "confirm_selected", "_selected_action": [year.pk]}, follow=True)
    year.refresh_from_db()
    assert year.confirmed and year.confirmed_by == admin_user and year.confirmed_at is not None
    assert AuditRecord.objects.filter(action="calendar.confirm", actor=admin_user).count() == 1
    # A bad year in the seed form: a clear message, nothing created.
    admin_client.post(reverse("admin:procedures_calendaryear_seed"), {"year": "abc"})
    assert CalendarYear.objects.count() == 1
    for name in ("holiday", "calendaryear", "ruleversion", "department", "notificationlog"):
        assert admin_client.get(reverse(f"admin:procedures_{name}_changelist")).status_code == 200


@pytest.mark.django_db
def test_the_seed_command_is_the_same_explicit_step(admin_user):
    out = StringIO()
    call_command("calendar_seed", "2026", stdout=out)
    assert out.getvalue().startswith(f"2026: {len(package_days(2026))} day(s) added")
    assert not CalendarYear.objects.get(year=2026).confirmed
    calendar_year_confirm(year=2026, actor=admin_user)
    with pytest.raises(CommandError, match="reopen"):
        call_command("calendar_seed", "2026", stdout=StringIO())


# --- an admin edit changes due dates; the recompute; the unconfirmed report ------------------------------


def _a_free_weekday_after(day: dt.date) -> dt.date:
    calendar = clock.calendar_load()
    while not calendar.is_working_day(day):
        day += dt.timedelta(days=1)
    return day


@pytest.mark.django_db
def test_an_admin_edit_changes_due_dates_computed_afterwards_and_the_recompute_applies_it(
    received_dossier, admin_client
):
    received_dossier.refresh_from_db()
    before = received_dossier.due_at
    calendar = clock.calendar_load()
    day_off = _a_free_weekday_after(timezone.localdate() + dt.timedelta(days=10))
    response = admin_client.post(
        reverse("admin:procedures_holiday_add"),
        {"date": day_off.isoformat(), "name": "Nghỉ (minh họa)", "kind": Holiday.Kind.SWAP_OFF, "source": ""},
    )
    assert response.status_code == 302
    after_edit = clock.calendar_load()
    assert after_edit is not calendar and not after_edit.is_working_day(day_off)
    state = clock.clock_compute_for(received_dossier, ledger=clock.ledger_of(received_dossier.events.all()))
    # One working day later. The ledger engine counts whole seconds (it ignores microseconds), so its
    # answer and the direct sum may differ by less than a second.
    assert abs(state.due - clock.add_working_days_at(after_edit, before, 1)) < dt.timedelta(seconds=1)
    # The stored due date changes only when an administrator recomputes (button or command).
    received_dossier.refresh_from_db()
    assert received_dossier.due_at == before
    response = admin_client.post(reverse("admin:procedures_calendaryear_recompute"), follow=True)
    assert "Due dates recomputed: 1 open dossier(s) checked, 1 changed." in response.content.decode()
    received_dossier.refresh_from_db()
    assert received_dossier.due_at == state.due
    # Deleting the day through the admin takes it back.
    holiday = Holiday.objects.get(date=day_off)
    response = admin_client.post(reverse("admin:procedures_holiday_delete", args=[holiday.pk]), {"post": "yes"})
    assert response.status_code == 302
    assert AuditRecord.objects.filter(action="calendar.day_delete").count() == 1
    out = StringIO()
    call_command("deadlines_recompute", stdout=out)
    assert out.getvalue().strip() == "checked 1, changed 1"
    received_dossier.refresh_from_db()
    assert received_dossier.due_at == before


@pytest.mark.django_db
def test_a_due_date_in_an_unconfirmed_year_is_flagged_and_reported_until_the_year_is_confirmed(
    received_dossier, admin_client, admin_user
):
    received_dossier.refresh_from_db()
    due_year = timezone.localtime(received_dossier.due_at).year
    assert received_dossier.due_unconfirmed
    assert list(dossiers_due_unconfirmed()) == [received_dossier]
    out = StringIO()
    call_command("calendar_unconfirmed", stdout=out)
    assert re.search(rf"{re.escape(received_dossier.code)}\t.*\t{due_year}-", out.getvalue())
    page = admin_client.get(reverse("admin:procedures_calendaryear_unconfirmed")).content.decode()
    assert received_dossier.code in page
    assert (
        received_dossier.code
        not in admin_client.get(
            reverse("admin:procedures_calendaryear_unconfirmed"), {"year": str(due_year + 5)}
        ).content.decode()
    )
    # The list filter for dossiers.
    flt = DueUnconfirmedListFilter(None, {"due_calendar": ["unconfirmed"]}, Dossier, None)
    assert list(flt.queryset(None, Dossier.objects.all())) == [received_dossier]
    # Seed and confirm every year between now and the due date: the flag clears, the report empties.
    for year in range(timezone.localdate().year, due_year + 1):
        calendar_seed_year(year=year)
        calendar_year_confirm(year=year, actor=admin_user)
    received_dossier.refresh_from_db()
    assert not received_dossier.due_unconfirmed
    assert list(dossiers_due_unconfirmed()) == []
    flt = DueUnconfirmedListFilter(None, {"due_calendar": ["confirmed"]}, Dossier, None)
    assert list(flt.queryset(None, Dossier.objects.all())) == [received_dossier]
    # Reopening the year flags it again (a queryset update; the lifecycle alone saves dossiers).
    calendar_year_reopen(year=due_year, actor=admin_user, reason="Lịch nghỉ thay đổi")
    received_dossier.refresh_from_db()
    assert received_dossier.due_unconfirmed
