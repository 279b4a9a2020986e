"""The population database (C06) adapter: interface, wire format, HTTP client, simulator.

Nothing outside integrations/ calls this package directly: every call goes through
integrations.gateway, which adds credentials, purpose, quotas, the message log and resilience.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from integrations.population_registry.base import PopulationRegistry

_clients: dict[tuple, PopulationRegistry] = {}
_lock = threading.Lock()


def get_population_registry() -> PopulationRegistry:
    """Return the configured client (settings.POPULATION_REGISTRY_BACKEND), one per configuration."""
    from django.conf import settings
    from django.utils.module_loading import import_string

    key = (
        settings.POPULATION_REGISTRY_BACKEND,
        settings.POPULATION_REGISTRY_URL,
        settings.POPULATION_REGISTRY_SERVICE_CODE,
        settings.POPULATION_REGISTRY_INTEGRATION_CODE,
        settings.POPULATION_REGISTRY_UNIT_CODE,
        settings.POPULATION_REGISTRY_TIMEOUT,
        settings.POPULATION_REGISTRY_RETRIES,
    )
    with _lock:
        client = _clients.get(key)
        if client is None:
            cls = import_string(settings.POPULATION_REGISTRY_BACKEND)
            client = cls.from_settings() if hasattr(cls, "from_settings") else cls()
            _clients[key] = client
        return client
