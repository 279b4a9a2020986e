"""Celery tasks of the quality dashboard."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def quality_refresh_task() -> dict:
    """Bring the service-quality counters up to date (periodic; idempotent, serialised by a row lock)."""
    from quality.facts import quality_refresh

    return quality_refresh()
