"""The deadline watch: flag open dossiers due soon or overdue and tell the officer and the leaders.

Run periodically by Celery beat (procedures.tasks_watch.deadline_watch_task). Idempotent: each
message has a key made of the dossier, the level (due soon / overdue), the due date and the recipient,
so a second run sends nothing new; a dossier that moves from due soon to overdue is announced once
more, and so is a new due date (after a recomputation). Dossier.watch is written with a queryset
update, never with save() (only procedures.lifecycle saves dossiers).

The message proposes the apology and new appointment (BM.04): at the latest one working day before
the deadline (RuleVersion.extension_notice_working_days), at most once (domain.md §1.4).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from procedures import clock
from procedures.models import Dossier, NotificationLog, RuleVersion, StaffProfile
from procedures.notifications import NotificationFailed, deliver, local_text, site_url, staff_message

logger = logging.getLogger("procedures.watch")
DEFAULT_DUE_SOON_DAYS = 2
DEFAULT_NOTICE_DAYS = 1


def _rules() -> dict[str, RuleVersion]:
    return {r.code: r for r in RuleVersion.objects.all()}


def _rule_for(dossier: Dossier, rules: dict[str, RuleVersion], today: dt.date) -> RuleVersion | None:
    if dossier.rule_version in rules:
        return rules[dossier.rule_version]
    for rule in sorted(rules.values(), key=lambda r: r.effective_from, reverse=True):
        if rule.effective_from <= today and (rule.effective_to is None or today <= rule.effective_to):
            return rule
    return None


def watch_level(dossier: Dossier, *, now: dt.datetime, calendar, due_soon_days: float) -> str:
    """'' (on schedule), 'due_soon' (within DUE_SOON_DAYS working days) or 'overdue'."""
    if dossier.due_at is None or dossier.clock_paused or dossier.state not in Dossier.CLOCK_STATES:
        return Dossier.Watch.NONE
    if now >= dossier.due_at:
        return Dossier.Watch.OVERDUE
    if clock.working_days_between(calendar, now, dossier.due_at) <= due_soon_days:
        return Dossier.Watch.DUE_SOON
    return Dossier.Watch.NONE


def watch_recipients(dossier: Dossier) -> list:
    """The responsible officer (else the agency's reception clerks) and the agency's leaders."""
    users = get_user_model().objects.filter(is_active=True)
    if dossier.assigned_to_id:
        responsible = list(users.filter(pk=dossier.assigned_to_id))
    else:
        responsible = list(
            users.filter(
                staff_profile__agency_id=dossier.agency_id,
                staff_profile__role=StaffProfile.Role.RECEPTION_CLERK,
            ).order_by("pk")
        )
    leaders = list(
        users.filter(staff_profile__agency_id=dossier.agency_id, staff_profile__role=StaffProfile.Role.LEADER)
        .exclude(pk__in=[u.pk for u in responsible])
        .order_by("pk")
    )
    return responsible + leaders


def _context(dossier: Dossier, *, level: str, calendar, rule: RuleVersion | None, now: dt.datetime) -> dict:
    notice_days = rule.extension_notice_working_days if rule else DEFAULT_NOTICE_DAYS
    max_extensions = rule.max_extensions if rule else 1
    apology_by = clock.add_working_days_at(calendar, dossier.due_at, -notice_days)
    may_extend = not dossier.extended and max_extensions > 0
    return {
        "code": dossier.code or dossier.reference,
        "procedure_name": dossier.procedure.name,
        "applicant_name": dossier.applicant_name,
        "state_label": str(Dossier.State(dossier.state).label),
        "due_at": local_text(dossier.due_at),
        "level": level,
        "apology_proposed": may_extend,
        "apology_by": local_text(apology_by) if may_extend else "",
        "apology_late": may_extend and now > apology_by,
        "notice_days": notice_days,
        "extended": dossier.extended,
        "link": site_url(reverse("workspace:dossier", args=[dossier.pk])),
    }


def deadline_watch(*, now: dt.datetime | None = None) -> dict[str, int]:
    """Flag open dossiers due soon and overdue and notify their staff; return counts."""
    now = now or timezone.now()
    today = timezone.localtime(now).date()
    rules = _rules()
    widest = max([r.due_soon_working_days for r in rules.values()] + [DEFAULT_DUE_SOON_DAYS])
    counts = {"checked": 0, "flagged": 0, "cleared": 0, "sent": 0, "failed": 0}
    calendars: dict[str, Any] = {}

    def calendar_of(dossier: Dossier):
        hours = dossier.agency.working_hours
        if hours not in calendars:
            calendars[hours] = clock.calendar_load(working_hours=hours)
        return calendars[hours]

    # Only dossiers that can be near their deadline, or that carry a flag to clear, are looked at.
    horizons = {
        hours: clock.add_working_days_at(clock.calendar_load(working_hours=hours), now, widest + 1)
        for hours in Dossier.objects.filter(state__in=Dossier.CLOCK_STATES)
        .values_list("agency__working_hours", flat=True)
        .distinct()
    }
    horizon = max(horizons.values(), default=now)
    candidates = (
        Dossier.objects.filter(
            Q(state__in=Dossier.CLOCK_STATES, clock_paused=False, due_at__lte=horizon) | ~Q(watch="")
        )
        .select_related("agency", "procedure")
        .order_by("due_at", "pk")
    )
    for dossier in candidates.iterator(chunk_size=500):
        counts["checked"] += 1
        calendar = calendar_of(dossier)
        rule = _rule_for(dossier, rules, today)
        due_soon_days = rule.due_soon_working_days if rule else DEFAULT_DUE_SOON_DAYS
        level = watch_level(dossier, now=now, calendar=calendar, due_soon_days=due_soon_days)
        if level != dossier.watch:
            # Compare-and-set: a concurrent lifecycle change (which may clear the flag) wins.
            updated = Dossier.objects.filter(pk=dossier.pk, watch=dossier.watch).update(watch=level)
            if not updated:
                continue
            counts["flagged" if level else "cleared"] += 1
        if not level:
            continue
        context = _context(dossier, level=level, calendar=calendar, rule=rule, now=now)
        stamp = dossier.due_at.astimezone(dt.UTC).strftime("%Y%m%dT%H%M%S")
        for user in watch_recipients(dossier):
            message, skip = staff_message(
                key=f"watch-{dossier.pk}-{level}-{stamp}-u{user.pk}-email",
                kind=NotificationLog.Kind.OVERDUE if level == Dossier.Watch.OVERDUE else NotificationLog.Kind.DUE_SOON,
                dossier=dossier,
                user=user,
                context=context,
            )
            try:
                counts["sent"] += int(deliver(message, skip_reason=skip))
            except NotificationFailed as exc:  # logged as failed; the next run tries again
                counts["failed"] += 1
                logger.warning("deadline watch: %s not sent: %s", message.key, exc)
    return counts
