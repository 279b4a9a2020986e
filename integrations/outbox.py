"""The outbox: write messages in the caller's transaction, relay them in order after commit.

Rules (docs/decisions/0003-national-portal-outbox.md):

1. A message is claimed with a compare-and-swap UPDATE (pending and due, or sending with an
   expired lease -> sending with a new lease), so two workers never send it at the same time.
2. Per (topic, key) messages go out in sequence order: one is sent only when every earlier one
   is delivered; delivering one kicks the next. A delivery carries a batch: the message plus other
   due messages first in line for their own keys (one per key), in the same receiver calls.
3. A transient failure puts the message back to pending with exponential backoff and jitter; the
   periodic sweeper re-kicks due messages. A permanent failure, or too many attempts, makes it a
   dead letter (logged as an error) that an operator can replay.
"""

from __future__ import annotations

import logging
import os
import random
import socket
import time
from collections.abc import Iterable
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Count, Exists, F, Max, OuterRef, Q
from django.utils import timezone

from integrations.models import OutboxMessage

if TYPE_CHECKING:
    from django.db.models import QuerySet

logger = logging.getLogger("integrations.outbox")

State = OutboxMessage.State


def outbox_enqueue(*, topic: str, key: str, payload: dict[str, Any], event_id: str) -> OutboxMessage:
    """Append a message for KEY in the current transaction; delivery starts after commit.

    The caller must hold a lock that serialises changes of KEY (e.g. the dossier row), so that
    sequence numbers follow the order of the changes. EVENT_ID makes the message idempotent.
    """
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("outbox_enqueue() must be called inside transaction.atomic()")
    idempotency_key = f"{topic}:{key}:{event_id}"
    # One round trip: an earlier message of this event, the key's last sequence, and whether an earlier
    # message of the key is still undelivered.
    same_key = Q(topic=topic, key=key)
    facts = OutboxMessage.objects.filter(same_key | Q(idempotency_key=idempotency_key)).aggregate(
        existing_id=Max("pk", filter=Q(idempotency_key=idempotency_key)),
        last=Max("sequence", filter=same_key),
        open_before=Count("pk", filter=same_key & ~Q(state=State.DELIVERED)),
    )
    existing_id, last, open_before = facts["existing_id"], facts["last"], facts["open_before"]
    if existing_id is not None:
        return OutboxMessage.objects.get(pk=existing_id)
    message = OutboxMessage.objects.create(
        topic=topic, key=key, sequence=(last or 0) + 1, idempotency_key=idempotency_key, payload=payload
    )
    transaction.on_commit(partial(_kick_if_first_in_line, message=message, known_first=not open_before))
    return message


def _kick_if_first_in_line(*, message: OutboxMessage, known_first: bool = False) -> None:
    # After commit: a message behind an undelivered one is kicked by that one's delivery, which
    # looks for followers after it is recorded, so it sees this committed row; no task is needed.
    # KNOWN_FIRST: every earlier message was delivered when this one was written (delivered stays
    # delivered, and no earlier message can appear), so it is first in line without asking again.
    if known_first or not _earlier_undelivered(topic=message.topic, key=message.key, sequence=message.sequence):
        outbox_kick(message_id=message.pk)


def outbox_kick(*, message_id: int) -> bool:
    """Queue delivery of MESSAGE_ID; if that fails, leave the message to the sweeper and return False."""
    from integrations.tasks import outbox_deliver_task  # late import: tasks imports this module

    try:
        outbox_deliver_task.delay(message_id)
    except Exception as exc:
        # The row is committed and pending: a broker outage must not fail the caller's request.
        logger.warning(
            "outbox message %s: could not queue delivery (%s: %s); the sweeper will retry",
            message_id,
            exc.__class__.__name__,
            str(exc)[:200],
        )
        return False
    return True


