"""The payment provider interface and the signed-callback rules shared by the adapter and the simulator.

Not publicly specified nationally (domain.md §4.5): this is OUR protocol, modelled on common payment
gateways. A callback is a JSON body signed with HMAC-SHA256 over the raw bytes (header X-Signature,
hex), carrying an event id, a nonce and a timestamp.
"""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from typing import Protocol


class PaymentError(Exception):
    """The provider could not take the order (retry later); `message` is safe to show."""


@dataclass(frozen=True)
class PaymentOrder:
    order_id: str
    pay_url: str


@dataclass(frozen=True)
class PaymentCallback:
    """A callback whose signature has been checked."""

    event_id: str
    order_id: str
    status: str  # "paid" | "failed"
    amount_vnd: int
    transaction_id: str
    timestamp: int
    nonce: str
    reason: str = ""


def callback_signature(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def callback_signature_valid(secret: str, body: bytes, signature: str) -> bool:
    return bool(signature) and hmac.compare_digest(callback_signature(secret, body), signature.strip().lower())


class PaymentProvider(Protocol):
    def order_create(
        self, *, order_id: str, amount_vnd: int, description: str, return_url: str, callback_url: str
    ) -> PaymentOrder:
        """Register an order with the provider; return where to send the payer."""

    def callback_parse(self, *, body: bytes, signature: str) -> PaymentCallback:
        """Check the signature and shape of a callback; raise ValueError when it must be refused."""
