"""A population-database (C06) simulator: the SOAP-shaped interface of domain.md §4.4 over real HTTP.

``POST /qldc`` takes a SOAP envelope and dispatches on the body element:

- ``XacMinhThongTinNhanThanRequest`` (per-record look-up) answers a ``CongdanCollection`` with one
  ``CongDan`` or none;
- ``XacMinhThongTinNhanThanLoRequest`` (**our extension**, the bulk look-up: up to MAX_BULK
  ``SoDinhDanh`` in ``DanhSach``) answers the same ``CongdanCollection`` with one ``CongDan`` per
  person found;
- ``XacThucThongTinCongDanRequest`` (verification) answers ``KetQuaXacThucResponse/TonTai``.

A malformed request gets HTTP 400 with a SOAP fault (``soapenv:Client``).

Test endpoints: ``GET /healthz``; ``GET /_sim/stats`` (request and record counts per operation);
``POST /_sim/reset``; ``POST /_sim/faults`` with any of ``{"fail_next": N, "status": 503}`` (answer
the next N requests with that status and a ``soapenv:Server`` fault), ``{"malformed_next": N}``
(answer the next N with broken XML), ``{"delay_ms": M}`` (delay every answer), ``{"fail_rate": 0.1}``
(fail that share of requests, deterministic sequence), ``{"clear": true}``.

The population is deterministic (see population.py). Standard library + defusedxml only, so it
runs without Django.
"""

from __future__ import annotations

import json
import logging
import sys
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from integrations.population_registry import wire
from integrations.population_registry.simulator.population import DATA_TIME, Population

logger = logging.getLogger("integrations.population_registry.simulator")

MAX_BODY_BYTES = 16 * 1024 * 1024
MAX_BULK = 5000
SOAP_PATH = "/qldc"


@dataclass
class Faults:
    fail_next: int = 0
    fail_status: int = 503
    malformed_next: int = 0
    delay_ms: int = 0
    fail_rate: float = 0.0
    seen: int = 0


class SimulatorState:
    """Counters and faults; the population itself is stateless."""

    def __init__(self, population: Population) -> None:
        self.population = population
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.faults = Faults()
            self.requests: dict[str, int] = {}
            self.records: dict[str, int] = {}

    def count(self, operation: str, records: int) -> None:
        with self.lock:
            self.requests[operation] = self.requests.get(operation, 0) + 1
            self.records[operation] = self.records.get(operation, 0) + records

    def set_faults(self, spec: dict[str, Any]) -> None:
        with self.lock:
            if spec.get("clear"):
                self.faults = Faults()
            if "fail_next" in spec:
                self.faults.fail_next = int(spec["fail_next"])
                self.faults.fail_status = int(spec.get("status", 503))
            if "malformed_next" in spec:
                self.faults.malformed_next = int(spec["malformed_next"])
            if "delay_ms" in spec:
                self.faults.delay_ms = max(0, int(spec["delay_ms"]))
            if "fail_rate" in spec:
                self.faults.fail_rate = min(1.0, max(0.0, float(spec["fail_rate"])))

    def take_fault(self) -> str | None:
        """Return "fail" or "malformed" if this request must suffer, else None."""
        with self.lock:
            faults = self.faults
            faults.seen += 1
            if faults.fail_next > 0:
                faults.fail_next -= 1
                return "fail"
            if faults.malformed_next > 0:
                faults.malformed_next -= 1
                return "malformed"
            if faults.fail_rate and (faults.seen * 0.6180339887) % 1.0 < faults.fail_rate:
                return "fail"
            return None


class SimulatorHandler(BaseHTTPRequestHandler):
    server: PopulationRegistrySimulator
    server_version = "C06-simulator"
    sys_version = ""
    protocol_version = "HTTP/1.1"  # keep-alive: the bulk client sends many requests on one connection

    def log_message(self, format: str, *args: Any) -> None:
        # Paths and status only; bodies carry personal data and never reach the log.
        logger.debug("%s %s", self.address_string(), format % args)

    def _send(self, status: int, data: bytes, content_type: str = "text/xml; charset=utf-8") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_json(self, status: int, payload: Any) -> None:
        self._send(status, json.dumps(payload).encode(), "application/json")

    def _read(self) -> bytes | None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            self._send(413, wire.fault_response("soapenv:Client", "Body too large"))
            return None
        return self.rfile.read(length) if length else b""

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        state = self.server.state
        if path == "/healthz":
            self._send_json(200, {"status": "ok", "service": "population-registry-simulator"})
        elif path == "/_sim/stats":
            with state.lock:
                self._send_json(200, {"requests": dict(state.requests), "records": dict(state.records)})
        else:
            self._send_json(404, {"error": "not found"})

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        raw = self._read()
        if raw is None:
            return
        state = self.server.state
        if path == "/_sim/reset":
            state.reset()
            self._send_json(200, {"status": "reset"})
        elif path == "/_sim/faults":
            try:
                state.set_faults(json.loads(raw or b"{}"))
            except (TypeError, ValueError, AttributeError) as exc:
                self._send_json(400, {"error": str(exc)})
                return
            self._send_json(200, {"status": "ok"})
        elif path == SOAP_PATH:
            self._soap(raw)
        else:
            self._send_json(404, {"error": "not found"})

    def _soap(self, raw: bytes) -> None:
        state = self.server.state
        if state.faults.delay_ms:
            time.sleep(state.faults.delay_ms / 1000)
        fault = state.take_fault()
        if fault == "fail":
            self._send(state.faults.fail_status, wire.fault_response("soapenv:Server", "Injected failure"))
            return
        if fault == "malformed":
            self._send(200, b"<soapenv:Envelope><CongdanCollection><CongDan>")
            return
        try:
            operation, fields, ids = wire.parse_request(raw)
        except wire.WireError as exc:
            self._send(400, wire.fault_response("soapenv:Client", str(exc)))
            return
        population = state.population
        request_id = fields.get("MaYeuCau", "")
        if operation == wire.LOOKUP:
            record = population.find(fields.get("SoDinhDanh", ""))
            state.count(operation, 1)
            records = [record] if record is not None else []
            self._send(200, wire.collection_response(records, request_id=request_id, data_time=DATA_TIME))
        elif operation == wire.LOOKUP_BULK:
            if not ids or len(ids) > MAX_BULK:
                self._send(400, wire.fault_response("soapenv:Client", f"DanhSach must hold 1..{MAX_BULK} IDs"))
                return
            state.count(operation, len(ids))
            found = [r for r in map(population.find, ids) if r is not None]
            self._send(200, wire.collection_response(found, request_id=request_id, data_time=DATA_TIME))
        elif operation == wire.VERIFY:
            state.count(operation, 1)
            record = population.find(fields.get("SoDinhDanh", ""))
            exists = (
                record is not None
                and record.full_name == " ".join(fields.get("HoVaTen", "").split())
                and fields.get("SoCMND", "") in ("", record.old_id)
            )
            self._send(200, wire.exists_response(exists))
        else:
            self._send(400, wire.fault_response("soapenv:Client", f"Unknown operation {operation}"))


class PopulationRegistrySimulator(ThreadingHTTPServer):
    """The simulator's HTTP server; `state` holds counters and faults."""

    daemon_threads = True
    request_queue_size = 64

    def __init__(self, address: tuple[str, int], *, population: Population) -> None:
        super().__init__(address, SimulatorHandler)
        self.state = SimulatorState(population)

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
