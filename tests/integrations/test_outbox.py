"""The outbox relay against the DVCQG simulator: order per key, retries, dead letters, replay, idempotency.

Celery runs eagerly here (portal/settings/test.py); the real-worker proof is test_delivery_worker.py.
"""

from __future__ import annotations

import logging
import os
import socket
from datetime import timedelta
from unittest.mock import patch

import pytest
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from kombu.exceptions import OperationalError

from integrations.models import OutboxMessage
from integrations.outbox import outbox_backoff_seconds, outbox_deliver, outbox_enqueue, outbox_replay, outbox_sweep
from integrations.tasks import outbox_deliver_task, outbox_sweep_task
from tests.fixtures.national_portal import DOSSIER_CODE, dossier_payload

pytestmark = pytest.mark.django_db

TOPIC = "national_portal.dossier"
State = OutboxMessage.State


@pytest.fixture(autouse=True)
def _no_http_level_retries(settings):
    # The outbox owns retries here; the shared helper's own quick retries would blur the counts.
    settings.HTTP_RETRIES = 0


def enqueue(*, event_id: str = "e1", key: str = DOSSIER_CODE, **payload) -> OutboxMessage:
    with transaction.atomic():
        return outbox_enqueue(topic=TOPIC, key=key, payload=dossier_payload(**payload), event_id=event_id)


def sent_statuses(sim, service: str = "DongBoHoSoMC") -> list[str]:
    field = "TrangThaiHoSo" if service == "DongBoHoSoMC" else "TrangThai"
    return [record[field] for record in sim.records(service)]


# --- enqueue ---------------------------------------------------------------------------------------


def test_an_enqueued_message_is_delivered_after_commit_by_this_process(
    national_portal_simulator, django_capture_on_commit_callbacks
):
    # when
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue()
    # then
    message.refresh_from_db()
    assert message.state == State.DELIVERED
    assert message.attempts == 1
    assert message.delivered_by == f"{socket.gethostname()}:{os.getpid()}"
    assert [r["service"] for r in national_portal_simulator.requests()] == [
        "auth",
        "DongBoHoSoMC",
        "CapNhatTienDoHoSoMC",
    ]
    assert national_portal_simulator.requests("DongBoHoSoMC")[0]["body"]["isUpdating"] == "False"


