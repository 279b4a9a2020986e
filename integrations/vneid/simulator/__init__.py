"""The VNeID simulator: an OpenID Connect provider for development and tests, with synthetic demo citizens."""

from __future__ import annotations

from integrations.vneid.simulator.citizens import DEMO_CITIZENS, DemoCitizen, demo_citizens_table
from integrations.vneid.simulator.server import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_REDIRECT_URIS,
    Fault,
    VneidSimulator,
    create,
    start,
)

__all__ = [
    "DEFAULT_CLIENT_ID",
    "DEFAULT_CLIENT_SECRET",
    "DEFAULT_REDIRECT_URIS",
    "DEMO_CITIZENS",
    "DemoCitizen",
    "Fault",
    "VneidSimulator",
    "create",
    "demo_citizens_table",
    "start",
]
