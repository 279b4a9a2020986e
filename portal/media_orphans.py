"""Files in MEDIA_ROOT that no row refers to, and rows whose file is missing (security.md T36).

A submission stores its file before COMMIT. When the transaction fails before COMMIT the file is removed at
once (procedures.services.dossier_submit); when COMMIT itself fails (the database died at that moment) the
outcome is unknown and the file stays. `manage.py media_orphans` finds such files and, with --delete,
removes those older than a grace period (files of requests still in flight are younger).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from django.apps import apps
from django.conf import settings
from django.core.files.storage import default_storage
from django.db import models

logger = logging.getLogger("portal.media")


def media_file_discard(name: str) -> None:
    """Delete the stored file NAME; a failure is logged (media_orphans finds it later), never raised."""
    try:
        default_storage.delete(name)
    except OSError as exc:
        logger.warning("could not remove the file of a failed transaction (%s); media_orphans will", exc)


def _file_fields() -> Iterator[tuple[type[models.Model], str]]:
    for model in apps.get_models():
        for model_field in model._meta.concrete_fields:
            if isinstance(model_field, models.FileField):
                yield model, model_field.attname


def media_referenced() -> set[str]:
    """Every file name a FileField of any model holds."""
    names: set[str] = set()
    for model, name in _file_fields():
        values = model._base_manager.exclude(**{name: ""}).exclude(**{f"{name}__isnull": True})
        names.update(values.values_list(name, flat=True).iterator())
    return names


@dataclass
class MediaReport:
    orphans: list[str] = field(default_factory=list)  # files no row refers to (older than the grace period)
    missing: list[str] = field(default_factory=list)  # names rows refer to that are not on disk
    files: int = 0


def media_orphans_find(*, grace_seconds: float = 3600) -> MediaReport:
    """Compare MEDIA_ROOT with the rows; files younger than GRACE_SECONDS are not counted as orphans."""
    root = Path(settings.MEDIA_ROOT)
    referenced = media_referenced()
    report = MediaReport()
    cutoff = time.time() - grace_seconds
    seen: set[str] = set()
    if root.is_dir():
        for path in root.rglob("*"):
            if not path.is_file():
                continue
            report.files += 1
            name = path.relative_to(root).as_posix()
            seen.add(name)
            if name not in referenced and path.stat().st_mtime < cutoff:
                report.orphans.append(name)
    report.missing = sorted(referenced - seen)
    report.orphans.sort()
    return report
