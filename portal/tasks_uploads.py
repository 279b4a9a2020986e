"""Scan again the uploads held "pending" while the virus scanner was down (decision 0055)."""

from __future__ import annotations

from celery import shared_task

from portal.uploads import upload_scan_pending


@shared_task(ignore_result=True)
def upload_scan_sweep_task() -> dict[str, int]:
    return upload_scan_pending()
