"""Hash chains for append-only logs (the audit trail, the gateway's message log).

Each entry stores the previous entry's hash and its own: sha256(prev_hash | canonical JSON of its
fields). A single head row, locked on append, holds the newest hash so appends form a total order.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

GENESIS = "0" * 64


def chain_digest(prev_hash: str, fields: dict[str, Any]) -> str:
    """Return the hash of an entry with FIELDS that follows PREV_HASH."""
    body = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str)
    return hashlib.sha256(f"{prev_hash}|{body}".encode()).hexdigest()


@dataclass(frozen=True)
class ChainReport:
    checked: int
    first_broken_id: int | None
    problem: str = ""

    @property
    def ok(self) -> bool:
        return not self.problem


def chain_verify(
    *,
    entries: Iterable[Any],
    fields: Callable[[Any], dict[str, Any]],
    head_hash: str | None,
    head_count: int | None = None,
    noun: str = "entry",
) -> ChainReport:
    """Recompute ENTRIES (in id order); report the first whose link or content is wrong.

    HEAD_HASH (and HEAD_COUNT, when the head counts entries) must match the last entry: a head that
    is ahead of the entries means entries were deleted from the end.
    """
    prev = GENESIS
    checked = 0
    for entry in entries:
        if entry.prev_hash != prev:
            return ChainReport(checked, entry.pk, f"previous hash does not match the {noun} before it")
        if chain_digest(entry.prev_hash, fields(entry)) != entry.hash:
            return ChainReport(checked, entry.pk, f"{noun} content does not match its hash")
        prev = entry.hash
        checked += 1
    if head_hash is not None and (head_hash != prev or (head_count is not None and head_count != checked)):
        return ChainReport(checked, None, f"chain head does not match the last {noun} ({noun}s deleted?)")
    return ChainReport(checked, None)