def outbox_replay(*, message_ids: Iterable[int]) -> int:
    """Move dead letters among MESSAGE_IDS back to pending and queue them; return how many."""
    with transaction.atomic():
        replayed = list(
            OutboxMessage.objects.select_for_update()
            .filter(pk__in=list(message_ids), state=State.DEAD)
            .values_list("pk", flat=True)
        )
        OutboxMessage.objects.filter(pk__in=replayed).update(
            state=State.PENDING, attempts=0, next_attempt_at=timezone.now(), lease_until=None
        )
        for pk in replayed:
            transaction.on_commit(partial(outbox_kick, message_id=pk))
    if replayed:
        logger.info("outbox: replayed %s dead letter(s): %s", len(replayed), replayed)
    return len(replayed)


def outbox_backoff_seconds(*, attempts: int) -> float:
    """Return how long to wait after the ATTEMPTS-th failed try: exponential, capped, jittered."""
    ceiling = min(
        settings.OUTBOX_BACKOFF_MAX_SECONDS,
        settings.OUTBOX_BACKOFF_BASE_SECONDS * 2 ** min(max(attempts - 1, 0), 32),
    )
    # Equal jitter: never less than half the ceiling, so retries spread out but still back off.
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311  # nosec B311  # jitter, not crypto


def _lease() -> timedelta:
    # A lease outlives the task's hard time limit: once it has expired the claimant is dead.
    # OUTBOX_LEASE_SECONDS may shorten it where deliveries are bounded by short HTTP timeouts.
    configured = getattr(settings, "OUTBOX_LEASE_SECONDS", None)
    if configured:
        return timedelta(seconds=configured)
    return timedelta(seconds=getattr(settings, "CELERY_TASK_TIME_LIMIT", None) or 300) + timedelta(seconds=60)


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _earlier_undelivered(*, topic: str, key: str, sequence: int) -> bool:
    return (
        OutboxMessage.objects.filter(topic=topic, key=key, sequence__lt=sequence)
        .exclude(state=State.DELIVERED)
        .exists()
    )


def _claimable(now) -> Q:
    return Q(state=State.PENDING, next_attempt_at__lte=now) | Q(state=State.SENDING, lease_until__lt=now)


def _first_in_line() -> Exists:
    earlier_open = OutboxMessage.objects.filter(
        topic=OuterRef("topic"), key=OuterRef("key"), sequence__lt=OuterRef("sequence")
    ).exclude(state=State.DELIVERED)
    return ~Exists(earlier_open)


def _claim_due(*, topic: str, lease_until, limit: int, exclude_key: str | None = None) -> list[OutboxMessage]:
    """Claim up to LIMIT due messages of TOPIC that are first in line for their keys.

    One message per key at most: only the first undelivered message of a key is ever claimable, so
    a batch never carries two changes of one dossier and the order per key holds.
    """
    if limit <= 0:
        return []
    now = timezone.now()
    with transaction.atomic():
        # SKIP LOCKED on PostgreSQL: two workers building batches at once take different rows.
        # SQLite ignores it (its writers are serialised anyway).
        due = OutboxMessage.objects.select_for_update(skip_locked=True, of=("self",)).filter(
            _claimable(now), topic=topic
        )
        if exclude_key is not None:
            due = due.exclude(key=exclude_key)
        candidates = list(
            # Oldest first by id: an index walk that stops after LIMIT heads, even with a large backlog.
            due.filter(_first_in_line()).order_by("pk").values_list("pk", flat=True)[:limit]
        )
        if not candidates:
            return []
        OutboxMessage.objects.filter(_claimable(now), pk__in=candidates).update(
            state=State.SENDING, lease_until=lease_until, attempts=F("attempts") + 1
        )
        claimed = OutboxMessage.objects.filter(pk__in=candidates, state=State.SENDING, lease_until=lease_until)
        return list(claimed.order_by("pk"))


def _send(batch: list[OutboxMessage]) -> dict[int, Exception | None]:
    """Send BATCH through its topic's handler; return each message's failure (None: acknowledged)."""
    from integrations.outbox_handlers import outbox_handler_for  # late import keeps the model import light

    try:
        failures = outbox_handler_for(batch[0].topic)(batch)
    except Exception as exc:
        if len(batch) > 1 and getattr(exc, "permanent", False) is True:
            # The portal refused the whole call, perhaps for one record: send each alone, so only
            # the bad one becomes a dead letter and the others are not blocked behind it.
            outcomes: dict[int, Exception | None] = {}
            for message in batch:
                outcomes.update(_send([message]))
            return outcomes
        return {message.pk: exc for message in batch}
    return {message.pk: failures.get(message.pk) for message in batch}


