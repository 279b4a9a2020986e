"""The payment-gateway simulator: standard library only, a real HTTP service (port 8105 by default).

Protocol (OUR design, domain.md §4.5 says the national platform is not publicly specified):
- ``POST /orders`` (``Authorization: Bearer <api key>``) ``{merchant, order_id, amount, description,
  return_url, callback_url}`` -> ``{"pay_url": ...}``; the same order id answers the same page.
- ``GET /pay/<token>``: the payer's page (amount, description, "Pay" and "Cancel" buttons).
- ``POST /pay/<token>`` ``action=pay|cancel``: sends the signed callback to ``callback_url``
  (JSON; header ``X-Signature`` = hex HMAC-SHA256 of the body with the shared secret), then redirects
  the payer to ``return_url?order_id=...&status=paid|failed``.
Test endpoints: ``GET /healthz``; ``GET /_sim/callbacks`` (every callback sent: body, signature,
HTTP status the merchant answered); ``POST /_sim/faults`` ``{"decline_next": N, "unavailable_next": N,
"duplicate_callbacks": bool}``; ``POST /_sim/reset``.
"""

from __future__ import annotations

import hashlib
import hmac
import html
import json
import logging
import secrets
import threading
import time
import urllib.error
import urllib.request
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

logger = logging.getLogger("integrations.payment.simulator")


