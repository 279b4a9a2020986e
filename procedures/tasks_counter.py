"""Celery tasks of the counter intake and the tracking book (issue 7); each calls one idempotent service."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def counter_identity_reverify_task() -> dict[str, int]:
    """Verify again the counter dossiers received while the population database could not answer."""
    from procedures.counter import counter_identity_reverify

    return counter_identity_reverify()


@shared_task(acks_late=True, ignore_result=True, time_limit=1800, soft_time_limit=1700)
def tracking_book_export_task(job_id: int) -> None:
    """Build one tracking-book export (XLSX or PDF), saving progress as it goes."""
    from procedures.tracking_book import tracking_book_export_run

    tracking_book_export_run(job_id=job_id)
