"""The outbox: write messages in the caller's transaction, relay them in order after commit.

Rules (docs/decisions/0003-national-portal-outbox.md):

1. A message is claimed with a compare-and-swap UPDATE (pending and due, or sending with an
   expired lease -> sending with a new lease), so two workers never send it at the same time.
2. Per (topic, key) messages go out in sequence order: one is sent only when every earlier one
   is delivered; delivering one kicks the next.
3. A transient failure puts the message back to pending with exponential backoff and jitter; the
   periodic sweeper re-kicks due messages. A permanent failure, or too many attempts, makes it a
   dead letter (logged as an error) that an operator can replay.
"""

from __future__ import annotations

import logging
import os
import random
import socket
from collections.abc import Iterable
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, F, Max, OuterRef, Q
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
    existing = OutboxMessage.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return existing
    last = OutboxMessage.objects.filter(topic=topic, key=key).aggregate(m=Max("sequence"))["m"] or 0
    message = OutboxMessage.objects.create(
        topic=topic, key=key, sequence=last + 1, idempotency_key=idempotency_key, payload=payload
    )
    transaction.on_commit(partial(outbox_kick, message_id=message.pk))
    return message


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
    return ceiling / 2 + random.uniform(0, ceiling / 2)  # noqa: S311  (jitter, not crypto)


def _lease() -> timedelta:
    # A lease outlives the task's hard time limit: once it has expired the claimant is dead.
    return timedelta(seconds=getattr(settings, "CELERY_TASK_TIME_LIMIT", None) or 300) + timedelta(seconds=60)


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def _earlier_undelivered(*, topic: str, key: str, sequence: int) -> bool:
    return (
        OutboxMessage.objects.filter(topic=topic, key=key, sequence__lt=sequence)
        .exclude(state=State.DELIVERED)
        .exists()
    )


def outbox_deliver(*, message_id: int) -> str:
    """Deliver MESSAGE_ID if it is due and its turn; return what happened (for logs and tests)."""
    from integrations.outbox_handlers import outbox_handler_for  # late import keeps the model import light

    message = OutboxMessage.objects.filter(pk=message_id).first()
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
        .filter(Q(state=State.PENDING, next_attempt_at__lte=now) | Q(state=State.SENDING, lease_until__lt=now))
        .update(state=State.SENDING, lease_until=lease_until, attempts=F("attempts") + 1)
    )
    if not claimed:
        return "not_claimed"
    message.refresh_from_db()
    ours = OutboxMessage.objects.filter(pk=message_id, state=State.SENDING, lease_until=lease_until)
    # 3. Send it.
    try:
        outbox_handler_for(message.topic)(message)
    except Exception as exc:
        return _record_failure(message=message, ours=ours, exc=exc)
    # 4. Record the delivery (the receiver acknowledged it, so it stands even if our lease ran out).
    OutboxMessage.objects.filter(pk=message_id, state=State.SENDING).update(
        state=State.DELIVERED,
        delivered_at=timezone.now(),
        delivered_by=_worker_id(),
        lease_until=None,
        last_error="",
    )
    # 5. Kick the next message of the key, if it is waiting.
    following = (
        OutboxMessage.objects.filter(topic=message.topic, key=message.key, sequence__gt=message.sequence)
        .exclude(state=State.DELIVERED)
        .order_by("sequence")
        .values_list("pk", "state")
        .first()
    )
    if following is not None and following[1] == State.PENDING:
        outbox_kick(message_id=following[0])
    return "delivered"


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
    """Queue every due message that is first in line for its key; return how many were queued."""
    now = timezone.now()
    earlier_open = OutboxMessage.objects.filter(
        topic=OuterRef("topic"), key=OuterRef("key"), sequence__lt=OuterRef("sequence")
    ).exclude(state=State.DELIVERED)
    due = list(
        OutboxMessage.objects.filter(
            Q(state=State.PENDING, next_attempt_at__lte=now) | Q(state=State.SENDING, lease_until__lt=now)
        )
        .filter(~Exists(earlier_open))
        .order_by("next_attempt_at", "pk")
        .values_list("pk", flat=True)[:limit]
    )
    queued = 0
    for pk in due:
        if not outbox_kick(message_id=pk):
            break  # the broker is down: the next sweep tries again
        queued += 1
    return queued
