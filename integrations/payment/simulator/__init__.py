"""The payment-gateway simulator (see server.py for the protocol)."""

from __future__ import annotations

import os

from integrations.payment.simulator.server import PaymentSimulator

DEFAULT_API_KEY = "simulator-payment-key"
DEFAULT_CALLBACK_SECRET = "simulator-callback-secret"  # noqa: S105  # nosec B105  # the simulator's documented demo secret

__all__ = ["PaymentSimulator", "make_server", "start"]


def make_server(
    *, host: str = "127.0.0.1", port: int = 8105, api_key: str | None = None, callback_secret: str | None = None
) -> PaymentSimulator:
    return PaymentSimulator(
        (host, port),
        api_key=api_key or os.environ.get("PAYMENT_SIM_API_KEY", DEFAULT_API_KEY),
        callback_secret=callback_secret or os.environ.get("PAYMENT_SIM_CALLBACK_SECRET", DEFAULT_CALLBACK_SECRET),
    )


def start(*, port: int = 0, host: str = "127.0.0.1", **options: str) -> PaymentSimulator:
    """Start a simulator in a daemon thread; call .stop() when done."""
    return make_server(host=host, port=port, **options).start_background()
