"""The relay batches: several dossiers per DVCQG call, one change per dossier per call, order kept.

Celery runs eagerly here; a delivered message kicks its dossier's next one inline.
"""

from __future__ import annotations

from unittest.mock import patch

import pytest
from django.db import transaction

from integrations.models import OutboxMessage
from integrations.outbox import outbox_deliver, outbox_enqueue, outbox_sweep
from tests.fixtures.national_portal import dossier_payload

pytestmark = pytest.mark.django_db

TOPIC = "national_portal.dossier"
State = OutboxMessage.State
CODES = [f"G18.001.02-260315-18{n:04d}" for n in range(1, 6)]


@pytest.fixture(autouse=True)
def _no_http_level_retries(settings):
    settings.HTTP_RETRIES = 0
    settings.OUTBOX_BATCH_SIZE = 50


def enqueue(code: str, *, event_id: str = "s2", status: int = 2, day: int = 15, **payload) -> OutboxMessage:
    with transaction.atomic():
        return outbox_enqueue(
            topic=TOPIC,
            key=code,
            payload=dossier_payload(
                dossier_code=code, status=status, changed_at=f"2026-03-{day:02d}T02:30:00+00:00", **payload
            ),
            event_id=event_id,
        )


def calls(sim, service: str) -> list[list[tuple[str, str]]]:
    """Each call of SERVICE as its list of (MaHoSo, status)."""
    field = "TrangThaiHoSo" if service == "DongBoHoSoMC" else "TrangThai"
    return [[(r["MaHoSo"], r[field]) for r in req["body"]["data"]] for req in sim.requests(service)]


def test_due_messages_of_several_dossiers_share_one_call_per_service(
    national_portal_simulator, django_capture_on_commit_callbacks
):
    # given: five dossiers changed; nothing sent yet
    with django_capture_on_commit_callbacks(execute=False):
        messages = [enqueue(code) for code in CODES]
    # when: one delivery task runs
    assert outbox_deliver(message_id=messages[0].pk) == "delivered"
    # then: one creation call and one progress call carried all five, and all five are delivered
    assert calls(national_portal_simulator, "DongBoHoSoMC") == [[(code, "2") for code in CODES]]
    assert calls(national_portal_simulator, "CapNhatTienDoHoSoMC") == [[(code, "2") for code in CODES]]
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {State.DELIVERED}
    # and the other tasks find nothing left to do
    assert {outbox_deliver(message_id=m.pk) for m in messages[1:]} == {"not_claimed"}


def test_a_batch_holds_one_change_per_dossier_and_keeps_the_order(
    national_portal_simulator, django_capture_on_commit_callbacks
):
    # given: three changes of each of three dossiers
    with django_capture_on_commit_callbacks(execute=False):
        first = enqueue(CODES[0])
        for code in CODES[1:3]:
            enqueue(code)
        for status, day in ((4, 16), (9, 20)):
            for code in CODES[:3]:
                enqueue(code, event_id=f"s{status}", status=status, day=day)
    # when
    outbox_deliver(message_id=first.pk)
    # then: three rounds, each one change of every dossier, in order; creation first, then updates
    sync = national_portal_simulator.requests("DongBoHoSoMC")
    assert [r["body"]["isUpdating"] for r in sync] == ["False", "True", "True"]
    assert [sorted(c) for c in calls(national_portal_simulator, "DongBoHoSoMC")] == [
        sorted((code, status) for code in CODES[:3]) for status in ("2", "4", "9")
    ]
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {State.DELIVERED}
    # every status went out exactly once per dossier
    progress = [record for call in calls(national_portal_simulator, "CapNhatTienDoHoSoMC") for record in call]
    assert sorted(progress) == sorted((code, status) for code in CODES[:3] for status in ("2", "4", "9"))
    state = national_portal_simulator.state()
    assert {code: (state[code]["status"], state[code]["backwards"]) for code in CODES[:3]} == dict.fromkeys(
        CODES[:3], ("9", 0)
    )


