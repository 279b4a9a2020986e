"""Run the DVCQG simulator: python -m integrations.national_portal.simulator --port 8102."""

from __future__ import annotations

import argparse
import logging

from integrations.national_portal.simulator import make_server


def main() -> None:
    """Serve until interrupted."""
    parser = argparse.ArgumentParser(description="DVCQG (national public service portal) simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8102)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    server = make_server(host=args.host, port=args.port)
    logging.getLogger("integrations.national_portal.simulator").info("listening on %s", server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
