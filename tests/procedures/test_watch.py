"""The deadline watch: due soon and overdue flags, staff notified once per level, the apology proposed."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings
from django.core import mail
from django.utils import timezone

from procedures import clock
from procedures.lifecycle import dossier_transition
from procedures.models import Dossier, NotificationLog, NotificationPreference
from procedures.tasks_watch import deadline_watch_task
from procedures.watch import deadline_watch

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_emails(clerk_lan, officer_minh, leader_hai):
    for user, email in (
        (clerk_lan, "lan@example.vn"),
        (officer_minh, "minh@example.vn"),
        (leader_hai, "hai@example.vn"),
    ):
        user.email = email
        user.save(update_fields=["email"])


@pytest.fixture
def assigned(received_dossier, leader_hai, officer_minh, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        return dossier_transition(
            dossier_id=received_dossier.pk, action="assign", actor=leader_hai, officer=officer_minh.pk
        )


def before_due(dossier, working_days: float) -> dt.datetime:
    calendar = clock.agency_calendar(dossier.agency)
    return clock.add_working_days_at(calendar, dossier.due_at, -working_days)


def recipients() -> list[str]:
    return sorted(address for m in mail.outbox for address in m.to)


def test_due_soon_then_overdue_each_announced_once_to_the_officer_and_the_leader(assigned, staff_emails):
    dossier = assigned
    # Three working days before the deadline: on schedule (the rule version says 2 days).
    assert deadline_watch(now=before_due(dossier, 3))["sent"] == 0
    assert Dossier.objects.get(pk=dossier.pk).watch == ""
    soon = before_due(dossier, 1.5)
    counts = deadline_watch(now=soon)
    assert counts["flagged"] == 1 and counts["sent"] == 2
    assert Dossier.objects.get(pk=dossier.pk).watch == Dossier.Watch.DUE_SOON
    assert recipients() == ["hai@example.vn", "minh@example.vn"]
    body = mail.outbox[0].body
    assert dossier.code in body and f"/workspace/d/{dossier.pk}/" in body
    apology_by = clock.add_working_days_at(clock.agency_calendar(dossier.agency), dossier.due_at, -1)
    assert timezone.localtime(apology_by).strftime("%H:%M %d/%m/%Y") in body
    # Running it again sends nothing new.
    assert deadline_watch(now=soon)["sent"] == 0
    assert deadline_watch(now=soon + dt.timedelta(hours=1))["sent"] == 0
    assert len(mail.outbox) == 2
    # Past the deadline: overdue, announced once more.
    late = dossier.due_at + dt.timedelta(minutes=5)
    counts = deadline_watch(now=late)
    assert counts["flagged"] == 1 and counts["sent"] == 2
    assert Dossier.objects.get(pk=dossier.pk).watch == Dossier.Watch.OVERDUE
    assert "overdue" in mail.outbox[-1].body.lower() or "quá hạn" in mail.outbox[-1].body.lower()
    assert deadline_watch(now=late + dt.timedelta(days=1))["sent"] == 0
    assert len(mail.outbox) == 4
    kinds = sorted(NotificationLog.objects.values_list("kind", flat=True))
    assert kinds == ["due_soon", "due_soon", "overdue", "overdue"]


def test_an_unassigned_dossier_goes_to_the_reception_clerks_and_staff_read_their_language(
    received_dossier, staff_emails, officer_minh, leader_hai
):
    NotificationPreference.objects.create(user=leader_hai, language="en")
    received_dossier.refresh_from_db()
    deadline_watch(now=before_due(received_dossier, 1))
    assert recipients() == ["hai@example.vn", "lan@example.vn"]
    english = next(m for m in mail.outbox if m.to == ["hai@example.vn"])
    assert english.subject.startswith(f"Due soon: dossier {received_dossier.code}")
    assert "send the apology and new appointment (form 04) at the latest by" in english.body
    assert NotificationLog.objects.get(recipient_user=leader_hai).language == "en"


def test_a_paused_or_finished_dossier_is_cleared(received_dossier, staff_emails, clerk_lan):
    received_dossier.refresh_from_db()
    deadline_watch(now=before_due(received_dossier, 1))
    assert Dossier.objects.get(pk=received_dossier.pk).watch == Dossier.Watch.DUE_SOON
    Dossier.objects.filter(pk=received_dossier.pk).update(clock_paused=True)
    counts = deadline_watch(now=before_due(received_dossier, 0.5))
    assert counts["cleared"] == 1 and Dossier.objects.get(pk=received_dossier.pk).watch == ""


def test_a_member_of_staff_without_email_is_logged_not_sent(assigned, leader_hai, officer_minh):
    deadline_watch(now=before_due(assigned, 1))
    assert mail.outbox == []
    assert set(NotificationLog.objects.values_list("status", "error")) == {("skipped", "no email address")}


def test_the_beat_schedule_runs_the_task(assigned, staff_emails):
    entry = settings.CELERY_BEAT_SCHEDULE["deadline-watch"]
    assert entry["task"] == deadline_watch_task.name == "procedures.tasks_watch.deadline_watch_task"
    assert "procedures.tasks_watch" in settings.CELERY_IMPORTS
    result = deadline_watch_task.apply().get()
    assert result["checked"] >= 0 and result["failed"] == 0
