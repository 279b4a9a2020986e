"""The payment-gateway adapter over HTTP (the simulator in development and tests)."""

from __future__ import annotations

import json

from django.conf import settings
from django.utils.translation import gettext as _

from integrations.http import HttpError, http_request
from integrations.payment.base import PaymentCallback, PaymentError, PaymentOrder, callback_signature_valid


class HttpPaymentProvider:
    def order_create(
        self, *, order_id: str, amount_vnd: int, description: str, return_url: str, callback_url: str
    ) -> PaymentOrder:
        try:
            response = http_request(
                "POST",
                settings.PAYMENT_URL.rstrip("/") + "/orders",
                json={
                    "merchant": settings.PAYMENT_MERCHANT_ID,
                    "order_id": order_id,
                    "amount": amount_vnd,
                    "description": description[:200],
                    "return_url": return_url,
                    "callback_url": callback_url,
                },
                headers={"Authorization": f"Bearer {settings.PAYMENT_API_KEY}"},
                timeout=settings.PAYMENT_TIMEOUT,
                service="payment",
            )
            pay_url = str(response.json()["pay_url"])
        except (HttpError, ValueError, KeyError, TypeError) as exc:
            raise PaymentError(_("The payment service is unavailable. Please try again in a few minutes.")) from exc
        return PaymentOrder(order_id=order_id, pay_url=pay_url)

    def callback_parse(self, *, body: bytes, signature: str) -> PaymentCallback:
        if not callback_signature_valid(settings.PAYMENT_CALLBACK_SECRET, body, signature):
            raise ValueError("bad signature")
        try:
            data = json.loads(body)
            callback = PaymentCallback(
                event_id=str(data["event_id"]),
                order_id=str(data["order_id"]),
                status=str(data["status"]),
                amount_vnd=int(data["amount"]),
                transaction_id=str(data.get("transaction_id") or ""),
                timestamp=int(data["timestamp"]),
                nonce=str(data["nonce"]),
                reason=str(data.get("reason") or "")[:200],
            )
        except (ValueError, KeyError, TypeError, OverflowError, RecursionError) as exc:  # OverflowError: 1e400
            raise ValueError("malformed callback") from exc
        if not 0 < len(callback.nonce) <= 64:  # PaymentCallbackNonce.nonce holds 64 characters
            raise ValueError("malformed callback")
        return callback