def outbox_deliver(*, message_id: int) -> str:
    """Deliver MESSAGE_ID (with other due messages of its topic) if it is due and its turn.

    Return what happened to MESSAGE_ID (for logs and tests).
    """
    # 0. Cheap exit for redundant tasks (already delivered, or in another worker's batch): one query.
    now = timezone.now()
    row = OutboxMessage.objects.filter(pk=message_id).values("state", "lease_until", "next_attempt_at").first()
    if row is None:
        return "missing"
    if not (
        (row["state"] == State.PENDING and row["next_attempt_at"] <= now)
        or (row["state"] == State.SENDING and row["lease_until"] is not None and row["lease_until"] < now)
    ):
        return "not_claimed"
    message = OutboxMessage.objects.filter(pk=message_id).defer("payload").first()
    if message is None:
        return "missing"
    # 1. Its turn? Earlier messages of the key go first; the last of them to be delivered kicks this one.
    if _earlier_undelivered(topic=message.topic, key=message.key, sequence=message.sequence):
        return "waiting"
    # 2. Claim it (compare-and-swap): only one worker wins; a duplicate task finds nothing to do.
    now = timezone.now()
    lease_until = now + _lease()
    claimed = (
        OutboxMessage.objects.filter(pk=message_id)
        .filter(_claimable(now))
        .update(state=State.SENDING, lease_until=lease_until, attempts=F("attempts") + 1)
    )
    if not claimed:
        return "not_claimed"
    message.refresh_from_db()
    # 3. Batch: other dossiers' due messages ride in the same portal calls (one per key).
    companions = _claim_due(
        topic=message.topic, lease_until=lease_until, limit=_batch_size() - 1, exclude_key=message.key
    )
    results, delivered = _deliver_batch([message, *companions], lease_until=lease_until)
    # 4. Drain a backlog: while batches go out full, keep taking due messages (within a time budget),
    # so one task does the work of many. A batch that was not full took every due message there was;
    # later ones have their own tasks, so a steady trickle never keeps a worker process to itself.
    deadline = time.monotonic() + float(getattr(settings, "OUTBOX_DRAIN_SECONDS", 0) or 0)
    full = len(companions) + 1 >= _batch_size()
    last_round = delivered
    while last_round and full:
        if time.monotonic() >= deadline:
            # Out of budget with work left: another task carries on (the kicks above rely on it).
            _kick_next_due(topic=message.topic)
            break
        lease_until = timezone.now() + _lease()
        batch = _claim_due(topic=message.topic, lease_until=lease_until, limit=_batch_size())
        if not batch:
            break
        full = len(batch) >= _batch_size()
        _, last_round = _deliver_batch(batch, lease_until=lease_until)
        delivered += last_round
    # 5. Kick the next message of each delivered key, if it is (still) waiting.
    if delivered:
        _kick_followers(delivered)
    return results.get(message.pk, "delivered")


def _deliver_batch(batch: list[OutboxMessage], *, lease_until) -> tuple[dict[int, str], list[OutboxMessage]]:
    """Send BATCH (claimed with LEASE_UNTIL); record each outcome; return failures by id and the delivered."""
    # A message counts as delivered only if the calls that carried it were acknowledged.
    outcomes = _send(batch)
    results: dict[int, str] = {}
    delivered = [m for m in batch if outcomes[m.pk] is None]
    for failed in batch:
        exc = outcomes[failed.pk]
        if exc is not None:
            ours = OutboxMessage.objects.filter(pk=failed.pk, state=State.SENDING, lease_until=lease_until)
            results[failed.pk] = _record_failure(message=failed, ours=ours, exc=exc)
    if delivered:
        # The receiver acknowledged them, so this stands even if our lease ran out.
        OutboxMessage.objects.filter(pk__in=[m.pk for m in delivered], state=State.SENDING).update(
            state=State.DELIVERED,
            delivered_at=timezone.now(),
            delivered_by=_worker_id(),
            lease_until=None,
            last_error="",
        )
    return results, delivered


