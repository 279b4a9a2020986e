"""Celery tasks of batch reconciliation (registered through CELERY_IMPORTS).

acks_late + reject_on_worker_lost: a chunk whose worker died stays in the broker and runs again;
the chunk's state guard makes the second run count nothing twice. Retries only for an
unavailable registry, with backoff; the last attempt classifies the chunk as service errors.
"""

from __future__ import annotations

from celery import shared_task
from django.conf import settings

from integrations.population_registry.base import RegistryUnavailable


@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def reconciliation_import_task(job_id: int) -> str:
    """Split a job's uploaded file into chunks and queue them."""
    from integrations.reconciliation import reconciliation_import

    return reconciliation_import(job_id=job_id)


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, ignore_result=True, max_retries=None)
def reconciliation_chunk_task(self, chunk_id: int) -> str:
    """Verify and classify one chunk (IDs only in the message: the records stay in the database)."""
    from integrations.reconciliation import reconciliation_process_chunk

    last = self.request.retries >= settings.RECONCILIATION_MAX_RETRIES
    try:
        return reconciliation_process_chunk(chunk_id=chunk_id, give_up=last)
    except RegistryUnavailable as exc:
        if self.request.is_eager:
            return reconciliation_process_chunk(chunk_id=chunk_id, give_up=True)
        raise self.retry(exc=exc, countdown=min(300, 5 * 2**self.request.retries)) from exc


@shared_task(ignore_result=True, expires=300)
def reconciliation_sweep_task() -> int:
    """Re-queue chunks of running jobs that were queued long ago and are still pending."""
    from integrations.reconciliation import reconciliation_sweep

    return reconciliation_sweep()
