"""The interlinking-software simulator: OUR protocol (docs/interlinking-protocol.md) over real HTTP.

No public source gives the interface of the national interlinking software ("Phần mềm dịch vụ
công liên thông", Decree 63/2024/NĐ-CP); this simulator speaks the protocol the project designed
from the decree, so that delivery, acknowledgement and the service levels can be tested.

Protocol endpoints (``Authorization: Bearer <token>``):

* ``POST /api/v1/documents`` ``{"sender", "documents": [...]}``: receive up to 100 signed documents;
  each answered ``accepted`` (new), ``duplicate`` (same number, revision and checksum: the same
  receipt id again) or ``rejected`` (with ``code`` and ``message``).
* ``POST /api/v1/status`` ``{"receipt_ids": [...]}``: the state of each received document:
  ``received`` -> ``acknowledged`` (the receiving agency took it) -> ``used`` (the civil registration
  used it); ``unknown`` for ids it never issued.

Test endpoints: ``GET /healthz``; ``GET /_sim/documents``; ``GET /_sim/requests``; ``POST /_sim/reset``;
``POST /_sim/use`` ``{"number", "registration_reference"}`` (the registration used the document);
``POST /_sim/acknowledge`` ``{"number"}`` (acknowledge now, even with no_ack on);
``POST /_sim/faults`` with any of ``{"down": true}`` (every protocol call answers 503),
``{"slow_ms": M}`` (delay every protocol answer), ``{"no_ack": true}`` (receive but never acknowledge),
``{"clear": true}``.

Standard library only, so it runs without Django.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import secrets
import sys
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

logger = logging.getLogger("integrations.interlinking.simulator")

MAX_BODY_BYTES = 50 * 1024 * 1024
MAX_DOCUMENTS = 100
DOCUMENT_TYPES = ("GCS", "GBT")
REQUIRED = (
    "message_id",
    "document_type",
    "number",
    "revision",
    "facility_code",
    "issued_at",
    "standard_version",
    "fields",
    "pdf",
    "sha256",
)


def _now() -> str:
    return datetime.now(UTC).isoformat()


@dataclass
class Faults:
    down: bool = False
    slow_ms: int = 0
    no_ack: bool = False


class SimulatorState:
    """Everything the simulator remembers; guarded by one lock."""

    def __init__(self, *, token: str) -> None:
        self.token = token
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.requests: list[dict[str, Any]] = []
            # (number, revision) -> record
            self.documents: dict[tuple[str, int], dict[str, Any]] = {}
            self.by_receipt: dict[str, tuple[str, int]] = {}
            self.faults = Faults()

    def set_faults(self, spec: dict[str, Any]) -> None:
        with self.lock:
            if spec.get("clear"):
                self.faults = Faults()
            if "down" in spec:
                self.faults.down = bool(spec["down"])
            if "slow_ms" in spec:
                self.faults.slow_ms = max(0, int(spec["slow_ms"]))
            if "no_ack" in spec:
                self.faults.no_ack = bool(spec["no_ack"])

    def _check(self, doc: Any) -> str:
        if not isinstance(doc, dict):
            return "document is not an object"
        missing = [name for name in REQUIRED if doc.get(name) in (None, "")]
        if missing:
            return "missing: " + ", ".join(missing)
        if doc["document_type"] not in DOCUMENT_TYPES:
            return "document_type must be GCS or GBT"
        if not isinstance(doc["revision"], int) or doc["revision"] < 1:
            return "revision must be a positive integer"
        if not isinstance(doc["fields"], dict):
            return "fields must be an object"
        try:
            pdf = base64.b64decode(doc["pdf"], validate=True)
        except ValueError:
            return "pdf is not base64"
        if not pdf.startswith(b"%PDF-"):
            return "pdf is not a PDF"
        if hashlib.sha256(pdf).hexdigest() != doc["sha256"]:
            return "sha256 does not match the pdf"
        try:
            datetime.fromisoformat(doc["issued_at"])
        except (TypeError, ValueError):
            return "issued_at is not ISO 8601"
        return ""

    def receive(self, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict) or not isinstance(body.get("documents"), list):
            return 400, {"code": "malformed", "message": "expected {sender, documents: [...]}"}
        if len(body["documents"]) > MAX_DOCUMENTS:
            return 400, {"code": "too_many", "message": f"at most {MAX_DOCUMENTS} documents per call"}
        results = []
        with self.lock:
            for doc in body["documents"]:
                problem = self._check(doc)
                message_id = doc.get("message_id") if isinstance(doc, dict) else None
                if problem:
                    results.append(
                        {"message_id": message_id, "status": "rejected", "code": "invalid", "message": problem}
                    )
                    continue
                key = (doc["number"], doc["revision"])
                known = self.documents.get(key)
                if known is not None:
                    if known["sha256"] != doc["sha256"]:
                        results.append(
                            {
                                "message_id": message_id,
                                "status": "rejected",
                                "code": "conflict",
                                "message": "this number and revision were received with other content",
                            }
                        )
                    else:
                        known["copies"] += 1
                        results.append(
                            {"message_id": message_id, "status": "duplicate", "receipt_id": known["receipt_id"]}
                        )
                    continue
                receipt = "RC-" + secrets.token_hex(8)
                record = {
                    "receipt_id": receipt,
                    "number": doc["number"],
                    "revision": doc["revision"],
                    "document_type": doc["document_type"],
                    "facility_code": doc["facility_code"],
                    "supersedes": doc.get("supersedes"),
                    "sha256": doc["sha256"],
                    "fields": doc["fields"],
                    "standard_version": doc["standard_version"],
                    "received_at": _now(),
                    "state": "received",
                    "acknowledged_at": None,
                    "used_at": None,
                    "registration_reference": "",
                    "copies": 1,
                }
                self.documents[key] = record
                self.by_receipt[receipt] = key
                results.append({"message_id": message_id, "status": "accepted", "receipt_id": receipt})
        return 200, {"results": results}

    def status(self, body: Any) -> tuple[int, dict[str, Any]]:
        if not isinstance(body, dict) or not isinstance(body.get("receipt_ids"), list):
            return 400, {"code": "malformed", "message": "expected {receipt_ids: [...]}"}
        results = []
        with self.lock:
            for receipt in body["receipt_ids"][:1000]:
                key = self.by_receipt.get(receipt)
                if key is None:
                    results.append({"receipt_id": receipt, "state": "unknown"})
                    continue
                record = self.documents[key]
                # The receiving agency acknowledges what it has received (unless told not to).
                if record["state"] == "received" and not self.faults.no_ack:
                    record["state"], record["acknowledged_at"] = "acknowledged", _now()
                results.append(
                    {
                        "receipt_id": receipt,
                        "state": record["state"],
                        "acknowledged_at": record["acknowledged_at"],
                        "used_at": record["used_at"],
                        "registration_reference": record["registration_reference"],
                    }
                )
        return 200, {"results": results}

    def mark(self, body: Any, *, used: bool) -> tuple[int, dict[str, Any]]:
        number = body.get("number") if isinstance(body, dict) else None
        with self.lock:
            keys = sorted(k for k in self.documents if k[0] == number)
            if not keys:
                return 404, {"error": "unknown number"}
            record = self.documents[keys[-1]]
            record["acknowledged_at"] = record["acknowledged_at"] or _now()
            if used:
                record["state"], record["used_at"] = "used", _now()
                record["registration_reference"] = str(body.get("registration_reference") or "")
            elif record["state"] == "received":
                record["state"] = "acknowledged"
            return 200, {"status": record["state"]}

    def snapshot(self) -> list[dict[str, Any]]:
        with self.lock:
            return [dict(v) for _k, v in sorted(self.documents.items())]


class SimulatorHandler(BaseHTTPRequestHandler):
    server: InterlinkingSimulator
    server_version = "interlinking-simulator"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        logger.debug("%s %s", self.address_string(), format % args)

    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> Any:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            return None
        raw = self.rfile.read(length) if length else b""
        try:
            return json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            return None

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        state = self.server.state
        if path == "/healthz":
            self._send_json(200, {"status": "ok", "service": "interlinking-simulator"})
        elif path == "/_sim/documents":
            self._send_json(200, state.snapshot())
        elif path == "/_sim/requests":
            with state.lock:
                self._send_json(200, list(state.requests))
        else:
            self._send_json(404, {"error": "not found"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        state = self.server.state
        body = self._body()
        if path == "/_sim/reset":
            state.reset()
            self._send_json(200, {"status": "reset"})
            return
        if path == "/_sim/faults":
            if not isinstance(body, dict):
                self._send_json(400, {"error": "expected a JSON object"})
                return
            state.set_faults(body)
            self._send_json(200, {"status": "ok"})
            return
        if path in ("/_sim/use", "/_sim/acknowledge"):
            self._send_json(*state.mark(body, used=path == "/_sim/use"))
            return
        if path not in ("/api/v1/documents", "/api/v1/status"):
            self._send_json(404, {"error": "not found"})
            return
        with state.lock:
            state.requests.append(
                {
                    "at": _now(),
                    "path": path,
                    "count": len(body.get("documents") or body.get("receipt_ids") or [])
                    if isinstance(body, dict)
                    else 0,
                    "numbers": [d.get("number") for d in body.get("documents", []) if isinstance(d, dict)]
                    if isinstance(body, dict)
                    else [],
                    "refused_down": state.faults.down,
                }
            )
            faults = Faults(**vars(state.faults))
        if faults.slow_ms:
            time.sleep(faults.slow_ms / 1000)
        if faults.down:
            self._send_json(503, {"code": "unavailable", "message": "Injected outage"})
            return
        auth = self.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not secrets.compare_digest(auth[7:].strip(), state.token):
            self._send_json(401, {"code": "unauthorised", "message": "bad or missing bearer token"})
            return
        if body is None:
            self._send_json(400, {"code": "malformed", "message": "the body must be JSON"})
            return
        if path == "/api/v1/documents":
            self._send_json(*state.receive(body))
        else:
            self._send_json(*state.status(body))


class InterlinkingSimulator(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], *, token: str) -> None:
        super().__init__(address, SimulatorHandler)
        self.state = SimulatorState(token=token)

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def stop(self) -> None:
        self.shutdown()
        self.server_close()
