"""Celery tasks of the procedures app; each calls one idempotent service."""

from __future__ import annotations

from celery import shared_task


@shared_task(acks_late=True, ignore_result=True)
def dossier_render_receipt_task(dossier_id: int) -> None:
    """Render the receipt and appointment slip (form 01) of a received dossier, once."""
    from procedures.documents import dossier_receipt_get_or_render

    dossier_receipt_get_or_render(dossier_id=dossier_id)
