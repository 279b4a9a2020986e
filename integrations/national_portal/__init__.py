"""The national public service portal (DVCQG) adapter: interface, HTTP client, simulator."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from integrations.national_portal.base import NationalPortal

_clients: dict[tuple[str, ...], NationalPortal] = {}
_clients_lock = threading.Lock()


def get_national_portal() -> NationalPortal:
    """Return the configured national portal client (settings.NATIONAL_PORTAL_BACKEND)."""
    # Django is imported here, not at module level, so the simulator package runs without it.
    from django.conf import settings
    from django.utils.module_loading import import_string

    backend = settings.NATIONAL_PORTAL_BACKEND
    # One client per configuration keeps its login session; a changed setting gets a new one.
    key = (
        backend,
        settings.NATIONAL_PORTAL_URL,
        settings.NATIONAL_PORTAL_AUTH_PATH,
        settings.NATIONAL_PORTAL_INTEGRATION_PATH,
        settings.NATIONAL_PORTAL_USERNAME,
        settings.NATIONAL_PORTAL_PASSWORD,
        settings.NATIONAL_PORTAL_AGENCY_CODE,
    )
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            cls = import_string(backend)
            client = cls.from_settings() if hasattr(cls, "from_settings") else cls()
            _clients[key] = client
        return client