def test_creations_and_updates_go_in_separate_calls(national_portal_simulator, django_capture_on_commit_callbacks):
    # given: one dossier already on the portal, a new one
    with django_capture_on_commit_callbacks(execute=True):
        enqueue(CODES[0])
    with django_capture_on_commit_callbacks(execute=False):
        update = enqueue(CODES[0], event_id="s4", status=4, day=16)
        enqueue(CODES[1])
    # when
    outbox_deliver(message_id=update.pk)
    # then
    sync = national_portal_simulator.requests("DongBoHoSoMC")[1:]
    assert sorted((r["body"]["isUpdating"], r["body"]["data"][0]["MaHoSo"]) for r in sync) == [
        ("False", CODES[1]),
        ("True", CODES[0]),
    ]
    assert calls(national_portal_simulator, "CapNhatTienDoHoSoMC")[1:] == [[(CODES[0], "4"), (CODES[1], "2")]]


def test_the_batch_size_bounds_the_records_per_call_and_one_task_drains_the_backlog(
    national_portal_simulator, django_capture_on_commit_callbacks, settings
):
    settings.OUTBOX_BATCH_SIZE = 2
    with django_capture_on_commit_callbacks(execute=False):
        messages = [enqueue(code) for code in CODES]
    # when: one task runs
    assert outbox_deliver(message_id=messages[0].pk) == "delivered"
    # then: it sent batches of at most two until nothing was due
    assert [len(c) for c in calls(national_portal_simulator, "DongBoHoSoMC")] == [2, 2, 1]
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {State.DELIVERED}


def test_out_of_drain_budget_a_task_sends_one_batch_and_hands_over(
    national_portal_simulator, django_capture_on_commit_callbacks, settings
):
    settings.OUTBOX_BATCH_SIZE = 2
    settings.OUTBOX_DRAIN_SECONDS = 0
    with django_capture_on_commit_callbacks(execute=False):
        messages = [enqueue(code) for code in CODES]
    # when: one task runs, its budget spent after the first batch
    with patch("integrations.outbox.outbox_kick") as kick:
        outbox_deliver(message_id=messages[0].pk)
    # then: one batch went out and the next due message was queued for another task
    assert [len(c) for c in calls(national_portal_simulator, "DongBoHoSoMC")] == [2]
    kick.assert_called_once_with(message_id=messages[2].pk)
    # and the sweeper (one task per batch) leaves nothing behind
    outbox_sweep()
    assert sorted(len(c) for c in calls(national_portal_simulator, "DongBoHoSoMC")) == [1, 2, 2]
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {State.DELIVERED}


def test_the_sweeper_queues_one_task_per_batch_of_due_messages(
    national_portal_simulator, django_capture_on_commit_callbacks, settings
):
    settings.OUTBOX_BATCH_SIZE = 2
    with django_capture_on_commit_callbacks(execute=False):
        messages = [enqueue(code) for code in CODES]
    with patch("integrations.outbox.outbox_kick", return_value=True) as kick:
        assert outbox_sweep() == 3
    assert [c.kwargs["message_id"] for c in kick.call_args_list] == [m.pk for m in messages[::2]]


def test_a_change_behind_an_undelivered_one_queues_no_task_of_its_own(
    national_portal_simulator, django_capture_on_commit_callbacks
):
    # given: the first change waits (not sent yet)
    with django_capture_on_commit_callbacks(execute=False):
        first = enqueue(CODES[0])
    # when: a second change of the dossier commits
    with patch("integrations.outbox.outbox_kick") as kick, django_capture_on_commit_callbacks(execute=True):
        enqueue(CODES[0], event_id="s4", status=4, day=16)
    # then: no task for it; the first one's delivery kicks it
    kick.assert_not_called()
    outbox_deliver(message_id=first.pk)
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {State.DELIVERED}
    assert calls(national_portal_simulator, "DongBoHoSoMC") == [[(CODES[0], "2")], [(CODES[0], "4")]]


def test_a_failed_call_marks_no_message_of_the_batch_delivered(
    national_portal_simulator, django_capture_on_commit_callbacks
):
    # given: the progress call fails after the dossiers were upserted
    national_portal_simulator.faults(fail_next=1, status=503, service="CapNhatTienDoHoSoMC")
    with django_capture_on_commit_callbacks(execute=False):
        messages = [enqueue(code) for code in CODES[:3]]
    # when
    assert outbox_deliver(message_id=messages[0].pk) == "retry"
    # then: none counts as delivered; each is due again with its attempt counted
    assert list(OutboxMessage.objects.values_list("state", "attempts")) == [(State.PENDING, 1)] * 3
    # when the sweeper re-kicks: everything goes out again, and now stands
    outbox_sweep()
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {State.DELIVERED}
    assert len(national_portal_simulator.requests("DongBoHoSoMC")) == 2


