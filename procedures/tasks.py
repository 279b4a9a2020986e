"""Celery tasks of the procedures app; each calls one idempotent service."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def dossier_render_receipt_task(dossier_id: int) -> None:
    """Render the receipt and appointment slip (form 01) of a received dossier, once."""
    from procedures.documents import dossier_receipt_get_or_render

    dossier_receipt_get_or_render(dossier_id=dossier_id)


@shared_task(acks_late=True, ignore_result=True, autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def dossier_event_followup_task(event_id: int) -> None:
    """After a state change commits: render its official slips and notify the applicant (both idempotent)."""
    from procedures.documents import official_documents_for_event
    from procedures.notifications import notify_event

    official_documents_for_event(event_id=event_id)
    notify_event(event_id=event_id)


@shared_task(acks_late=True, ignore_result=True)
def official_documents_sweep_task(hours: int = 48) -> int:
    """Render the slips whose after-commit follow-up was lost (broker down at commit); idempotent."""
    import datetime as dt

    from django.utils import timezone

    from procedures.documents import official_documents_missing_render

    return official_documents_missing_render(since=timezone.now() - dt.timedelta(hours=hours))
