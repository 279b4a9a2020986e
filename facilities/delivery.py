"""Deliver facility documents to the interlinking software through the outbox, and follow them up.

The outbox handler for topic "interlinking.document" (registered in FacilitiesConfig.ready) builds
the wire message of each document from its stored signed PDF (docs/interlinking-protocol.md, ours)
and submits the batch. The acknowledgement poll asks for the state of what was sent.
"""

from __future__ import annotations

import base64
import datetime as dt
import logging
from typing import Any

from django.utils import timezone

from facilities.models import HealthDocument
from facilities.services import TOPIC, document_mark_failed, document_mark_sent, document_state_update
from facilities.standards import STANDARDS, to_wire
from integrations.interlinking.client import InterlinkingError, get_interlinking_client

logger = logging.getLogger("facilities.delivery")

__all__ = ["TOPIC", "interlinking_document_deliver", "interlinking_poll", "wire_document"]

DOCUMENT_TYPES = {HealthDocument.Kind.BIRTH: "GCS", HealthDocument.Kind.DEATH: "GBT"}


class DocumentRejected(Exception):
    """The interlinking software refused the document itself: retrying the same content cannot help."""

    permanent = True


class DocumentNotReady(Exception):
    """The document has no signed PDF (yet): retry later."""

    permanent = False


def wire_document(document: HealthDocument) -> dict[str, Any]:
    """Return the document in the protocol's wire form (with the signed PDF)."""
    if not document.pdf or not document.sha256:
        raise DocumentNotReady(f"document {document.pk} has no signed PDF")
    with document.pdf.open("rb") as handle:
        pdf = handle.read()
    standard = STANDARDS[document.standard_version]
    previous = document.supersedes
    return {
        "message_id": f"{document.facility.code}:{document.number}:r{document.revision}",
        "document_type": DOCUMENT_TYPES[document.kind],
        "form": document.form,
        "number": document.number,
        "revision": document.revision,
        "book": f"{document.book}/{document.year}",
        "facility_code": document.facility.code,
        "facility_name": document.facility.name,
        "issued_at": timezone.localtime(document.issued_at).isoformat(),
        "standard_version": document.standard_version,
        "rule_version": document.rule_version,
        "supersedes": {"number": previous.number, "revision": previous.revision} if previous else None,
        "reissue_reason": document.reissue_reason or None,
        "related_birth_number": document.related_birth.number if document.related_birth_id else None,
        "multiple_birth_group": str(document.birth_group) if document.birth_group else None,
        "identity_check": {
            "status": document.verification_status,
            "checked_at": timezone.localtime(document.verified_at).isoformat() if document.verified_at else None,
        },
        "fields": to_wire(standard, document.data),
        "pdf": base64.b64encode(pdf).decode("ascii"),
        "sha256": document.sha256,
    }


def interlinking_document_deliver(messages: list) -> dict[int, Exception]:
    """Outbox handler: submit the documents of MESSAGES in one call; record receipts."""
    failures: dict[int, Exception] = {}
    built: list[tuple[Any, HealthDocument, dict[str, Any]]] = []
    ids = [m.payload.get("document_id") for m in messages]
    documents = {
        d.pk: d
        for d in HealthDocument.objects.filter(pk__in=ids).select_related("facility", "supersedes", "related_birth")
    }
    for message in messages:
        document = documents.get(message.payload.get("document_id"))
        if document is None:
            failures[message.pk] = DocumentRejected(f"document {message.payload.get('document_id')} does not exist")
            continue
        try:
            built.append((message, document, wire_document(document)))
        except Exception as exc:
            failures[message.pk] = exc
    if not built:
        return failures
    client = get_interlinking_client()
    try:
        results = client.submit([wire for _m, _d, wire in built])
    except InterlinkingError as exc:
        for _m, document, _w in built:
            document_mark_failed(document_id=document.pk, error=str(exc))
        raise
    now = timezone.now()
    for (message, document, _wire), result in zip(built, results, strict=True):
        if result.ok:
            document_mark_sent(document_id=document.pk, receipt_id=result.receipt_id, at=now)
        else:
            error = f"rejected ({result.code}): {result.message}"
            document_mark_failed(document_id=document.pk, error=error)
            failures[message.pk] = DocumentRejected(error)
    return failures


def _parse(value: str | None) -> dt.datetime | None:
    if not value:
        return None
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment if timezone.is_aware(moment) else timezone.make_aware(moment)


def interlinking_poll(*, limit: int = 1000, chunk: int = 100) -> int:
    """Ask the interlinking software for the state of sent documents; return how many changed."""
    pending = list(
        HealthDocument.objects.filter(
            delivery_status__in=[HealthDocument.Delivery.SENT, HealthDocument.Delivery.ACKNOWLEDGED]
        )
        .exclude(receipt_id="")
        .order_by("sent_at")
        .values_list("pk", "receipt_id")[:limit]
    )
    if not pending:
        return 0
    client = get_interlinking_client()
    by_receipt = {receipt: pk for pk, receipt in pending}
    changed = 0
    for start in range(0, len(pending), chunk):
        receipts = [receipt for _pk, receipt in pending[start : start + chunk]]
        for state in client.status(receipts):
            pk = by_receipt.get(state.receipt_id)
            if pk is None:
                continue
            if document_state_update(
                document_id=pk,
                state=state.state,
                acknowledged_at=_parse(state.acknowledged_at),
                used_at=_parse(state.used_at),
                registration_reference=state.registration_reference,
            ):
                changed += 1
    return changed