def test_an_answer_lost_for_a_batch_resends_it_without_changing_the_portal_state(
    national_portal_simulator, django_capture_on_commit_callbacks
):
    national_portal_simulator.faults(lose_answer_next=1, service="CapNhatTienDoHoSoMC")
    with django_capture_on_commit_callbacks(execute=False):
        messages = [enqueue(code) for code in CODES[:3]]
    outbox_deliver(message_id=messages[0].pk)
    before = national_portal_simulator.state()
    outbox_sweep()
    assert set(OutboxMessage.objects.values_list("state", flat=True)) == {State.DELIVERED}
    first, again = national_portal_simulator.requests("CapNhatTienDoHoSoMC")
    assert first["body"]["data"] == again["body"]["data"]
    after = national_portal_simulator.state()
    assert {c: (s["status"], s["changed_at"], s["backwards"]) for c, s in after.items()} == {
        c: (s["status"], s["changed_at"], s["backwards"]) for c, s in before.items()
    }


def test_a_record_the_portal_refuses_becomes_the_only_dead_letter(
    national_portal_simulator, django_capture_on_commit_callbacks
):
    # given: one dossier code the portal refuses among good ones
    bad = "G18-bad-code"
    with django_capture_on_commit_callbacks(execute=False):
        good = [enqueue(code) for code in CODES[:2]]
        refused = enqueue(bad)
    # when
    outbox_deliver(message_id=good[0].pk)
    # then: the refused call was split; only the bad record is dead, the others delivered
    states = dict(OutboxMessage.objects.values_list("key", "state"))
    assert states == {CODES[0]: State.DELIVERED, CODES[1]: State.DELIVERED, bad: State.DEAD}
    assert "MaHoSo" in OutboxMessage.objects.get(pk=refused.pk).last_error


def test_a_malformed_payload_dies_alone_and_the_rest_of_the_batch_goes_out(
    national_portal_simulator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        good = enqueue(CODES[0])
        malformed = enqueue(CODES[1], status=42)
    outbox_deliver(message_id=good.pk)
    assert OutboxMessage.objects.get(pk=good.pk).state == State.DELIVERED
    assert OutboxMessage.objects.get(pk=malformed.pk).state == State.DEAD
    assert calls(national_portal_simulator, "DongBoHoSoMC") == [[(CODES[0], "2")]]


def test_a_blocked_dossier_does_not_hold_back_the_others(national_portal_simulator, django_capture_on_commit_callbacks):
    # given: the first change of one dossier is a dead letter; its later change waits
    with django_capture_on_commit_callbacks(execute=False):
        dead = enqueue(CODES[0], status=42)
        blocked = enqueue(CODES[0], event_id="s4", status=4, day=16)
        free = [enqueue(code) for code in CODES[1:3]]
    assert outbox_deliver(message_id=dead.pk) == "dead"
    # when
    outbox_deliver(message_id=free[0].pk)
    outbox_sweep()
    # then
    assert OutboxMessage.objects.get(pk=blocked.pk).state == State.PENDING
    assert {OutboxMessage.objects.get(pk=m.pk).state for m in free} == {State.DELIVERED}
    assert [code for call in calls(national_portal_simulator, "DongBoHoSoMC") for code, _ in call] == CODES[1:3]


def test_an_update_of_a_dossier_the_portal_lost_recreates_it_in_the_batch(
    national_portal_simulator, django_capture_on_commit_callbacks
):
    # given: two dossiers on the portal; then the portal loses everything
    with django_capture_on_commit_callbacks(execute=True):
        for code in CODES[:2]:
            enqueue(code)
    national_portal_simulator.reset()
    # when: both change again
    with django_capture_on_commit_callbacks(execute=False):
        updates = [enqueue(code, event_id="s4", status=4, day=16) for code in CODES[:2]]
    outbox_deliver(message_id=updates[0].pk)
    # then: the refused update was repeated as a creation of the same records
    *_, refused, created = national_portal_simulator.requests("DongBoHoSoMC")  # after a fresh login
    assert (refused["body"]["isUpdating"], created["body"]["isUpdating"]) == ("True", "False")
    assert refused["body"]["data"] == created["body"]["data"]
    assert {c: s["status"] for c, s in national_portal_simulator.state().items()} == dict.fromkeys(CODES[:2], "4")
