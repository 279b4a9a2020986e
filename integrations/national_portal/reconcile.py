"""Daily reconciliation with DVCQG: does the portal show our latest delivered state of each dossier?

For every key of topic ``national_portal.dossier`` with a message delivered in the period (the
outbox ledger is the source: this app never reads the procedures tables), look the dossier up with
``TraCuuHoSo`` (several at once, bounded by NATIONAL_PORTAL_RECONCILE_CONCURRENCY) and compare it
with the payload of the key's latest delivered message:

- *matching*: same status and same time of the latest step;
- *missing*: the portal does not know the dossier -> repaired;
- *behind*: the portal shows an older step, or the same time with another status -> repaired;
- *ahead*: the portal shows a newer step than ours (someone else wrote it) -> reported only,
  re-sending ours would move it backwards;
- *in flight*: the key has undelivered messages; their delivery will set the state, nothing is done;
- *error*: the look-up failed.

A repair re-sends our latest state through the outbox: the key's latest message, still the latest,
goes back to pending (one conditional UPDATE). The relay then sends it like any message, in order:
a change that arrives meanwhile waits behind it. Re-sending is harmless by design (the same record
with the same timestamps; docs/decisions/0003). No new sequence number is taken, so the repair can
never collide with a status change being written by the procedures app.
"""

from __future__ import annotations

import logging
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone

from integrations.models import NationalPortalReconciliation, OutboxMessage
from integrations.national_portal import get_national_portal
from integrations.national_portal.payload import format_portal_datetime

logger = logging.getLogger("integrations.national_portal")

TOPIC = "national_portal.dossier"
CHUNK = 500
State = OutboxMessage.State


def _ours(payload: dict[str, Any]) -> dict[str, str]:
    changed_at = datetime.fromisoformat(payload["changed_at"])
    return {"status": str(payload["status"]), "changed_at": format_portal_datetime(changed_at)}


def _portal_view(found: dict[str, Any] | None) -> dict[str, str] | None:
    """Return the portal's current status and step time of a TraCuuHoSo result (None: unknown dossier)."""
    if found is None:
        return None
    status, changed_at = str(found.get("TrangThaiHienTai") or ""), str(found.get("ThoiDiemCapNhat") or "")
    if not changed_at:
        # Portals that do not say which step is current: take the newest step they list.
        steps = [s for s in found.get("TienDoXuLy") or [] if isinstance(s, dict)]
        newest = max(steps, key=lambda s: (str(s.get("ThoiDiemXuLy", "")), str(s.get("TrangThai", ""))), default={})
        status, changed_at = str(newest.get("TrangThai", "")), str(newest.get("ThoiDiemXuLy", ""))
    return {"status": status, "changed_at": changed_at, "dossier_status": str(found.get("TrangThaiHoSo", ""))}


def _compare(ours: dict[str, str], portal: dict[str, str] | None) -> str:
    if portal is None:
        return "missing"
    if portal["changed_at"] > ours["changed_at"]:
        return "ahead"
    if (portal["changed_at"], portal["status"], portal["dossier_status"]) == (
        ours["changed_at"],
        ours["status"],
        ours["status"],
    ):
        return "matching"
    return "behind"


def _lookup(portal: Any, key: str) -> tuple[str, dict[str, Any] | None, Exception | None]:
    try:
        return key, portal.lookup(key), None
    except Exception as exc:
        return key, None, exc


def _resend(message_id: int) -> bool:
    """Put the key's latest message back to pending if it is still the latest and delivered."""
    later = OutboxMessage.objects.filter(
        topic=OuterRef("topic"), key=OuterRef("key"), sequence__gt=OuterRef("sequence")
    )
    with transaction.atomic():
        reopened = (
            OutboxMessage.objects.filter(pk=message_id, state=State.DELIVERED)
            .filter(~Exists(later))
            .update(state=State.PENDING, next_attempt_at=timezone.now(), lease_until=None)
        )
        if reopened:
            from integrations.outbox import outbox_kick  # late import: outbox imports the handlers lazily

            transaction.on_commit(partial(outbox_kick, message_id=message_id))
    return bool(reopened)


def national_portal_reconcile(
    *, since: datetime | None = None, until: datetime | None = None, repair: bool = True
) -> NationalPortalReconciliation:
    """Compare DVCQG with our latest delivered state of every dossier delivered in [SINCE, UNTIL); store a report."""
    until = until or timezone.now()
    since = since or until - timedelta(hours=settings.NATIONAL_PORTAL_RECONCILE_HOURS)
    report = NationalPortalReconciliation.objects.create(period_start=since, period_end=until)
    keys = list(
        OutboxMessage.objects.filter(
            topic=TOPIC, state=State.DELIVERED, delivered_at__gte=since, delivered_at__lt=until
        )
        .values_list("key", flat=True)
        .distinct()
        .order_by("key")
    )
    portal = get_national_portal()
    counts = dict.fromkeys(
        ("matching", "repaired", "missing", "portal_ahead", "portal_behind", "in_flight", "errors"), 0
    )
    differences: list[dict[str, Any]] = []
    for start in range(0, len(keys), CHUNK):
        chunk = keys[start : start + CHUNK]
        latest = dict(
            OutboxMessage.objects.filter(topic=TOPIC, key__in=chunk)
            .values("key")
            .annotate(last=Max("sequence"))
            .values_list("key", "last")
        )
        rows = {
            m.key: m
            for m in OutboxMessage.objects.filter(topic=TOPIC, key__in=chunk, state=State.DELIVERED).filter(
                Q(*[Q(key=k, sequence=s) for k, s in latest.items()], _connector=Q.OR)
            )
        }
        settled = [k for k in chunk if k in rows]
        counts["in_flight"] += len(chunk) - len(settled)
        with ThreadPoolExecutor(max_workers=max(1, settings.NATIONAL_PORTAL_RECONCILE_CONCURRENCY)) as pool:
            answers = list(pool.map(partial(_lookup, portal), settled))
        for key, found, error in answers:
            message = rows[key]
            try:
                ours = _ours(message.payload)
            except (KeyError, TypeError, ValueError) as exc:
                ours, error = {}, exc
            if error is not None:
                counts["errors"] += 1
                differences.append(
                    {"key": key, "kind": "error", "ours": ours, "portal": None, "error": str(error)[:300]}
                )
                continue
            portal_view = _portal_view(found)
            kind = _compare(ours, portal_view)
            if kind == "matching":
                counts["matching"] += 1
                continue
            counts[{"missing": "missing", "ahead": "portal_ahead", "behind": "portal_behind"}[kind]] += 1
            repaired = repair and kind in ("missing", "behind") and _resend(message.pk)
            counts["repaired"] += int(repaired)
            differences.append({"key": key, "kind": kind, "ours": ours, "portal": portal_view, "repaired": repaired})
    report.checked = len(keys)
    for name, value in counts.items():
        setattr(report, name, value)
    report.differences = differences
    report.finished_at = timezone.now()
    report.save()
    log = logger.warning if differences else logger.info
    log(
        "national portal reconciliation %s: checked %s, matching %s, re-sent %s, missing %s, ahead %s, behind %s, "
        "in flight %s, errors %s",
        report.pk,
        report.checked,
        report.matching,
        report.repaired,
        report.missing,
        report.portal_ahead,
        report.portal_behind,
        report.in_flight,
        report.errors,
    )
    return report