def _kick_next_due(*, topic: str) -> None:
    now = timezone.now()
    following = (
        OutboxMessage.objects.filter(_claimable(now), topic=topic)
        .filter(_first_in_line())
        .order_by("pk")
        .values_list("pk", flat=True)
        .first()
    )
    if following is not None:
        outbox_kick(message_id=following)


def _batch_size() -> int:
    return max(1, int(getattr(settings, "OUTBOX_BATCH_SIZE", 1)))


def _kick_followers(delivered: list[OutboxMessage]) -> None:
    """Queue the next message of each delivered key that is due: one task per batch of them.

    A task takes its message plus other due first-in-line messages as companions and drains, so one
    kick per OUTBOX_BATCH_SIZE followers covers them; a kicked message another worker took already
    is part of that worker's drain.
    """
    topic = delivered[0].topic
    after = {m.key: m.sequence for m in delivered}
    nearest: dict[str, tuple[int, int, str, Any]] = {}
    rows = (
        OutboxMessage.objects.filter(topic=topic, key__in=list(after))
        .exclude(state=State.DELIVERED)
        .values_list("key", "sequence", "pk", "state", "next_attempt_at")
    )
    for key, sequence, pk, state, due_at in rows:
        if sequence > after[key] and (key not in nearest or sequence < nearest[key][0]):
            nearest[key] = (sequence, pk, state, due_at)
    now = timezone.now()
    # Followers still in backoff are the sweeper's, when they are due.
    due = sorted(pk for _seq, pk, state, due_at in nearest.values() if state == State.PENDING and due_at <= now)
    for pk in due[:: _batch_size()]:
        outbox_kick(message_id=pk)


def _record_failure(*, message: OutboxMessage, ours: QuerySet[OutboxMessage], exc: Exception) -> str:
    permanent = getattr(exc, "permanent", False) is True
    error = f"{exc.__class__.__name__}: {exc}"[:2000]
    if permanent or message.attempts >= settings.OUTBOX_MAX_ATTEMPTS:
        ours.update(state=State.DEAD, lease_until=None, last_error=error)
        # An error-level record is the alert: a dead letter blocks its key until an operator replays it.
        logger.error(
            "outbox message %s (%s %s #%s) is a dead letter after %s attempt(s): %s",
            message.pk,
            message.topic,
            message.key,
            message.sequence,
            message.attempts,
            error,
        )
        return "dead"
    delay = outbox_backoff_seconds(attempts=message.attempts)
    ours.update(
        state=State.PENDING,
        next_attempt_at=timezone.now() + timedelta(seconds=delay),
        lease_until=None,
        last_error=error,
    )
    logger.warning(
        "outbox message %s (%s #%s) failed (attempt %s), retry in %.0fs: %s",
        message.pk,
        message.topic,
        message.sequence,
        message.attempts,
        delay,
        error,
        # Only failures we did not map (bugs, database errors) deserve a traceback.
        exc_info=not hasattr(exc, "permanent"),
    )
    return "retry"


def outbox_sweep(*, limit: int = 500) -> int:
    """Queue the due messages that are first in line for their keys; return how many tasks were queued.

    One task per OUTBOX_BATCH_SIZE of them and topic: each task takes companions and drains.
    """
    now = timezone.now()
    due = list(
        OutboxMessage.objects.filter(_claimable(now))
        .filter(_first_in_line())
        .order_by("next_attempt_at", "pk")
        .values_list("pk", "topic")[:limit]
    )
    by_topic: dict[str, list[int]] = {}
    for pk, topic in due:
        by_topic.setdefault(topic, []).append(pk)
    queued = 0
    for pks in by_topic.values():
        for pk in pks[:: _batch_size()]:
            if not outbox_kick(message_id=pk):
                return queued  # the broker is down: the next sweep tries again
            queued += 1
    return queued