def _sign(secret: str, body: bytes) -> str:
    return hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class PaymentSimulator(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], *, api_key: str, callback_secret: str) -> None:
        super().__init__(address, _Handler)
        host, port = self.server_address[:2]
        self.url = f"http://{host}:{port}"
        self.api_key = api_key
        self.callback_secret = callback_secret
        self.lock = threading.Lock()
        self.orders: dict[str, dict[str, Any]] = {}  # token -> order
        self.by_order_id: dict[str, str] = {}
        self.callbacks: list[dict[str, Any]] = []
        self.faults: dict[str, Any] = {}
        self._thread: threading.Thread | None = None

    def reset(self) -> None:
        with self.lock:
            self.orders.clear()
            self.by_order_id.clear()
            self.callbacks.clear()
            self.faults.clear()

    def take_fault(self, name: str) -> bool:
        with self.lock:
            left = int(self.faults.get(name) or 0)
            if left > 0:
                self.faults[name] = left - 1
                return True
            return False

    def order_create(self, data: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        if self.take_fault("unavailable_next"):
            return 503, {"error": "temporarily unavailable"}
        try:
            order_id = str(data["order_id"])
            amount = int(data["amount"])
            callback_url, return_url = str(data["callback_url"]), str(data["return_url"])
        except (KeyError, TypeError, ValueError):
            return 400, {"error": "order_id, amount, callback_url and return_url are required"}
        if amount <= 0 or not order_id:
            return 400, {"error": "amount must be positive"}
        with self.lock:
            token = self.by_order_id.get(order_id)
            if token is None:
                token = secrets.token_urlsafe(18)
                self.by_order_id[order_id] = token
                self.orders[token] = {
                    "order_id": order_id,
                    "amount": amount,
                    "description": str(data.get("description") or ""),
                    "callback_url": callback_url,
                    "return_url": return_url,
                    "status": "pending",
                }
        return 200, {"pay_url": f"{self.url}/pay/{token}"}

    def settle(self, token: str, action: str) -> str | None:
        """Settle the order (pay or cancel), send the signed callback; return where the payer goes next."""
        with self.lock:
            order = self.orders.get(token)
        if order is None:
            return None
        if order["status"] == "pending":
            declined = action == "pay" and self.take_fault("decline_next")
            status = "paid" if action == "pay" and not declined else "failed"
            reason = "" if status == "paid" else ("declined by the bank" if declined else "cancelled by the payer")
            order["status"] = status
            body = json.dumps(
                {
                    "event_id": secrets.token_hex(12),
                    "order_id": order["order_id"],
                    "status": status,
                    "amount": order["amount"],
                    "transaction_id": ("SIM" + secrets.token_hex(6).upper()) if status == "paid" else "",
                    "timestamp": int(time.time()),
                    "nonce": secrets.token_hex(16),
                    "reason": reason,
                },
                ensure_ascii=False,
            ).encode()
            times = 2 if self.faults.get("duplicate_callbacks") else 1
            for _ in range(times):
                self.deliver(order["callback_url"], body)
        query = urlencode({"order_id": order["order_id"], "status": order["status"]})
        sep = "&" if urlsplit(order["return_url"]).query else "?"
        return f"{order['return_url']}{sep}{query}"

    def deliver(self, url: str, body: bytes) -> int:
        signature = _sign(self.callback_secret, body)
        if not url.startswith(("http://", "https://")):
            return 0
        request = urllib.request.Request(  # noqa: S310  (http(s) only, checked above)
            url, data=body, method="POST", headers={"Content-Type": "application/json", "X-Signature": signature}
        )
        try:
            with urllib.request.urlopen(request, timeout=10) as response:  # noqa: S310  # nosec B310  # the merchant's URL
                status = response.status
        except urllib.error.HTTPError as exc:
            status = exc.code
        except (urllib.error.URLError, OSError):
            status = 0
        with self.lock:
            self.callbacks.append({"url": url, "body": body.decode(), "signature": signature, "answered": status})
        return status

    def start_background(self) -> PaymentSimulator:
        self._thread = threading.Thread(
            target=self.serve_forever, kwargs={"poll_interval": 0.05}, name="payment-simulator", daemon=True
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join()
            self._thread = None
        self.server_close()


_PAGE = """<!DOCTYPE html><html lang="vi"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1"><title>Cổng thanh toán (mô phỏng)</title>
<style>body{{font-family:sans-serif;max-width:36rem;margin:2rem auto;padding:0 1rem;color:#1a1a1a}}
.card{{border:1px solid #999;border-radius:6px;padding:1rem;margin:1rem 0}}
button{{font-size:1rem;padding:.6rem 1.2rem;margin-right:.5rem}}
.pay{{background:#0b5394;color:#fff;border:0}}</style></head><body><main>
<h1>Cổng thanh toán trực tuyến (mô phỏng)</h1>{body}</main></body></html>"""


class _Handler(BaseHTTPRequestHandler):
    server: PaymentSimulator
    server_version = "payment-simulator/1.0"

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug(format, *args)

    def _send(self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload, ensure_ascii=False).encode(), "application/json")

    def _page(self, status: int, body: str) -> None:
        self._send(status, _PAGE.format(body=body).encode(), "text/html; charset=utf-8")

    def _body(self) -> bytes:
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(min(length, 1_000_000)) if length else b""

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        sim = self.server
        if path == "/healthz":
            return self._json(200, {"status": "ok"})
        if path == "/_sim/callbacks":
            with sim.lock:
                return self._json(200, list(sim.callbacks))
        if path.startswith("/pay/"):
            order = sim.orders.get(path[5:])
            if order is None:
                return self._page(404, "<p>Không tìm thấy giao dịch.</p>")
            if order["status"] != "pending":
                return self._page(409, "<p>Giao dịch này đã được xử lý.</p>")
            amount = f"{order['amount']:,}".replace(",", ".")
            return self._page(
                200,
                f'<div class="card"><p>Mã đơn hàng: <strong id="order-id">{html.escape(order["order_id"])}</strong></p>'
                f"<p>Nội dung: {html.escape(order['description'])}</p>"
                f'<p>Số tiền: <strong id="amount">{amount} đồng</strong></p></div>'
                f'<form method="post" action="/pay/{html.escape(path[5:])}">'
                '<button class="pay" type="submit" name="action" value="pay">Thanh toán</button>'
                '<button type="submit" name="action" value="cancel">Hủy giao dịch</button></form>',
            )
        return self._json(404, {"error": "not found"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        sim = self.server
        raw = self._body()
        if path == "/_sim/reset":
            sim.reset()
            return self._json(200, {"ok": True})
        if path == "/_sim/faults":
            with sim.lock:
                sim.faults.update(json.loads(raw or b"{}"))
            return self._json(200, dict(sim.faults))
        if path == "/orders":
            if not hmac.compare_digest(self.headers.get("Authorization", ""), f"Bearer {sim.api_key}"):
                return self._json(401, {"error": "invalid api key"})
            try:
                data = json.loads(raw)
            except ValueError:
                return self._json(400, {"error": "body is not JSON"})
            status, payload = sim.order_create(data if isinstance(data, dict) else {})
            return self._json(status, payload)
        if path.startswith("/pay/"):
            form = {k: v[0] for k, v in parse_qs(raw.decode(errors="replace")).items()}
            target = sim.settle(path[5:], form.get("action", ""))
            if target is None:
                return self._page(404, "<p>Không tìm thấy giao dịch.</p>")
            return self._send(HTTPStatus.SEE_OTHER, b"", "text/plain", {"Location": target})
        return self._json(404, {"error": "not found"})
