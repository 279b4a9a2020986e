"""The bulk recompute of open dossiers' due dates (procedures.clock.clock_recompute_open).

On PostgreSQL it runs outside a transaction with a second connection writing while the first reads and
replays (transactional tests, so that connection sees the rows); inside a transaction on the caller's
connection. Either way the stored clock is what the ledger gives, and a dossier changed by a transition
after it was read keeps the transition's answer.
"""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection, transaction

from procedures import clock
from procedures.models import Dossier

WRONG = dt.datetime(2030, 1, 1, 10, 0, tzinfo=dt.UTC)


def _expected_due(dossier: Dossier):
    dossier = Dossier.objects.select_related("procedure", "procedure_version", "agency").get(pk=dossier.pk)
    ledger = clock.ledger_of(dossier.events.exclude(clock_effect="").order_by("at", "id"))
    return clock.clock_compute_for(dossier, ledger=ledger).due


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("in_transaction", [False, True])
def test_the_recompute_writes_what_the_ledger_gives_in_or_outside_a_transaction(received_dossier, in_transaction):
    expected = _expected_due(received_dossier)
    Dossier.objects.filter(pk=received_dossier.pk).update(due_at=WRONG)  # update() leaves updated_at alone
    if in_transaction:
        with transaction.atomic():
            result = clock.clock_recompute_open(batch=1)
    else:
        result = clock.clock_recompute_open(batch=1)
    assert result == {"checked": 1, "changed": 1}
    received_dossier.refresh_from_db()
    assert received_dossier.due_at == expected
    # Nothing differs any more: a second pass writes nothing.
    assert clock.clock_recompute_open() == {"checked": 1, "changed": 0}


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_dossier_changed_after_it_was_read_keeps_the_transitions_answer(received_dossier, monkeypatch):
    if connection.vendor != "postgresql":
        pytest.skip("the updated_at guard is the PostgreSQL path's")  # CI runs on PostgreSQL
    Dossier.objects.filter(pk=received_dossier.pk).update(due_at=WRONG)
    batch = clock._Replay.batch

    def read_then_a_transition_writes(self, *, after, size):
        answer = batch(self, after=after, size=size)
        Dossier.objects.filter(pk=received_dossier.pk).update(updated_at=dt.datetime.now(dt.UTC))
        return answer

    monkeypatch.setattr(clock._Replay, "batch", read_then_a_transition_writes)
    assert clock.clock_recompute_open()["changed"] == 0
    received_dossier.refresh_from_db()
    assert received_dossier.due_at == WRONG