def test_nothing_is_sent_before_commit(national_portal_simulator, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        message = enqueue()
    assert len(callbacks) == 1
    assert national_portal_simulator.requests() == []
    assert OutboxMessage.objects.get(pk=message.pk).state == State.PENDING


def test_enqueueing_the_same_event_twice_creates_one_message(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        first = enqueue(event_id="status-2")
        second = enqueue(event_id="status-2")
    assert first.pk == second.pk
    assert OutboxMessage.objects.count() == 1
    assert first.idempotency_key == f"{TOPIC}:{DOSSIER_CODE}:status-2"
    assert len(callbacks) == 1


def test_enqueue_outside_a_transaction_is_refused():
    with patch("integrations.outbox.transaction.get_connection") as get_connection:
        get_connection.return_value.in_atomic_block = False
        with pytest.raises(RuntimeError, match="transaction"):
            outbox_enqueue(topic=TOPIC, key=DOSSIER_CODE, payload=dossier_payload(), event_id="e1")


def test_a_broker_outage_at_commit_leaves_the_message_for_the_sweeper(
    national_portal_simulator, django_capture_on_commit_callbacks, caplog
):
    # given: the broker refuses the task; when: the transaction commits
    broker_down = patch.object(outbox_deliver_task, "delay", side_effect=OperationalError("connection refused"))
    with broker_down, django_capture_on_commit_callbacks(execute=True):
        message = enqueue()
    # then: the commit stood, the message waits, a warning says why
    assert OutboxMessage.objects.get(pk=message.pk).state == State.PENDING
    assert "the sweeper will retry" in caplog.text
    # when the broker is back
    assert outbox_sweep_task() == 1
    # then
    assert OutboxMessage.objects.get(pk=message.pk).state == State.DELIVERED


# --- order per key ---------------------------------------------------------------------------------


def test_messages_of_one_dossier_go_out_in_sequence_order(
    national_portal_simulator, django_capture_on_commit_callbacks
):
    # when: three changes of one dossier commit together
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(event_id="s2", status=2)
        enqueue(event_id="s4", status=4, changed_at="2026-03-16T02:00:00+00:00")
        enqueue(event_id="s9", status=9, changed_at="2026-03-20T02:00:00+00:00")
    # then
    assert list(OutboxMessage.objects.values_list("sequence", "state")) == [
        (1, State.DELIVERED),
        (2, State.DELIVERED),
        (3, State.DELIVERED),
    ]
    assert sent_statuses(national_portal_simulator) == ["2", "4", "9"]
    assert sent_statuses(national_portal_simulator, "CapNhatTienDoHoSoMC") == ["2", "4", "9"]
    assert [r["body"]["isUpdating"] for r in national_portal_simulator.requests("DongBoHoSoMC")] == [
        "False",
        "True",
        "True",
    ]


def test_a_later_message_waits_while_an_earlier_one_is_undelivered(
    national_portal_simulator, django_capture_on_commit_callbacks
):
    # given: two changes; the portal is down for the first attempt
    with django_capture_on_commit_callbacks(execute=False):
        first = enqueue(event_id="s2", status=2)
        second = enqueue(event_id="s4", status=4)
    national_portal_simulator.faults(fail_next=1, status=503, service="DongBoHoSoMC")
    # when
    assert outbox_deliver(message_id=first.pk) == "retry"
    assert outbox_deliver(message_id=second.pk) == "waiting"
    # then: the second was not sent ahead of the first
    assert sent_statuses(national_portal_simulator) == ["2"]
    assert OutboxMessage.objects.get(pk=second.pk).attempts == 0
    # when: the sweeper finds the first due again (the test backoff is zero)
    outbox_sweep_task()
    # then: the first went out, then the second
    assert sent_statuses(national_portal_simulator) == ["2", "2", "4"]
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {State.DELIVERED}


def test_different_dossiers_do_not_wait_for_each_other(national_portal_simulator, django_capture_on_commit_callbacks):
    other = "G18.001.02-260315-180043"
    with django_capture_on_commit_callbacks(execute=False):
        blocked = enqueue(event_id="s2")
        free = enqueue(event_id="s2", key=other, dossier_code=other)
    national_portal_simulator.faults(fail_next=1, status=503, service="DongBoHoSoMC")
    assert outbox_deliver(message_id=blocked.pk) == "retry"
    assert outbox_deliver(message_id=free.pk) == "delivered"


# --- retries and backoff ---------------------------------------------------------------------------


@pytest.mark.parametrize(("attempts", "low", "high"), [(1, 5, 10), (2, 10, 20), (4, 40, 80), (30, 1800, 3600)])
def test_backoff_grows_exponentially_with_jitter_up_to_the_cap(settings, attempts, low, high):
    settings.OUTBOX_BACKOFF_BASE_SECONDS = 10
    settings.OUTBOX_BACKOFF_MAX_SECONDS = 3600
    delays = [outbox_backoff_seconds(attempts=attempts) for _ in range(50)]
    assert all(low <= d <= high for d in delays)
    assert len(set(delays)) > 1  # jittered


def test_a_transient_failure_is_retried_after_the_backoff(
    national_portal_simulator, django_capture_on_commit_callbacks, settings
):
    # given: a real backoff and a portal that fails once
    settings.OUTBOX_BACKOFF_BASE_SECONDS = 10
    national_portal_simulator.faults(fail_next=1, status=503, service="DongBoHoSoMC")
    before = timezone.now()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue()
    # then: back to pending, due in 5..10 s, the error kept
    message.refresh_from_db()
    assert message.state == State.PENDING
    assert message.attempts == 1
    assert "503" in message.last_error
    assert before + timedelta(seconds=5) <= message.next_attempt_at <= timezone.now() + timedelta(seconds=10)
    # when the sweeper runs before it is due: nothing happens
    assert outbox_sweep() == 0
    assert OutboxMessage.objects.get(pk=message.pk).state == State.PENDING
    # when it is due (time moved on) and the sweeper runs
    OutboxMessage.objects.filter(pk=message.pk).update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    assert outbox_sweep() == 1
    # then
    message.refresh_from_db()
    assert message.state == State.DELIVERED
    assert message.attempts == 2
    assert message.last_error == ""


def test_a_message_whose_worker_died_is_taken_again_once_its_lease_expires(national_portal_simulator):
    # given: a message claimed by a worker that vanished
    with patch("integrations.outbox.outbox_kick"):
        message = enqueue()
    OutboxMessage.objects.filter(pk=message.pk).update(
        state=State.SENDING, attempts=1, lease_until=timezone.now() + timedelta(minutes=5)
    )
    # then: a live lease is respected
    assert outbox_sweep() == 0
    assert outbox_deliver(message_id=message.pk) == "not_claimed"
    # when: the lease runs out
    OutboxMessage.objects.filter(pk=message.pk).update(lease_until=timezone.now() - timedelta(seconds=1))
    assert outbox_sweep() == 1
    # then
    message.refresh_from_db()
    assert message.state == State.DELIVERED
    assert message.attempts == 2


# --- dead letters and replay -----------------------------------------------------------------------


def test_a_permanent_failure_makes_a_dead_letter_and_raises_an_alert(
    national_portal_simulator, django_capture_on_commit_callbacks, caplog
):
    # given: a dossier code the portal refuses, and a later change of the same dossier
    bad = "G18-bad-code"
    with django_capture_on_commit_callbacks(execute=True), caplog.at_level(logging.ERROR, "integrations.outbox"):
        dead = enqueue(event_id="s2", key=bad, dossier_code=bad)
        later = enqueue(event_id="s4", key=bad, dossier_code=bad, status=4)
    # then: one attempt, dead, an error logged; the later change waits behind it
    dead.refresh_from_db()
    assert dead.state == State.DEAD
    assert dead.attempts == 1
    assert "MaHoSo" in dead.last_error
    assert any(r.levelno == logging.ERROR and "dead letter" in r.getMessage() for r in caplog.records)
    outbox_sweep()
    assert OutboxMessage.objects.get(pk=later.pk).state == State.PENDING
    assert len(national_portal_simulator.requests("DongBoHoSoMC")) == 1


def test_a_malformed_payload_is_a_dead_letter_without_calling_the_portal(
    national_portal_simulator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue(status=42)
    message.refresh_from_db()
    assert message.state == State.DEAD
    assert "status" in message.last_error
    assert national_portal_simulator.requests() == []


def test_an_unknown_topic_is_a_dead_letter(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        message = outbox_enqueue(topic="nowhere.topic", key="k", payload={}, event_id="e1")
    message.refresh_from_db()
    assert message.state == State.DEAD
    assert "no outbox handler" in message.last_error


def test_too_many_transient_failures_make_a_dead_letter(
    national_portal_simulator, django_capture_on_commit_callbacks, settings
):
    # given: the portal stays down
    settings.OUTBOX_MAX_ATTEMPTS = 3
    national_portal_simulator.faults(fail_next=100, status=503)
    # when: the first try, then two sweeps
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue()
    outbox_sweep()
    outbox_sweep()
    # then
    message.refresh_from_db()
    assert message.state == State.DEAD
    assert message.attempts == 3
    assert outbox_sweep() == 0  # dead letters are left alone


def test_replay_sends_dead_letters_again_in_order(
    national_portal_simulator, django_capture_on_commit_callbacks, settings
):
    # given: the first change died while the portal was down; the second waits behind it
    settings.OUTBOX_MAX_ATTEMPTS = 1
    national_portal_simulator.faults(fail_next=1, status=503)
    with django_capture_on_commit_callbacks(execute=True):
        first = enqueue(event_id="s2")
        second = enqueue(event_id="s4", status=4)
    assert OutboxMessage.objects.get(pk=first.pk).state == State.DEAD
    # when: an operator replays it (the portal is back)
    with django_capture_on_commit_callbacks(execute=True):
        replayed = outbox_replay(message_ids=[first.pk, second.pk])
    # then: only the dead letter was replayed; both went out, in order
    assert replayed == 1
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {State.DELIVERED}
    assert sent_statuses(national_portal_simulator) == ["2", "4"]
    assert outbox_replay(message_ids=[first.pk]) == 0


# --- at least once, effectively once ---------------------------------------------------------------


def test_a_duplicate_task_for_a_delivered_message_sends_nothing(
    national_portal_simulator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue()
    sent = len(national_portal_simulator.requests())
    # when: the broker redelivers the task (acks_late)
    assert outbox_deliver_task(message.pk) == "not_claimed"
    # then
    assert len(national_portal_simulator.requests()) == sent


def test_a_message_resent_after_a_lost_answer_is_harmless(
    national_portal_simulator, django_capture_on_commit_callbacks
):
    # given: the portal applies the progress update but the answer is lost on the way back
    national_portal_simulator.faults(lose_answer_next=1, service="CapNhatTienDoHoSoMC")
    with django_capture_on_commit_callbacks(execute=True):
        message = enqueue()
    assert OutboxMessage.objects.get(pk=message.pk).state == State.PENDING
    before = get_state(national_portal_simulator)
    # when: the message is sent again
    outbox_sweep()
    # then: the portal received everything twice, byte for byte, and its state did not change
    assert OutboxMessage.objects.get(pk=message.pk).state == State.DELIVERED
    for service in ("DongBoHoSoMC", "CapNhatTienDoHoSoMC"):
        first, again = national_portal_simulator.records(service)
        assert first == again
    assert get_state(national_portal_simulator) == before
    assert len(before["TienDoXuLy"]) == 1


def get_state(sim) -> dict:
    from integrations.national_portal import get_national_portal

    return get_national_portal().lookup(DOSSIER_CODE)


# --- the ledger in the admin -----------------------------------------------------------------------


def test_the_admin_lists_the_ledger_and_masks_contacts(admin_client, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        message = enqueue()
    changelist = admin_client.get(reverse("admin:integrations_outboxmessage_changelist"))
    assert changelist.status_code == 200
    assert DOSSIER_CODE in changelist.text
    change = admin_client.get(reverse("admin:integrations_outboxmessage_change", args=[message.pk]))
    assert change.status_code == 200
    assert "0912345678" not in change.text
    assert "•••••••678" in change.text
    assert "Nguyễn Văn An" in change.text


def test_the_admin_replays_dead_letters(admin_client, national_portal_simulator, django_capture_on_commit_callbacks):
    # given
    with patch("integrations.outbox.outbox_kick"):
        message = enqueue()
    OutboxMessage.objects.filter(pk=message.pk).update(state=State.DEAD, attempts=12, last_error="HttpError: 503")
    # when
    with django_capture_on_commit_callbacks(execute=True):
        response = admin_client.post(
            reverse("admin:integrations_outboxmessage_changelist"),
            {"action": "replay_dead_letters", "_selected_action": [message.pk]},
            follow=True,
        )
    # then
    assert response.status_code == 200
    message.refresh_from_db()
    assert message.state == State.DELIVERED
    assert message.attempts == 1


def test_an_update_the_portal_cannot_place_creates_the_dossier_again(
    national_portal_simulator, django_capture_on_commit_callbacks
):
    # given: the first change was delivered, then the portal forgot everything (a restarted simulator)
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(event_id="s2")
    national_portal_simulator.reset()
    # when
    with django_capture_on_commit_callbacks(execute=True):
        later = enqueue(event_id="s4", status=4)
    # then: the refused update was followed by a creation carrying the same record
    assert OutboxMessage.objects.get(pk=later.pk).state == State.DELIVERED
    *_, refused, created = national_portal_simulator.requests("DongBoHoSoMC")  # after a fresh login
    assert (refused["body"]["isUpdating"], created["body"]["isUpdating"]) == ("True", "False")
    assert refused["body"]["data"] == created["body"]["data"]
    assert get_state(national_portal_simulator)["TrangThaiHoSo"] == "4"
