"""Run the VNeID simulator: `python -m integrations.vneid.simulator --port 8101`."""

from __future__ import annotations

import argparse
import logging
import os
import sys

from integrations.vneid.simulator.citizens import demo_citizens_table
from integrations.vneid.simulator.server import create


def main(argv: list[str] | None = None) -> int:
    """Serve until interrupted; with --list-citizens, print the demo citizens and exit."""
    parser = argparse.ArgumentParser(
        prog="python -m integrations.vneid.simulator",
        description="VNeID simulator: an OpenID Connect provider with synthetic demo citizens.",
    )
    parser.add_argument("--host", default=os.environ.get("VNEID_SIM_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("VNEID_SIM_PORT", "8101")))
    parser.add_argument(
        "--issuer", default=os.environ.get("VNEID_SIM_ISSUER"), help="public base URL (default: http://HOST:PORT)"
    )
    parser.add_argument("--list-citizens", action="store_true", help="print the demo citizens and exit")
    args = parser.parse_args(argv)
    if args.list_citizens:
        print(demo_citizens_table())
        return 0
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    server = create(args.port, args.host, issuer=args.issuer, quiet=False)
    print(f"VNeID simulator (OpenID Connect) at {server.url}, client id {server.client_id}", flush=True)
    print(demo_citizens_table(server.citizens), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
