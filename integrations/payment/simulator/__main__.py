"""Run the payment simulator: python -m integrations.payment.simulator --port 8105."""

from __future__ import annotations

import argparse
import logging

from integrations.payment.simulator import make_server


def main() -> None:
    parser = argparse.ArgumentParser(description="Online payment gateway simulator")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8105)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    server = make_server(host=args.host, port=args.port)
    logging.getLogger("integrations.payment.simulator").info("listening on %s", server.url)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
