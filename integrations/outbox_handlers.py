"""Deliver outbox messages by topic: a small registry of handlers.

A handler receives a batch of messages of its topic (at most one per key, each first in line for
its key) and sends them. It returns the failures it found for single messages before sending
(e.g. a malformed payload), by message id; it raises when a call for the batch failed, with an
exception whose ``permanent`` attribute says whether a retry can help (missing means transient).
Then no message of the batch counts as delivered. Handlers must be safe to run twice for the same
messages: the relay delivers at least once.
"""

from __future__ import annotations

from collections.abc import Callable

from django.db.models import Min

from integrations.models import OutboxMessage
from integrations.national_portal import get_national_portal
from integrations.national_portal.base import DossierRecord, ProgressRecord, UnknownDossierError
from integrations.national_portal.payload import dossier_record_from_payload, progress_record_from_payload

Handler = Callable[[list[OutboxMessage]], dict[int, Exception]]


class UnknownTopicError(Exception):
    """No handler is registered for the message's topic; retrying cannot help."""

    permanent = True


def national_portal_dossier_deliver(messages: list[OutboxMessage]) -> dict[int, Exception]:
    """Upsert the dossiers on DVCQG (DongBoHoSoMC), then report their steps (CapNhatTienDoHoSoMC).

    One DongBoHoSoMC call for the dossiers new to the portal, one for the updates, one
    CapNhatTienDoHoSoMC call for all steps: ``data`` is a list, and the batch holds one change
    per dossier, so the order per dossier is kept.
    """
    failures: dict[int, Exception] = {}
    built: list[tuple[OutboxMessage, DossierRecord, ProgressRecord]] = []
    for message in messages:
        # Build both records first: a malformed payload fails before anything leaves.
        try:
            built.append(
                (message, dossier_record_from_payload(message.payload), progress_record_from_payload(message.payload))
            )
        except Exception as exc:
            failures[message.pk] = exc
    if not built:
        return failures
    # The first message of a key creates the dossier; every later one updates it. Earlier
    # messages are all delivered by now (the relay keeps the order), so this is stable on re-send.
    first_delivered = dict(
        OutboxMessage.objects.filter(
            topic=messages[0].topic,
            key__in=[m.key for m, _, _ in built],
            state=OutboxMessage.State.DELIVERED,
        )
        .values("key")
        .annotate(first=Min("sequence"))
        .values_list("key", "first")
    )
    creations = [d for m, d, _ in built if first_delivered.get(m.key, m.sequence) >= m.sequence]
    updates = [d for m, d, _ in built if first_delivered.get(m.key, m.sequence) < m.sequence]
    portal = get_national_portal()
    if creations:
        portal.sync_dossiers(creations, is_updating=False)
    if updates:
        try:
            portal.sync_dossiers(updates, is_updating=True)
        except UnknownDossierError:
            # The portal lost a dossier (or a restarted simulator forgot it). Every message carries
            # the whole record, so creating it now gives the portal the same state an update would.
            portal.sync_dossiers(updates, is_updating=False)
    progress = [p for _, _, p in built]
    try:
        portal.push_progress(progress)
    except UnknownDossierError:
        # The portal answered a creation but does not know the dossier (it lost it): create the
        # dossiers again (an upsert of the same state), then report the steps once more.
        portal.sync_dossiers([d for _, d, _ in built], is_updating=False)
        portal.push_progress(progress)
    return failures


HANDLERS: dict[str, Handler] = {
    "national_portal.dossier": national_portal_dossier_deliver,
}


def outbox_handler_for(topic: str) -> Handler:
    """Return the handler of TOPIC; raise a permanent error if there is none."""
    try:
        return HANDLERS[topic]
    except KeyError:
        raise UnknownTopicError(f"no outbox handler for topic {topic!r}") from None
