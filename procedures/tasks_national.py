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


def _attachment_backoff(retries: int) -> float:
    """Exponential backoff with jitter for the attachment fetch: base × 2^retries, capped at one hour."""
    import random

    from django.conf import settings

    delay = min(3600.0, settings.NATIONAL_PORTAL_ATTACHMENT_RETRY_BASE_SECONDS * 2**retries)
    return delay * random.uniform(0.5, 1.0)  # noqa: S311  # nosec B311  # jitter, not crypto


@shared_task(bind=True, acks_late=True, ignore_result=True, max_retries=None)
def national_attachments_fetch_task(self, submission_id: int) -> str:
    """Fetch the attachments announced by an inbound dossier (idempotent; docs/decisions/0045).

    Transient failures retry with exponential backoff; the last allowed attempt records what is still
    missing as "unreachable" on the inbound record instead of retrying again.
    """
    from django.conf import settings

    from procedures.inbound import AttachmentsPending, national_attachments_fetch

    last = self.request.retries >= settings.NATIONAL_PORTAL_ATTACHMENT_MAX_RETRIES
    try:
        return national_attachments_fetch(submission_id=submission_id, give_up=last)
    except AttachmentsPending as exc:
        logger.info("attachments of submission %s pending (attempt %s): %s", submission_id, self.request.retries, exc)
        raise self.retry(exc=exc, countdown=_attachment_backoff(self.request.retries)) from exc


@shared_task(ignore_result=True)
def national_attachments_sweep_task(minutes: int = 30) -> int:
    """Queue the fetch for submissions still pending after MINUTES (their queueing was lost); idempotent."""
    import datetime as dt

    from django.utils import timezone

    from procedures.models_national import NationalInboundSubmission

    ids = list(
        NationalInboundSubmission.objects.filter(
            files_status=NationalInboundSubmission.FilesStatus.PENDING,
            received_at__lt=timezone.now() - dt.timedelta(minutes=minutes),
        ).values_list("pk", flat=True)
    )
    for pk in ids:
        national_attachments_fetch_task.delay(pk)
    return len(ids)
