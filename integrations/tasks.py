"""Delivery tasks of the integrations themselves: the outbox relay and its sweeper."""

from __future__ import annotations

from celery import shared_task

from integrations.outbox import outbox_deliver, outbox_sweep


# acks_late + reject_on_worker_lost: a worker that dies mid-send leaves the task in the broker;
# the claim makes the redelivered copy harmless. No self.retry(): retries are rows in the outbox
# (next_attempt_at), re-kicked by the sweeper, so eager mode never raises into the caller.
@shared_task(acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def outbox_deliver_task(message_id: int) -> str:
    """Deliver one outbox message if it is due and its turn."""
    return outbox_deliver(message_id=message_id)


# Sweeps queued while no worker ran are worthless later: the next beat tick sends a fresh one.
@shared_task(ignore_result=True, expires=300)
def outbox_sweep_task() -> int:
    """Queue every due outbox message that is first in line for its key."""
    return outbox_sweep()


# Daily (beat, CELERY_BEAT_SCHEDULE "national-portal-reconciliation"); a late copy is still useful.
@shared_task(ignore_result=True)
def national_portal_reconcile_task() -> int:
    """Compare DVCQG with our latest delivered dossier states of the last day; re-send what differs."""
    from integrations.national_portal.reconcile import national_portal_reconcile

    return national_portal_reconcile().pk
