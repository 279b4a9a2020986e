"""Run the population-database simulator: python -m integrations.population_registry.simulator --port 8103."""

from __future__ import annotations

import argparse
import logging

from integrations.population_registry.simulator import DEFAULT_SEED, DEFAULT_SIZE, make_server


def main() -> None:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(description="Population database (C06) simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8103)
    parser.add_argument("--size", type=int, default=None, help=f"people (default POPDB_SIM_SIZE or {DEFAULT_SIZE})")
    parser.add_argument("--seed", type=int, default=None, help=f"seed (default POPDB_SIM_SEED or {DEFAULT_SEED})")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    server = make_server(host=args.host, port=args.port, size=args.size, seed=args.seed)
    logging.getLogger("integrations.population_registry.simulator").info(
        "listening on %s (%s people, seed %s)", server.url, server.state.population.size, server.state.population.seed
    )
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
