"""The audit trail: append a hash-chained record in the caller's transaction; verify the chain."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone

from portal import context
from portal.hashchain import GENESIS, ChainReport, chain_digest, chain_verify
from portal.models import AuditChainHead, AuditRecord

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.db.models import Model


def _fields(record: AuditRecord) -> dict[str, Any]:
    return {
        "at": record.at.isoformat(),
        "actor": record.actor_id,
        "actor_label": record.actor_label,
        "action": record.action,
        "object_type": record.object_type,
        "object_id": record.object_id,
        "ip": record.ip,
        "request_id": record.request_id,
        "reason": record.reason,
        "data": record.data,
    }


def audit_record(
    *,
    action: str,
    actor: AbstractBaseUser | None = None,
    obj: Model | None = None,
    object_type: str = "",
    object_id: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditRecord:
    """Append one record; must run inside the transaction of the action it records."""
    conn = transaction.get_connection()
    if not conn.in_atomic_block:
        raise RuntimeError("audit_record() must be called inside transaction.atomic()")
    ctx = context.current()
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(obj.pk)
    actor_obj = actor if actor is not None and getattr(actor, "is_authenticated", False) else None
    # 1. Lock the head row: appends are serialised so each record chains to exactly one predecessor.
    head = AuditChainHead.objects.select_for_update().filter(pk=1).values_list("last_hash", "count").first()
    if head is None:
        restored = _chain_head_restore()
        head = (restored.last_hash, restored.count)
    last_hash, count = head
    record = AuditRecord(
        at=timezone.now(),
        actor=actor_obj,
        actor_label=(actor_obj.get_username() if actor_obj else "system"),
        action=action,
        object_type=object_type,
        object_id=object_id,
        ip=ctx.ip,
        request_id=ctx.request_id,
        reason=reason,
        data=data or {},
        prev_hash=last_hash,
    )
    # 2. Round-trip data through JSON first so the digest matches what a later read sees.
    record.data = json.loads(json.dumps(record.data, ensure_ascii=False, default=str))
    record.hash = chain_digest(record.prev_hash, _fields(record))
    # 3. Append the record and move the head, still under the head's lock.
    if conn.vendor == "postgresql":
        _append_postgresql(conn, record, count=count + 1)
    else:
        record.save(force_insert=True)
        AuditChainHead.objects.filter(pk=1).update(last_hash=record.hash, count=count + 1)
    return record


def _append_postgresql(conn, record: AuditRecord, *, count: int) -> None:
    """INSERT the record and UPDATE the head in one statement (one round trip while the chain is locked)."""
    fields = [f for f in AuditRecord._meta.concrete_fields if not f.primary_key]
    quote = conn.ops.quote_name
    sql = (
        f"WITH appended AS (INSERT INTO {quote(AuditRecord._meta.db_table)} "  # noqa: S608  # nosec B608
        f"({', '.join(quote(f.column) for f in fields)}) VALUES ({', '.join(['%s'] * len(fields))}) RETURNING id) "
        f"UPDATE {quote(AuditChainHead._meta.db_table)} SET last_hash = %s, count = %s WHERE id = 1 "
        "RETURNING (SELECT id FROM appended)"
    )
    values = [f.get_db_prep_save(getattr(record, f.attname), conn) for f in fields]
    with conn.cursor() as cursor:
        cursor.execute(sql, [*values, record.hash, count])
        row = cursor.fetchone()
    if row is None:  # the head row vanished under its own lock: cannot happen, but never append unchained
        raise RuntimeError("audit chain head missing")
    record.pk = row[0]
    record._state.adding = False
    record._state.db = conn.alias


def _chain_head_restore() -> AuditChainHead:
    """Recreate the head row (a migration makes it; a test-database flush removes it), locked."""
    last = AuditRecord.objects.order_by("-id").values_list("hash", flat=True).first()
    count = AuditRecord.objects.count()
    AuditChainHead.objects.get_or_create(pk=1, defaults={"last_hash": last or GENESIS, "count": count})
    return AuditChainHead.objects.select_for_update().get(pk=1)


def audit_chain_verify(*, batch: int = 5000) -> ChainReport:
    """Recompute every hash in order; report the first record whose link or digest is wrong."""
    head = AuditChainHead.objects.filter(pk=1).first()
    return chain_verify(
        entries=AuditRecord.objects.order_by("id").iterator(chunk_size=batch),
        fields=_fields,
        head_hash=head.last_hash if head else None,
        noun="record",
    )
