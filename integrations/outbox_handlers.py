"""Deliver an outbox message by topic: a small registry of handlers.

A handler sends one message and returns; it raises an exception whose ``permanent`` attribute
says whether a retry can help (missing means transient). Handlers must be safe to run twice for
the same message: the relay delivers at least once.
"""

from __future__ import annotations

from collections.abc import Callable

from integrations.models import OutboxMessage
from integrations.national_portal import get_national_portal
from integrations.national_portal.base import UnknownDossierError
from integrations.national_portal.payload import dossier_record_from_payload, progress_record_from_payload

Handler = Callable[[OutboxMessage], None]


class UnknownTopicError(Exception):
    """No handler is registered for the message's topic; retrying cannot help."""

    permanent = True


def national_portal_dossier_deliver(message: OutboxMessage) -> None:
    """Upsert the dossier on DVCQG (DongBoHoSoMC), then report the step (CapNhatTienDoHoSoMC)."""
    # Build both records first: a malformed payload fails before anything leaves.
    dossier = dossier_record_from_payload(message.payload)
    progress = progress_record_from_payload(message.payload)
    # The first message of a key creates the dossier; every later one updates it. Earlier
    # messages are all delivered by now (the relay keeps the order), so this is stable on re-send.
    is_updating = OutboxMessage.objects.filter(
        topic=message.topic,
        key=message.key,
        sequence__lt=message.sequence,
        state=OutboxMessage.State.DELIVERED,
    ).exists()
    portal = get_national_portal()
    try:
        portal.sync_dossiers([dossier], is_updating=is_updating)
    except UnknownDossierError:
        if not is_updating:
            raise
        # The portal lost the dossier (or a restarted simulator forgot it). Every message carries
        # the whole record, so creating it now gives the portal the same state an update would.
        portal.sync_dossiers([dossier], is_updating=False)
    portal.push_progress([progress])


HANDLERS: dict[str, Handler] = {
    "national_portal.dossier": national_portal_dossier_deliver,
}


def outbox_handler_for(topic: str) -> Handler:
    """Return the handler of TOPIC; raise a permanent error if there is none."""
    try:
        return HANDLERS[topic]
    except KeyError:
        raise UnknownTopicError(f"no outbox handler for topic {topic!r}") from None
