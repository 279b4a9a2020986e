"""Export the audit chain head to a store outside the database, and check the chain against it.

security.md T28, decision 0057. Whoever can rewrite the audit table can also recompute every hash after it,
so the chain alone proves nothing against a privileged writer. Once a day the head (id and hash of the newest
record, the number of records up to it, their time) is appended as one JSON line to
``AUDIT_HEAD_EXPORT_DIR/audit-heads.jsonl``, which production keeps where the application cannot rewrite it
(another host's mount, an append-only file). ``manage.py audit_verify --exported-heads`` then checks that
each exported record still exists with the exported hash and that the number of records up to it is the
exported count: a rewritten, deleted or inserted record before an exported head is found even when the
chain was recomputed to look intact.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass
from pathlib import Path

from celery import shared_task
from django.conf import settings
from django.utils import timezone

from portal.hashchain import GENESIS
from portal.models import AuditChainHead, AuditRecord

logger = logging.getLogger(__name__)

EXPORT_FILE_NAME = "audit-heads.jsonl"


def audit_heads_path() -> Path:
    return Path(settings.AUDIT_HEAD_EXPORT_DIR) / EXPORT_FILE_NAME


def audit_head_current() -> dict:
    """The chain head now: id, hash and time of the newest record, number of records up to it."""
    head = AuditChainHead.objects.filter(pk=1).values_list("last_hash", flat=True).first()
    newest = AuditRecord.objects.order_by("-id").values("id", "hash", "at")
    # The head row and its record commit together: the record the head names, even if more came since.
    last = (newest.filter(hash=head).first() if head and head != GENESIS else None) or newest.first()
    if last is None:
        return {"last_id": None, "last_hash": GENESIS, "count": 0, "last_at": None}
    return {
        "last_id": last["id"],
        "last_hash": last["hash"],
        "count": AuditRecord.objects.filter(id__lte=last["id"]).count(),
        "last_at": last["at"].isoformat(),
    }


def audit_head_export(path: Path | None = None) -> dict:
    """Append the current head as one JSON line (created 0640, flushed to disk); return it."""
    path = path or audit_heads_path()
    entry = {"exported_at": timezone.now().isoformat(), **audit_head_current()}
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o640)
    try:
        os.write(fd, (json.dumps(entry, sort_keys=True) + "\n").encode())
        os.fsync(fd)
    finally:
        os.close(fd)
    logger.info("audit chain head exported: record %s, %s records", entry["last_id"], entry["count"])
    return entry


@dataclass(frozen=True)
class HeadsReport:
    checked: int
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def audit_heads_verify(path: Path | None = None) -> HeadsReport:
    """Check the records against every exported head; report the first head that no longer holds."""
    path = path or audit_heads_path()
    heads = []
    with path.open(encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            try:
                entry = json.loads(line)
                heads.append((entry["last_id"] or 0, int(entry["count"]), entry["last_hash"], entry["exported_at"]))
            except (ValueError, KeyError, TypeError):
                return HeadsReport(len(heads), f"line {number} of {path} is not an exported head")
    # In id order, counting the records between one head and the next: one pass over the table.
    heads.sort(key=lambda head: (head[0], head[1]))
    counted, counted_to = 0, 0
    for checked, (last_id, count, last_hash, exported_at) in enumerate(heads):
        counted += AuditRecord.objects.filter(id__gt=counted_to, id__lte=last_id).count()
        counted_to = last_id
        if last_id:
            stored = AuditRecord.objects.filter(pk=last_id).values_list("hash", flat=True).first()
            if stored is None:
                return HeadsReport(checked, f"record {last_id} (head exported {exported_at}) is missing")
            if stored != last_hash:
                return HeadsReport(checked, f"record {last_id} no longer has the hash exported {exported_at}")
        if counted != count:
            return HeadsReport(
                checked,
                f"{counted} record(s) up to record {last_id}, but {count} when exported {exported_at} "
                "(records deleted or inserted)",
            )
    return HeadsReport(len(heads))


@shared_task
def audit_head_export_task() -> None:
    """Daily (beat ``audit-head-export``): export the chain head."""
    audit_head_export()
