"""Periodic work of the facilities app (beat schedule in the FACILITIES settings block)."""

from __future__ import annotations

from celery import shared_task


@shared_task(ignore_result=True, expires=120)
def facilities_service_levels_task() -> int:
    """Raise alerts for missed service levels and retry the deliveries concerned."""
    from facilities.services import service_levels_check

    return len(service_levels_check())


@shared_task(ignore_result=True, expires=120)
def facilities_interlinking_poll_task() -> int:
    """Ask the interlinking software which sent documents were acknowledged or used."""
    from facilities.delivery import interlinking_poll

    return interlinking_poll()


@shared_task(ignore_result=True, expires=600)
def facilities_reverify_task() -> int:
    """Verify again the identities that could not be checked at issue (gateway unavailable)."""
    from facilities.services import documents_reverify

    return documents_reverify()
