"""The interlinking-software simulator: a real HTTP service, standard library only (see server.py)."""

from __future__ import annotations

import os
import threading

from integrations.interlinking.simulator.server import InterlinkingSimulator

DEFAULT_TOKEN = "interlinking-simulator-token"  # noqa: S105  # nosec B105  # the simulator's documented demo credential

__all__ = ["InterlinkingSimulator", "make_server", "start"]


def make_server(*, host: str = "127.0.0.1", port: int = 8104, token: str | None = None) -> InterlinkingSimulator:
    """Return a simulator bound to HOST:PORT; the token defaults to INTERLINKING_SIM_TOKEN."""
    return InterlinkingSimulator((host, port), token=token or os.environ.get("INTERLINKING_SIM_TOKEN", DEFAULT_TOKEN))


def start(*, port: int = 0, host: str = "127.0.0.1", token: str | None = None) -> tuple[InterlinkingSimulator, str]:
    """Start a simulator in a daemon thread; return it (call .stop() when done) and its URL."""
    server = make_server(host=host, port=port, token=token)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="interlinking-simulator", daemon=True
    )
    thread.start()
    return server, server.url
