"""Celery task of the national catalogue sync (beat entry "national-catalogue-sync", setting-controlled)."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger("procedures.catalogue_sync")


# A late copy is still useful; a run already in progress makes this one a no-op (logged).
@shared_task(ignore_result=True)
def national_catalogue_sync_task(trigger: str = "schedule", actor_id: int | None = None) -> int | None:
    """Synchronise the catalogue with the national TTHC database; return the run's id."""
    from django.contrib.auth import get_user_model

    from portal.errors import ApplicationError
    from procedures.catalogue_sync import national_catalogue_sync

    actor = get_user_model().objects.filter(pk=actor_id).first() if actor_id else None
    try:
        return national_catalogue_sync(trigger=trigger, actor=actor).pk
    except ApplicationError as exc:
        logger.info("catalogue sync not started: %s", exc.message)
        return None
