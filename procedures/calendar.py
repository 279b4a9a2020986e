"""Administration of the working-day calendar: seed a year from the holidays package, review, confirm.

The due-date arithmetic lives in procedures.deadlines (pure) and procedures.clock (from the tables).
Here are the administrator's steps (domain.md §1.4: one calendar table per year, editable by admins):

1. seed: add the statutory days of a year from python-holidays (VN) as rows of the `Holiday` table,
   record `CalendarYear.seeded_at`, and leave the year unconfirmed;
2. review: an administrator adds compensatory days, swap days and make-up working Saturdays that the
   Prime Minister's decision fixes (the package does not know all of them);
3. confirm: the administrator confirms the year (who and when are recorded and audited).

A dossier whose due date falls in a year that nobody confirmed is flagged (`Dossier.due_unconfirmed`)
and listed by `dossiers_due_unconfirmed()`.
"""

from __future__ import annotations

import datetime as dt
import re

import holidays as holidays_lib
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit import audit_record
from portal.errors import ApplicationError
from procedures.models import CalendarYear, Dossier, Holiday

# python-holidays labels a swapped day off "Ngày nghỉ (thay cho ngày DD/MM/YYYY)": the day named in
# the label is the weekend day worked instead (e.g. 31/08/2026 off for Saturday 22/08/2026 worked).
_SWAP_LABEL = re.compile(r"thay cho ngày (\d{2})/(\d{2})/(\d{4})")
_COMPENSATORY_LABEL = "(nghỉ bù)"
PACKAGE_SOURCE = f"python-holidays {holidays_lib.__version__} (VN)"
FIRST_YEAR, LAST_YEAR = 2000, 2100


def package_days(year: int) -> list[tuple[dt.date, str, str]]:
    """(date, Vietnamese name, kind) of YEAR as the holidays package knows them, with make-up days."""
    days: dict[dt.date, tuple[str, str]] = {}
    for day, name in sorted(holidays_lib.country_holidays("VN", years=[year], language="vi").items()):
        match = _SWAP_LABEL.search(name)
        if match:
            days[day] = (name, Holiday.Kind.SWAP_OFF)
            worked = dt.date(int(match[3]), int(match[2]), int(match[1]))
            if worked.weekday() >= 5 and worked.year == year:
                label = _("Make-up working day (for %(day)s)") % {"day": f"{day:%d/%m/%Y}"}
                days.setdefault(worked, (label, Holiday.Kind.MAKEUP_WORKING))
        elif _COMPENSATORY_LABEL in name:
            days[day] = (name, Holiday.Kind.COMPENSATORY)
        else:
            days[day] = (name, Holiday.Kind.HOLIDAY)
    return [(day, name, kind) for day, (name, kind) in sorted(days.items())]


def _check_year(year: int) -> None:
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise ApplicationError(
            _("Give a year between %(first)d and %(last)d.") % {"first": FIRST_YEAR, "last": LAST_YEAR},
            extra={"field": "year"},
        )


def calendar_seed_year(*, year: int, actor=None) -> int:
    """Add the statutory days of YEAR from the package; keep existing rows; the year stays unconfirmed.

    Returns how many calendar days were added. Seeding a confirmed year is refused: reopen it first.
    """
    _check_year(year)
    with transaction.atomic():
        calendar_year, _created = CalendarYear.objects.select_for_update().get_or_create(year=year)
        if calendar_year.confirmed:
            raise ApplicationError(
                _("The calendar of %(year)d is confirmed; reopen it before seeding it again.") % {"year": year},
                status=409,
            )
        existing = set(
            Holiday.objects.filter(date__year=year).values_list("date", flat=True)
        )  # an administrator's rows win over the package
        new = [
            Holiday(date=day, name=name[:200], kind=kind, source=PACKAGE_SOURCE)
            for day, name, kind in package_days(year)
            if day not in existing
        ]
        Holiday.objects.bulk_create(new)
        calendar_year.seeded_at = timezone.now()
        calendar_year.save(update_fields=["seeded_at", "updated_at"])
        audit_record(
            action="calendar.seed",
            actor=actor,
            obj=calendar_year,
            data={"year": year, "added": len(new), "source": PACKAGE_SOURCE},
        )
    return len(new)


def calendar_year_confirm(*, year: int, actor) -> CalendarYear:
    """Record that an administrator reviewed YEAR's days off and make-up days and confirms them."""
    _check_year(year)
    with transaction.atomic():
        calendar_year = CalendarYear.objects.select_for_update().filter(year=year).first()
        if calendar_year is None or not Holiday.objects.filter(date__year=year).exists():
            raise ApplicationError(
                _("The calendar of %(year)d has no days yet: seed it or enter its days first.") % {"year": year},
                status=409,
            )
        if calendar_year.confirmed:
            raise ApplicationError(_("The calendar of %(year)d is already confirmed.") % {"year": year}, status=409)
        calendar_year.confirmed = True
        calendar_year.confirmed_at = timezone.now()
        calendar_year.confirmed_by = actor if getattr(actor, "is_authenticated", False) else None
        calendar_year.save(update_fields=["confirmed", "confirmed_at", "confirmed_by", "updated_at"])
        cleared = _flag_due_in_year(year, unconfirmed=False)
        audit_record(
            action="calendar.confirm",
            actor=actor,
            obj=calendar_year,
            data={"year": year, "days": Holiday.objects.filter(date__year=year).count(), "dossiers": cleared},
        )
    return calendar_year


def calendar_year_reopen(*, year: int, actor, reason: str) -> CalendarYear:
    """Withdraw the confirmation of YEAR (e.g. a late decision moves a day); the reason is audited."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError(_("Reason: this field is required."), extra={"field": "reason"})
    with transaction.atomic():
        calendar_year = CalendarYear.objects.select_for_update().filter(year=year, confirmed=True).first()
        if calendar_year is None:
            raise ApplicationError(_("The calendar of %(year)d is not confirmed.") % {"year": year}, status=409)
        calendar_year.confirmed = False
        calendar_year.save(update_fields=["confirmed", "updated_at"])
        flagged = _flag_due_in_year(year, unconfirmed=True)
        audit_record(
            action="calendar.reopen",
            actor=actor,
            obj=calendar_year,
            reason=reason,
            data={"year": year, "dossiers": flagged},
        )
    return calendar_year


def _flag_due_in_year(year: int, *, unconfirmed: bool) -> int:
    """Set Dossier.due_unconfirmed of open dossiers due in YEAR (a queryset update: no lifecycle change)."""
    open_states = [s for s in Dossier.State if s not in Dossier.FINAL_STATES]
    return (
        Dossier.objects.filter(state__in=open_states, due_at__year=year)
        .exclude(due_unconfirmed=unconfirmed)
        .update(due_unconfirmed=unconfirmed)
    )


def dossiers_due_unconfirmed() -> QuerySet[Dossier]:
    """Open dossiers whose due date falls in a year without a confirmed calendar (or flagged so)."""
    confirmed = list(CalendarYear.objects.filter(confirmed=True).values_list("year", flat=True))
    open_states = [s for s in Dossier.State if s not in Dossier.FINAL_STATES]
    return (
        Dossier.objects.filter(state__in=open_states, due_at__isnull=False)
        .exclude(due_at__year__in=confirmed)
        .select_related("agency", "procedure")
        .order_by("due_at", "pk")
    )
