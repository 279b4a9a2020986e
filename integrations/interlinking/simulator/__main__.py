"""Run the interlinking-software simulator: python -m integrations.interlinking.simulator --port 8104."""

from __future__ import annotations

import argparse
import logging

from integrations.interlinking.simulator import make_server


def main() -> None:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(description="Interlinking software simulator (the project's own protocol)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8104)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    server = make_server(host=args.host, port=args.port)
    logging.getLogger("integrations.interlinking.simulator").info("listening on %s", server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
