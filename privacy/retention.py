"""The retention job: archive or delete stored files past their retention period, never of an open dossier.

For each active RetentionPolicy the files of dossiers finished more than `retention_months` ago are moved
to PRIVACY_ARCHIVE_ROOT (checksum verified) or deleted. Each file: one RetentionAction row and one audit
record in a transaction; the original is removed only after that transaction commits. Idempotent: a file
already handled (RetentionAction unique per class and object) is skipped.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from django.conf import settings
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from portal.audit import audit_record
from privacy.models import RetentionAction, RetentionPolicy

logger = logging.getLogger("privacy.retention")


@dataclass(frozen=True)
class StoredFile:
    object_id: str
    dossier_id: int
    name: str  # storage name


def _months_ago(now: datetime, months: int) -> datetime:
    year, month = divmod(now.year * 12 + now.month - 1 - months, 12)
    month += 1
    return now.replace(year=year, month=month, day=min(now.day, calendar.monthrange(year, month)[1]))


def _candidates(document_class: str, cutoff: datetime) -> list[StoredFile]:
    """Files of the class whose dossier is in a final state and finished before the cutoff."""
    from procedures.models import Dossier, DossierDocument, OfficialDocument

    finished = {"state__in": list(Dossier.FINAL_STATES), "finished_at__lte": cutoff}
    done = set(RetentionAction.objects.filter(document_class=document_class).values_list("object_id", flat=True))
    batch = settings.PRIVACY_RETENTION_BATCH
    rows: list[StoredFile] = []
    if document_class == RetentionPolicy.DocumentClass.DOSSIER_DOCUMENT:
        query = DossierDocument.objects.filter(**{f"dossier__{k}": v for k, v in finished.items()}).exclude(file="")
        rows = [StoredFile(str(pk), d, n) for pk, d, n in query.values_list("pk", "dossier_id", "file")]
    elif document_class == RetentionPolicy.DocumentClass.OFFICIAL_DOCUMENT:
        query = (
            OfficialDocument.objects.filter(**{f"dossier__{k}": v for k, v in finished.items()})
            .exclude(kind=OfficialDocument.Kind.RESULT)
            .exclude(file="")
        )
        rows = [StoredFile(str(pk), d, n) for pk, d, n in query.values_list("pk", "dossier_id", "file")]
    elif document_class == RetentionPolicy.DocumentClass.DOSSIER_RESULT:
        query = Dossier.objects.filter(**finished).exclude(result_file="")
        rows = [StoredFile(str(pk), pk, n) for pk, n in query.values_list("pk", "result_file")]
    return [row for row in rows if row.object_id not in done][:batch]


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _apply(policy: RetentionPolicy, item: StoredFile) -> bool:
    from procedures.models import Dossier

    source = Path(default_storage.path(item.name))
    if not source.exists():
        logger.warning("retention: %s %s has no file on disk", policy.document_class, item.object_id)
        return False
    checksum = _sha256(source)
    target: Path | None = None
    if policy.action == RetentionPolicy.Action.ARCHIVE:
        target = Path(settings.PRIVACY_ARCHIVE_ROOT) / policy.document_class / item.object_id / source.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)
        if _sha256(target) != checksum:
            target.unlink(missing_ok=True)
            raise OSError(f"archive copy of {policy.document_class} {item.object_id} does not match")
    try:
        with transaction.atomic():
            # Lock the dossier: a dossier reopened meanwhile (not final any more) is left alone.
            dossier = Dossier.objects.select_for_update().filter(pk=item.dossier_id).first()
            if dossier is None or dossier.state not in Dossier.FINAL_STATES:
                raise _Skip
            action = RetentionAction.objects.create(
                policy=policy,
                document_class=policy.document_class,
                object_id=item.object_id,
                dossier_id=item.dossier_id,
                action=policy.action,
                stored_name=item.name,
                sha256=checksum,
                archived_to=str(target or ""),
            )
            audit_record(
                action=f"privacy.retention_{policy.action}",
                obj=action,
                data={
                    "document_class": policy.document_class,
                    "object_id": item.object_id,
                    "dossier": item.dossier_id,
                    "sha256": checksum,
                    "retention_months": policy.retention_months,
                },
            )
            transaction.on_commit(lambda: source.unlink(missing_ok=True))
    except _Skip:
        if target is not None:
            target.unlink(missing_ok=True)
        return False
    except Exception:
        if target is not None:
            target.unlink(missing_ok=True)
        raise
    return True


class _Skip(Exception):
    pass


def retention_sweep(*, now: datetime | None = None) -> int:
    """Apply every active policy once; return how many files were archived or deleted."""
    now = now or timezone.now()
    count = 0
    for policy in RetentionPolicy.objects.filter(active=True).order_by("document_class"):
        cutoff = _months_ago(now, policy.retention_months)
        for item in _candidates(policy.document_class, cutoff):
            if _apply(policy, item):
                count += 1
    if count:
        logger.info("retention: %d files handled", count)
    return count
