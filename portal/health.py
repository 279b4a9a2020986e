"""Probes used by /healthz."""

from __future__ import annotations

from django.conf import settings

from integrations.http import HttpError, http_get_json


def broker_status() -> dict:
    """Return whether the Celery broker accepts a connection (short timeout)."""
    from portal.celery import app

    try:
        with app.connection_for_write() as conn:
            conn.ensure_connection(max_retries=1, timeout=2)
            transport = conn.transport_cls if isinstance(conn.transport_cls, str) else conn.transport.driver_name
        return {"status": "ok", "transport": str(transport)}
    except Exception as exc:  # reported, never raised
        return {"status": "error", "error": exc.__class__.__name__}


def simulator_status() -> dict:
    """Return the state of each simulator the settings point at."""
    result = {}
    for name, base_url in settings.SIMULATORS.items():
        try:
            http_get_json(f"{base_url.rstrip('/')}/healthz", timeout=1.5, retries=0, service=name)
            result[name] = {"status": "ok", "url": base_url}
        except HttpError as exc:
            result[name] = {"status": "error", "url": base_url, "error": str(exc)}
    return result
