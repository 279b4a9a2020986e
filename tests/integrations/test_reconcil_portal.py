"""Daily reconciliation with DVCQG against the simulator: compare, report, re-send what the portal lost."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings as django_settings
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from integrations.models import NationalPortalReconciliation, OutboxMessage
from integrations.national_portal import get_national_portal
from integrations.national_portal.base import ProgressRecord
from integrations.national_portal.reconcile import national_portal_reconcile
from integrations.outbox import outbox_enqueue
from integrations.tasks import national_portal_reconcile_task
from tests.fixtures.national_portal import dossier_payload

pytestmark = pytest.mark.django_db

TOPIC = "national_portal.dossier"
State = OutboxMessage.State
A, B, C, D = (f"G18.001.02-260315-18{n:04d}" for n in range(1, 5))


@pytest.fixture(autouse=True)
def _settings(settings):
    settings.HTTP_RETRIES = 0
    settings.NATIONAL_PORTAL_RECONCILE_CONCURRENCY = 3


def change(code: str, status: int, day: int, *, deliver: bool = True, capture) -> OutboxMessage:
    with capture(execute=deliver), transaction.atomic():
        return outbox_enqueue(
            topic=TOPIC,
            key=code,
            payload=dossier_payload(dossier_code=code, status=status, changed_at=f"2026-03-{day:02d}T02:30:00+00:00"),
            event_id=f"s{status}-{day}",
        )


def kinds(report: NationalPortalReconciliation) -> dict[str, tuple[str, bool]]:
    return {d["key"]: (d["kind"], d.get("repaired", False)) for d in report.differences}


def test_a_portal_that_shows_our_latest_states_matches(national_portal_simulator, django_capture_on_commit_callbacks):
    for code in (A, B):
        change(code, 2, 15, capture=django_capture_on_commit_callbacks)
        change(code, 4, 16, capture=django_capture_on_commit_callbacks)
    report = national_portal_reconcile()
    assert (report.checked, report.matching, report.repaired, report.errors) == (2, 2, 0, 0)
    assert report.differences == []
    assert report.finished_at is not None
    assert len(national_portal_simulator.requests("TraCuuHoSo")) == 2


def test_states_the_portal_lost_are_found_and_re_sent_in_order(
    national_portal_simulator, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    # given: A delivered and kept; B's latest step accepted and lost; C accepted and lost entirely;
    # D has a change still waiting for delivery
    change(A, 2, 15, capture=capture)
    change(B, 2, 15, capture=capture)
    national_portal_simulator.faults(accept_and_lose_next=1, service="CapNhatTienDoHoSoMC")
    change(B, 4, 16, capture=capture)
    national_portal_simulator.faults(accept_and_lose_next=2)
    change(C, 2, 15, capture=capture)
    change(D, 2, 15, capture=capture)
    change(D, 4, 16, deliver=False, capture=capture)
    assert set(OutboxMessage.objects.exclude(key=D).values_list("state", flat=True)) == {State.DELIVERED}
    # when
    with capture(execute=True):
        report = national_portal_reconcile()
    # then: the report says what differed, and the lost states were re-sent through the outbox
    assert (report.checked, report.matching, report.missing, report.portal_behind, report.in_flight) == (4, 1, 1, 1, 1)
    assert (report.repaired, report.portal_ahead, report.errors) == (2, 0, 0)
    assert kinds(report) == {B: ("behind", True), C: ("missing", True)}
    assert report.differences[0]["ours"] == {"status": "4", "changed_at": "20260316093000"}
    state = national_portal_simulator.state()
    assert (state[B]["status"], state[B]["changed_at"], state[B]["backwards"]) == ("4", "20260316093000", 0)
    assert (state[C]["status"], state[C]["changed_at"]) == ("2", "20260315093000")
    # the re-sent messages are the latest ones, delivered again; nothing new was numbered
    assert OutboxMessage.objects.count() == 6
    assert OutboxMessage.objects.get(key=B, sequence=2).attempts == 2
    # D's waiting change rode along in the re-send batch; a second run finds everything in place
    assert OutboxMessage.objects.get(key=D, sequence=2).state == State.DELIVERED
    again = national_portal_reconcile()
    assert (again.checked, again.matching, again.repaired, again.in_flight) == (4, 4, 0, 0)


def test_a_portal_ahead_of_us_is_reported_but_not_overwritten(
    national_portal_simulator, django_capture_on_commit_callbacks
):
    change(A, 2, 15, capture=django_capture_on_commit_callbacks)
    newer = datetime(2026, 3, 20, 2, 0, tzinfo=UTC)
    get_national_portal().push_progress(
        [ProgressRecord(A, "Someone else", "", newer, "", "", 9, newer, None)]  # written by another system
    )
    requests_before = len(national_portal_simulator.requests())
    with django_capture_on_commit_callbacks(execute=True):
        report = national_portal_reconcile()
    assert (report.portal_ahead, report.repaired) == (1, 0)
    assert kinds(report) == {A: ("ahead", False)}
    assert len(national_portal_simulator.requests()) == requests_before + 1  # only the look-up


def test_a_failed_look_up_is_counted_as_an_error(national_portal_simulator, django_capture_on_commit_callbacks):
    change(A, 2, 15, capture=django_capture_on_commit_callbacks)
    national_portal_simulator.faults(fail_next=1, status=503, service="TraCuuHoSo")
    report = national_portal_reconcile()
    assert (report.checked, report.errors, report.repaired) == (1, 1, 0)
    assert kinds(report) == {A: ("error", False)}
    assert "503" in report.differences[0]["error"]


def test_only_dossiers_delivered_in_the_period_are_checked(
    national_portal_simulator, django_capture_on_commit_callbacks
):
    change(A, 2, 15, capture=django_capture_on_commit_callbacks)
    change(B, 2, 15, capture=django_capture_on_commit_callbacks)
    OutboxMessage.objects.filter(key=A).update(delivered_at=timezone.now() - timedelta(days=3))
    report = national_portal_reconcile()
    assert report.checked == 1
    assert [r["body"]["mahoso"] for r in national_portal_simulator.requests("TraCuuHoSo")] == [B]


def test_the_daily_task_stores_a_report_and_is_scheduled(national_portal_simulator, django_capture_on_commit_callbacks):
    change(A, 2, 15, capture=django_capture_on_commit_callbacks)
    pk = national_portal_reconcile_task()
    report = NationalPortalReconciliation.objects.get(pk=pk)
    assert (report.checked, report.matching) == (1, 1)
    assert report.period_end - report.period_start == timedelta(hours=24)
    entry = django_settings.CELERY_BEAT_SCHEDULE["national-portal-reconciliation"]
    assert entry["task"] == "integrations.tasks.national_portal_reconcile_task"


def test_the_admin_shows_reports_read_only(admin_client, national_portal_simulator, django_capture_on_commit_callbacks):
    national_portal_simulator.faults(accept_and_lose_next=2)
    change(C, 2, 15, capture=django_capture_on_commit_callbacks)
    report = national_portal_reconcile(repair=False)
    changelist = admin_client.get(reverse("admin:integrations_nationalportalreconciliation_changelist"))
    assert changelist.status_code == 200
    detail = admin_client.get(reverse("admin:integrations_nationalportalreconciliation_change", args=[report.pk]))
    assert detail.status_code == 200
    assert C in detail.text
    assert "missing" in detail.text
    assert admin_client.get(reverse("admin:integrations_nationalportalreconciliation_add")).status_code == 403
