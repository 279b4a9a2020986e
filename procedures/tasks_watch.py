"""Celery task of the deadline watch (scheduled by CELERY_BEAT_SCHEDULE["deadline-watch"])."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def deadline_watch_task() -> dict[str, int]:
    """Flag dossiers due soon and overdue and notify their staff; idempotent, so overlapping runs are harmless."""
    from procedures.watch import deadline_watch

    return deadline_watch()
