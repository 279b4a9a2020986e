"""Celery tasks of the privacy app (scheduled by CELERY_BEAT_SCHEDULE["privacy-retention"])."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True, expires=3600)
def retention_sweep_task() -> int:
    from privacy.retention import retention_sweep

    return retention_sweep()
