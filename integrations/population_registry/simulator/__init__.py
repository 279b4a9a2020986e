"""The population-database simulator: a real HTTP service, standard library + defusedxml only."""

from __future__ import annotations

import os
import threading

from integrations.population_registry.simulator.population import Population
from integrations.population_registry.simulator.server import PopulationRegistrySimulator

DEFAULT_SIZE = 1_000_000
DEFAULT_SEED = 2026

__all__ = ["Population", "PopulationRegistrySimulator", "make_server", "start"]


def make_server(
    *, host: str = "127.0.0.1", port: int = 8103, size: int | None = None, seed: int | None = None
) -> PopulationRegistrySimulator:
    """Return a simulator on HOST:PORT; size and seed default to POPDB_SIM_SIZE / POPDB_SIM_SEED."""
    population = Population(
        size=size if size is not None else int(os.environ.get("POPDB_SIM_SIZE", DEFAULT_SIZE)),
        seed=seed if seed is not None else int(os.environ.get("POPDB_SIM_SEED", DEFAULT_SEED)),
    )
    return PopulationRegistrySimulator((host, port), population=population)


def start(*, port: int = 0, host: str = "127.0.0.1", **options: int) -> tuple[PopulationRegistrySimulator, str]:
    """Start a simulator in a daemon thread; return it (call .stop() when done) and its URL."""
    server = make_server(host=host, port=port, **options)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.05}, name="population-registry-simulator", daemon=True
    )
    thread.start()
    return server, server.url
