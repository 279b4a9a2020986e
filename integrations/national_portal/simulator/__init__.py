"""The DVCQG simulator: a real HTTP service, standard library only (see server.py for the protocol)."""

from __future__ import annotations

import os
import threading

from integrations.national_portal.simulator.server import NationalPortalSimulator

DEFAULT_USERNAME = "mot-cua-byt"
DEFAULT_PASSWORD = "simulator-password"  # noqa: S105  # nosec B105  # the simulator's documented demo credential

__all__ = ["NationalPortalSimulator", "make_server", "start"]


def make_server(
    *,
    host: str = "127.0.0.1",
    port: int = 8102,
    username: str | None = None,
    password: str | None = None,
    session_ttl: float | None = None,
) -> NationalPortalSimulator:
    """Return a simulator bound to HOST:PORT; credentials default to NATIONAL_PORTAL_SIM_* env."""
    server = NationalPortalSimulator(
        (host, port),
        username=username or os.environ.get("NATIONAL_PORTAL_SIM_USERNAME", DEFAULT_USERNAME),
        password=password or os.environ.get("NATIONAL_PORTAL_SIM_PASSWORD", DEFAULT_PASSWORD),
        session_ttl=session_ttl or float(os.environ.get("NATIONAL_PORTAL_SIM_SESSION_TTL", "1800")),
    )
    # Where /_sim/push sends inbound dossiers and ratings (OUR protocol), if configured by the environment.
    inbound_url = os.environ.get("NATIONAL_PORTAL_SIM_INBOUND_URL")
    inbound_secret = os.environ.get("NATIONAL_PORTAL_SIM_INBOUND_SECRET")
    if inbound_url and inbound_secret:
        server.state.set_inbound(
            {
                "url": inbound_url,
                "sender": os.environ.get("NATIONAL_PORTAL_SIM_INBOUND_SENDER", "DVCQG"),
                "secret": inbound_secret,
            }
        )
    return server


def start(*, port: int = 0, host: str = "127.0.0.1", **options: object) -> tuple[NationalPortalSimulator, str]:
    """Start a simulator in a daemon thread; return it (call .stop() when done) and its URL."""
    server = make_server(host=host, port=port, **options)  # type: ignore[arg-type]
    # A short poll interval makes .stop() return at once (tests start one server each).
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="national-portal-simulator", daemon=True
    )
    thread.start()
    return server, server.url
