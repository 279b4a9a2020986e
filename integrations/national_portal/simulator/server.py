"""A DVCQG simulator: the sync API of domain.md §4.2 over real HTTP, strict, inspectable, breakable.

Protocol endpoints (paths configurable): ``POST /auth`` and ``POST /integration`` with the services
DongBoHoSoMC, CapNhatTienDoHoSoMC and TraCuuHoSo. Answers use these error codes (the operator's
real codes are not public): "00" success, "01" malformed request or record, "02" unknown dossier,
"03" session missing or expired, "04" unknown service. Auth answers ``error_code`` 0 or 1.

Test endpoints: ``GET /healthz``; ``GET /_sim/requests[?service=X]`` lists every protocol request
exactly as received (never de-duplicated); ``POST /_sim/reset``; ``POST /_sim/faults`` with any of
``{"fail_next": N, "status": 503, "error_code": "99", "service": "DongBoHoSoMC"}`` (answer the next N
matching requests with that HTTP status, or with HTTP 200 and that error code, without processing
them), ``{"lose_answer_next": N, "service": ...}`` (process the next N matching requests but answer
504, as if the answer was lost on the way back), ``{"delay_ms": M}`` (delay every protocol answer),
``{"expire_sessions": true}``; ``{"clear": true}`` removes all faults. More fault modes, each taking
``N`` and an optional ``service``: ``{"timeout_next": N, "timeout_ms": 15000}`` (process the request, then hold
the answer longer than the client waits: the client gave up, the portal did the work), ``{"slow_next": N,
"slow_ms": 1500}`` (answer late but within the timeout), ``{"accept_and_lose_next": N}`` (answer "00" but
record nothing), ``{"accept_twice_next": N}`` (apply the request twice and keep it twice in the request
log, as if a retry on the way doubled it; the copy is marked ``"injected_duplicate": true``).

State: per dossier the latest status and its time (from CapNhatTienDoHoSoMC: ``ThoiDiemXuLy``,
``TrangThai``; last write wins, as a naive portal would do) and ``backwards``, how many times a step
older than the current one was applied (a dossier moved backwards). ``GET /_sim/state`` lists it per
dossier; ``TraCuuHoSo`` answers from it (``TrangThaiHienTai``, ``ThoiDiemCapNhat``, ``SoLanLui``).

Procedure master data (issue 8, catalogue): ``LayDanhSachTTHC`` lists every procedure and
``LayThuTuc`` (param ``maTTHC``) answers one record (empty result for an unknown code), from the data
of catalogue_data.py (the real MoH procedures of domain.md §6.1, illustrative parts marked). Test
hooks: ``POST /_sim/procedures`` with ``{"upsert": [records]}``, ``{"remove": [codes]}``,
``{"raw": {code: anything}}`` (served as is, e.g. malformed) or ``{"reset": true}``.

Inbound (the simulator acting as the national portal pushing to us; OUR protocol, see
docs/national-portal-inbound.md): ``POST /_sim/inbound`` with ``{"url", "sender", "secret"}`` says where
and how to sign; ``POST /_sim/push`` with ``{"kind": "dossier"|"rating", "data": {...}}`` signs and
POSTs it, answering ``{"status", "body"}`` of the portal's answer; ``{"replay_last": true}`` re-sends
the last push byte for byte (same nonce); ``"timestamp"`` overrides the signing time. ``GET /_sim/pushes``
lists every push and its answer.

Attachments of pushed dossiers (OUR protocol): ``POST /_sim/files`` with ``{"id", "content_b64"}`` (and
optionally ``"filler_bytes": N`` appended after the content, ``"no_length": true`` to send no
Content-Length) registers a file and answers ``{"url", "sha256", "size"}``; ``GET /files/<id>`` serves
it. Faults: ``{"files_wrong_bytes": true}`` serves other bytes than announced, ``{"files_down_next": N}``
answers the next N file downloads 503, ``{"files_down": true}`` answers every one 503 until cleared.
``GET /_sim/files`` lists every download: id, status, bytes sent (a client that stops early shows).

It uses the standard library only, so it runs without Django.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
import re
import secrets
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from integrations.national_portal.inbound_signing import signed_headers
from integrations.national_portal.simulator.catalogue_data import initial_catalogue

logger = logging.getLogger("integrations.national_portal.simulator")

DOSSIER_CODE_RE = re.compile(r"^[A-Y]\d{2}(\.[0-9A-Z]+)*-\d{6}-\d{2}\d{4,}$")
DATE_RE = re.compile(r"^\d{14}$")
MAX_BODY_BYTES = 5 * 1024 * 1024
MAX_RECORDS = 100
FILE_CHUNK = 64 * 1024

OK = "00"
MALFORMED = "01"
UNKNOWN_DOSSIER = "02"
BAD_SESSION = "03"
UNKNOWN_SERVICE = "04"

DOSSIER_REQUIRED = (
    "MaHoSo",
    "MaTTHC",
    "TenTTHC",
    "MaLinhVuc",
    "TenLinhVuc",
    "ChuHoSo",
    "LoaiDoiTuong",
    "TrichYeuHoSo",
    "NgayTiepNhan",
    "TrangThaiHoSo",
    "DonViXuLy",
)
DOSSIER_DATES = ("NgayTiepNhan", "NgayHenTra", "NgayTra", "NgayKetThucXuLy")
PROGRESS_REQUIRED = ("MaHoSo", "NguoiXuLy", "ThoiDiemXuLy", "TrangThai")
PROGRESS_DATES = ("ThoiDiemXuLy", "NgayBatDau", "NgayKetThucTheoQuyDinh")
TEXT_FIELDS = frozenset(
    {
        "MaHoSo",
        "MaTTHC",
        "TenTTHC",
        "MaLinhVuc",
        "TenLinhVuc",
        "SoBienNhan",
        "ChuHoSo",
        "MaDoiTuong",
        "ThongTinKhac",
        "Email",
        "Fax",
        "SoDienThoai",
        "TrichYeuHoSo",
        "DonViXuLy",
        "GhiChu",
        "NguoiXuLy",
        "ChucDanh",
        "PhongBanXuLy",
        "NoiDungXuLy",
    }
)


class Refused(Exception):
    """The simulator refuses the request with an error code and a message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass
class Faults:
    """What the next requests should suffer."""

    fail_next: int = 0
    fail_status: int = 503
    fail_error_code: str | None = None
    fail_service: str | None = None
    lose_answer_next: int = 0
    lose_answer_service: str | None = None
    delay_ms: int = 0
    files_wrong_bytes: bool = False
    files_down: bool = False
    files_down_next: int = 0
    # name -> [remaining, service or None, parameter in ms]
    counted: dict[str, list[Any]] = field(default_factory=dict)


COUNTED_FAULTS = {
    "timeout_next": ("timeout_ms", 15000),
    "slow_next": ("slow_ms", 1500),
    "accept_and_lose_next": (None, 0),
    "accept_twice_next": (None, 0),
}


def _is_status(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    return isinstance(value, int) and 1 <= value <= 10


def _is_date(value: Any) -> bool:
    if not isinstance(value, str) or not DATE_RE.match(value):
        return False
    try:
        datetime.strptime(value, "%Y%m%d%H%M%S")  # noqa: DTZ007  (only checks the calendar; the zone is implied)
    except ValueError:
        return False
    return True


def _record_errors(record: Any, *, required: tuple[str, ...], dates: tuple[str, ...], status_field: str) -> list[str]:
    if not isinstance(record, dict):
        return ["is not an object"]
    errors = [f"{name} is required" for name in required if record.get(name) in (None, "")]
    for name, value in record.items():
        if name in TEXT_FIELDS and value is not None and not isinstance(value, str):
            errors.append(f"{name} must be a string")
    code = record.get("MaHoSo")
    if isinstance(code, str) and code and not DOSSIER_CODE_RE.match(code):
        errors.append(f"MaHoSo {code!r} does not match the dossier code format")
    if record.get(status_field) not in (None, "") and not _is_status(record[status_field]):
        errors.append(f"{status_field} must be 1..10")
    for name in dates:
        if record.get(name) not in (None, "") and not _is_date(record[name]):
            errors.append(f"{name} must be yyyyMMddHHmmss")
    return errors


class SimulatorState:
    """Everything the simulator remembers; guarded by one lock."""

    def __init__(self, *, username: str, password: str, session_ttl: float) -> None:
        self.username = username
        self.password = password
        self.session_ttl = session_ttl
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        """Forget every request, session, dossier and fault."""
        with self.lock:
            self.requests: list[dict[str, Any]] = []
            self.sessions: dict[str, float] = {}
            self.dossiers: dict[str, dict[str, Any]] = {}
            # Progress is keyed by (time, status) so a re-sent step replaces itself.
            self.progress: dict[str, dict[tuple[str, str], dict[str, Any]]] = {}
            # Per dossier: latest status and time (last write wins) and how often it moved backwards.
            self.state: dict[str, dict[str, Any]] = {}
            self.faults = Faults()
            self.catalogue: dict[str, Any] = initial_catalogue()
            self.inbound: dict[str, str] = {}
            self.pushes: list[dict[str, Any]] = []
            self.files: dict[str, dict[str, Any]] = {}
            self.downloads: list[dict[str, Any]] = []

    # --- the protocol --------------------------------------------------------------------

    def login(self, body: Any) -> dict[str, Any]:
        """Answer the auth endpoint."""
        if (
            not isinstance(body, dict)
            or body.get("username") != self.username
            or not secrets.compare_digest(str(body.get("password", "")), self.password)
        ):
            return {"session": "", "error_code": 1, "message": "Invalid username or password"}
        session = secrets.token_urlsafe(24)
        with self.lock:
            self.sessions[session] = time.monotonic() + self.session_ttl
        return {"session": session, "error_code": 0}

    def integrate(self, body: Any) -> dict[str, Any]:
        """Answer the integration endpoint."""
        try:
            if not isinstance(body, dict):
                raise Refused(MALFORMED, "The body must be a JSON object")
            self._check_session(body.get("session"))
            if not isinstance(body.get("madonvi"), str) or not body["madonvi"].strip():
                raise Refused(MALFORMED, "madonvi is required")
            service = body.get("service")
            if service == "DongBoHoSoMC":
                return self._sync(body)
            if service == "CapNhatTienDoHoSoMC":
                return self._progress(body)
            if service == "TraCuuHoSo":
                return self._lookup(body)
            if service == "LayDanhSachTTHC":
                return self._procedure_list()
            if service == "LayThuTuc":
                return self._procedure_detail(body)
            raise Refused(UNKNOWN_SERVICE, f"Unknown service {service!r}")
        except Refused as refusal:
            return {"error_code": refusal.code, "message": refusal.message}

    def _check_session(self, session: Any) -> None:
        with self.lock:
            if not isinstance(session, str) or self.sessions.get(session, 0.0) <= time.monotonic():
                raise Refused(BAD_SESSION, "Session is missing or expired")

    @staticmethod
    def _records(body: dict[str, Any]) -> list[Any]:
        data = body.get("data")
        if not isinstance(data, list) or not data:
            raise Refused(MALFORMED, "data must be a non-empty list")
        if len(data) > MAX_RECORDS:
            raise Refused(MALFORMED, f"data holds more than {MAX_RECORDS} records")
        return data

    @staticmethod
    def _refuse_if(errors: list[str]) -> None:
        if errors:
            raise Refused(MALFORMED, "; ".join(errors))

    def _sync(self, body: dict[str, Any]) -> dict[str, Any]:
        updating = body.get("isUpdating")
        if updating not in ("True", "False"):
            raise Refused(MALFORMED, 'isUpdating must be "True" or "False"')
        records = self._records(body)
        self._refuse_if(
            [
                f"record {i}: {error}"
                for i, record in enumerate(records)
                for error in _record_errors(
                    record, required=DOSSIER_REQUIRED, dates=DOSSIER_DATES, status_field="TrangThaiHoSo"
                )
            ]
        )
        with self.lock:
            if updating == "True":
                unknown = [r["MaHoSo"] for r in records if r["MaHoSo"] not in self.dossiers]
                if unknown:
                    raise Refused(UNKNOWN_DOSSIER, f"Dossier not found for update: {', '.join(unknown)}")
            # A creation of a known dossier is an upsert: a creation re-sent after a lost answer must pass.
            for record in records:
                self.dossiers[record["MaHoSo"]] = dict(record)
        return {"error_code": OK, "message": f"{len(records)} record(s) saved"}

    def _progress(self, body: dict[str, Any]) -> dict[str, Any]:
        records = self._records(body)
        self._refuse_if(
            [
                f"record {i}: {error}"
                for i, record in enumerate(records)
                for error in _record_errors(
                    record, required=PROGRESS_REQUIRED, dates=PROGRESS_DATES, status_field="TrangThai"
                )
            ]
        )
        with self.lock:
            unknown = [r["MaHoSo"] for r in records if r["MaHoSo"] not in self.dossiers]
            if unknown:
                raise Refused(UNKNOWN_DOSSIER, f"Dossier not found: {', '.join(unknown)}")
            for record in records:
                steps = self.progress.setdefault(record["MaHoSo"], {})
                steps[(record["ThoiDiemXuLy"], str(record["TrangThai"]))] = dict(record)
                self._apply_state(record)
        return {"error_code": OK, "message": f"{len(records)} record(s) saved"}

    def _apply_state(self, record: dict[str, Any]) -> None:
        # Called with the lock held. 14-digit dates compare as strings.
        code, when, status = record["MaHoSo"], record["ThoiDiemXuLy"], str(record["TrangThai"])
        current = self.state.get(code)
        if current is None:
            current = self.state[code] = {"status": status, "changed_at": when, "backwards": 0, "writes": 0}
        elif when < current["changed_at"]:
            current["backwards"] += 1
        current["status"] = status
        current["changed_at"] = when
        current["writes"] += 1

    def state_snapshot(self) -> dict[str, dict[str, Any]]:
        """Return the state per dossier, with the dossier record's own status."""
        with self.lock:
            return {
                code: {**value, "dossier_status": str((self.dossiers.get(code) or {}).get("TrangThaiHoSo", ""))}
                for code, value in self.state.items()
            }

    def _lookup(self, body: dict[str, Any]) -> dict[str, Any]:
        code = body.get("mahoso")
        if not isinstance(code, str) or not code:
            raise Refused(MALFORMED, "mahoso is required")
        with self.lock:
            dossier = self.dossiers.get(code)
            if dossier is None:
                return {"error_code": OK, "result": []}
            steps = sorted(self.progress.get(code, {}).values(), key=lambda r: (r["ThoiDiemXuLy"], str(r["TrangThai"])))
            state = self.state.get(code) or {}
            return {
                "error_code": OK,
                "result": [
                    {
                        **dossier,
                        "TienDoXuLy": steps,
                        "TrangThaiHienTai": state.get("status", ""),
                        "ThoiDiemCapNhat": state.get("changed_at", ""),
                        "SoLanLui": state.get("backwards", 0),
                    }
                ],
            }

    def _procedure_list(self) -> dict[str, Any]:
        with self.lock:
            result = [
                {"MATTHC": code, "TENTTHC": record.get("TENTTHC", "") if isinstance(record, dict) else ""}
                for code, record in sorted(self.catalogue.items())
            ]
        return {"error_code": OK, "result": result}

    def _procedure_detail(self, body: dict[str, Any]) -> dict[str, Any]:
        code = body.get("maTTHC")
        if not isinstance(code, str) or not code:
            raise Refused(MALFORMED, "maTTHC is required")
        with self.lock:
            record = self.catalogue.get(code)
        return {"error_code": OK, "result": [] if record is None else [record]}

    def set_procedures(self, spec: dict[str, Any]) -> None:
        """Change the served procedure data (test hook)."""
        with self.lock:
            if spec.get("reset"):
                self.catalogue = initial_catalogue()
            for record in spec.get("upsert") or []:
                if not isinstance(record, dict) or not isinstance(record.get("MATTHC"), str):
                    raise ValueError("each upserted record needs MATTHC")
                self.catalogue[record["MATTHC"]] = record
            for code in spec.get("remove") or []:
                self.catalogue.pop(code, None)
            for code, value in (spec.get("raw") or {}).items():
                self.catalogue[code] = value

    # --- pushing to the portal (inbound from its point of view) ------------------------------

    INBOUND_PATHS = {"dossier": "/api/v1/national-portal/dossiers/", "rating": "/api/v1/national-portal/ratings/"}

    def set_inbound(self, spec: dict[str, Any]) -> None:
        """Say where to push and how to sign (test hook)."""
        for name in ("url", "sender", "secret"):
            if not isinstance(spec.get(name), str) or not spec[name]:
                raise ValueError(f"{name} is required")
        with self.lock:
            self.inbound = {name: spec[name] for name in ("url", "sender", "secret")}

    def push(self, spec: dict[str, Any]) -> dict[str, Any]:
        """Sign and POST one dossier or rating to the portal; return its status and answer."""
        with self.lock:
            inbound = dict(self.inbound)
            last = self.pushes[-1] if self.pushes else None
        if not inbound:
            raise ValueError("configure /_sim/inbound first")
        if spec.get("replay_last"):
            if last is None:
                raise ValueError("nothing to replay")
            path, raw, headers = last["path"], last["raw"].encode("utf-8"), dict(last["headers"])
        else:
            kind = spec.get("kind")
            if kind not in self.INBOUND_PATHS or not isinstance(spec.get("data"), dict):
                raise ValueError('kind must be "dossier" or "rating" and data an object')
            path = self.INBOUND_PATHS[kind]
            raw = json.dumps(spec["data"], ensure_ascii=False).encode("utf-8")
            timestamp = spec.get("timestamp")
            headers = signed_headers(
                secret=inbound["secret"],
                sender=inbound["sender"],
                method="POST",
                path=path,
                body=raw,
                timestamp=int(timestamp) if timestamp is not None else None,
            )
        url = inbound["url"].rstrip("/") + path
        if not url.startswith(("http://", "https://")):
            raise ValueError("the inbound url must be http(s)")
        request = urllib.request.Request(url, data=raw, method="POST", headers=headers)  # noqa: S310  (checked above)
        try:
            with urllib.request.urlopen(request, timeout=30) as response:  # noqa: S310  # nosec B310  # a configured http URL
                status, answer = response.status, response.read()
        except urllib.error.HTTPError as exc:
            status, answer = exc.code, exc.read()
        try:
            decoded: Any = json.loads(answer.decode("utf-8"))
        except (UnicodeDecodeError, ValueError):
            decoded = answer.decode("utf-8", "replace")
        entry = {"path": path, "raw": raw.decode("utf-8"), "headers": headers, "status": status, "body": decoded}
        with self.lock:
            self.pushes.append(entry)
        return {"status": status, "body": decoded}

    # --- attachments served to the portal (inbound) ------------------------------------------

    def add_file(self, spec: dict[str, Any], *, base_url: str) -> dict[str, Any]:
        """Register a file to serve at /files/<id> (test hook); answer its URL, SHA-256 and size."""
        file_id = spec.get("id")
        if not isinstance(file_id, str) or not re.fullmatch(r"[A-Za-z0-9_.-]{1,64}", file_id):
            raise ValueError("id must be 1-64 of [A-Za-z0-9_.-]")
        content = base64.b64decode(spec.get("content_b64") or "", validate=True)
        filler = max(0, int(spec.get("filler_bytes") or 0))
        digest = hashlib.sha256(content)
        for start in range(0, filler, FILE_CHUNK):
            digest.update(b"\0" * min(FILE_CHUNK, filler - start))
        entry = {"content": content, "filler": filler, "no_length": bool(spec.get("no_length"))}
        with self.lock:
            self.files[file_id] = entry
        return {"url": f"{base_url}/files/{file_id}", "sha256": digest.hexdigest(), "size": len(content) + filler}

    def take_file_fault(self) -> str | None:
        """Return "down" or "wrong" for the next download, consuming a counted fault."""
        with self.lock:
            faults = self.faults
            if faults.files_down:
                return "down"
            if faults.files_down_next > 0:
                faults.files_down_next -= 1
                return "down"
            return "wrong" if faults.files_wrong_bytes else None

    # --- the test hooks ------------------------------------------------------------------

    def record(self, *, service: str, path: str, body: Any, injected_duplicate: bool = False) -> None:
        """Keep one protocol request exactly as received."""
        entry = {"service": service, "path": path, "received_at": datetime.now(tz=UTC).isoformat(), "body": body}
        if injected_duplicate:
            entry["injected_duplicate"] = True
        with self.lock:
            self.requests.append(entry)

    def set_faults(self, spec: dict[str, Any]) -> None:
        """Apply a fault specification (see the module docstring)."""
        with self.lock:
            if spec.get("clear"):
                self.faults = Faults()
            if "fail_next" in spec:
                self.faults.fail_next = int(spec["fail_next"])
                self.faults.fail_status = int(spec.get("status", 503))
                self.faults.fail_error_code = spec.get("error_code")
                self.faults.fail_service = spec.get("service")
            if "lose_answer_next" in spec:
                self.faults.lose_answer_next = int(spec["lose_answer_next"])
                self.faults.lose_answer_service = spec.get("service")
            if "delay_ms" in spec:
                self.faults.delay_ms = max(0, int(spec["delay_ms"]))
            if "files_wrong_bytes" in spec:
                self.faults.files_wrong_bytes = bool(spec["files_wrong_bytes"])
            if "files_down" in spec:
                self.faults.files_down = bool(spec["files_down"])
            if "files_down_next" in spec:
                self.faults.files_down_next = int(spec["files_down_next"])
            if spec.get("expire_sessions"):
                self.sessions.clear()
            for name, (parameter, default) in COUNTED_FAULTS.items():
                if name in spec:
                    value = int(spec[parameter]) if parameter and parameter in spec else default
                    self.faults.counted[name] = [int(spec[name]), spec.get("service"), max(0, value)]

    def take(self, name: str, service: str) -> int | None:
        """Consume one counted fault NAME matching SERVICE; return its parameter (ms), or None."""
        with self.lock:
            entry = self.faults.counted.get(name)
            if entry is None or entry[0] <= 0 or entry[1] not in (None, service):
                return None
            entry[0] -= 1
            return entry[2]

    def take_failure(self, service: str) -> tuple[int, str | None] | None:
        """Consume one injected failure matching SERVICE, if any."""
        with self.lock:
            faults = self.faults
            if faults.fail_next > 0 and faults.fail_service in (None, service):
                faults.fail_next -= 1
                return faults.fail_status, faults.fail_error_code
            return None

    def take_lost_answer(self, service: str) -> bool:
        """Consume one injected lost answer matching SERVICE, if any."""
        with self.lock:
            faults = self.faults
            if faults.lose_answer_next > 0 and faults.lose_answer_service in (None, service):
                faults.lose_answer_next -= 1
                return True
            return False


class SimulatorHandler(BaseHTTPRequestHandler):
    """Route one HTTP request to the simulator state."""

    server: NationalPortalSimulator
    server_version = "DVCQG-simulator"
    sys_version = ""

    def log_message(self, format: str, *args: Any) -> None:
        # Paths and status only; bodies carry personal data and never reach the log.
        logger.debug("%s %s", self.address_string(), format % args)

    def _send_json(self, status: int, payload: Any) -> None:
        data = json.dumps(payload, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _read_body(self) -> tuple[bytes, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise Refused(MALFORMED, "Body too large")
        raw = self.rfile.read(length) if length else b""
        try:
            return raw, json.loads(raw.decode("utf-8")) if raw else None
        except (UnicodeDecodeError, ValueError):
            return raw, None

    def do_GET(self) -> None:
        """Serve the health and inspection endpoints."""
        parts = urlsplit(self.path)
        if parts.path == "/healthz":
            self._send_json(200, {"status": "ok", "service": "national-portal-simulator"})
        elif parts.path == "/_sim/state":
            self._send_json(200, self.server.state.state_snapshot())
        elif parts.path == "/_sim/pushes":
            with self.server.state.lock:
                pushes = [{k: v for k, v in p.items() if k != "headers"} for p in self.server.state.pushes]
            self._send_json(200, pushes)
        elif parts.path == "/_sim/files":
            with self.server.state.lock:
                downloads = list(self.server.state.downloads)
            self._send_json(200, downloads)
        elif parts.path.startswith("/files/"):
            self._serve_file(parts.path.removeprefix("/files/"))
        elif parts.path == "/_sim/requests":
            wanted = parse_qs(parts.query).get("service", [None])[0]
            with self.server.state.lock:
                found = [r for r in self.server.state.requests if wanted in (None, r["service"])]
            self._send_json(200, found)
        else:
            self._send_json(404, {"error": "not found"})

    def _serve_file(self, file_id: str) -> None:
        state = self.server.state
        with state.lock:
            entry = state.files.get(file_id)
        log = {"id": file_id, "status": 200, "bytes_sent": 0, "complete": False}
        with state.lock:
            state.downloads.append(log)
        fault = state.take_file_fault()
        if entry is None or fault == "down":
            log["status"] = 404 if entry is None else 503
            self._send_json(log["status"], {"error": HTTPStatus(log["status"]).phrase})
            return
        content = entry["content"] if fault != "wrong" else b"%PDF-1.4\n% not the announced file\n" + entry["content"]
        total = len(content) + entry["filler"]
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        if not entry["no_length"]:
            self.send_header("Content-Length", str(total))
        self.end_headers()
        try:
            self.wfile.write(content)
            log["bytes_sent"] = len(content)
            remaining = entry["filler"]
            while remaining > 0:
                size = min(FILE_CHUNK, remaining)
                self.wfile.write(b"\0" * size)
                remaining -= size
                log["bytes_sent"] += size
            log["complete"] = True
        except ConnectionError:
            self.close_connection = True  # the client stopped reading (e.g. past its size limit)

    def do_POST(self) -> None:
        """Serve the protocol and the test-control endpoints."""
        path = urlsplit(self.path).path
        state = self.server.state
        try:
            raw, body = self._read_body()
        except Refused as refusal:
            self._send_json(413, {"error_code": refusal.code, "message": refusal.message})
            return
        if path == "/_sim/reset":
            state.reset()
            self._send_json(200, {"status": "reset"})
        elif path == "/_sim/faults":
            if not isinstance(body, dict):
                self._send_json(400, {"error": "expected a JSON object"})
                return
            try:
                state.set_faults(body)
            except (TypeError, ValueError) as exc:
                self._send_json(400, {"error": str(exc)})
                return
            self._send_json(200, {"status": "ok"})
        elif path == "/_sim/files":
            try:
                answer = state.add_file(body if isinstance(body, dict) else {}, base_url=self.server.url)
            except (TypeError, ValueError) as exc:
                self._send_json(400, {"error": str(exc)})
                return
            self._send_json(200, answer)
        elif path in ("/_sim/procedures", "/_sim/inbound", "/_sim/push"):
            if not isinstance(body, dict):
                self._send_json(400, {"error": "expected a JSON object"})
                return
            try:
                if path == "/_sim/procedures":
                    state.set_procedures(body)
                    answer: Any = {"status": "ok"}
                elif path == "/_sim/inbound":
                    state.set_inbound(body)
                    answer = {"status": "ok"}
                else:
                    answer = state.push(body)
            except (TypeError, ValueError, OSError) as exc:
                self._send_json(400, {"error": str(exc)})
                return
            self._send_json(200, answer)
        elif path in (self.server.auth_path, self.server.integration_path):
            self._protocol(path, raw, body)
        else:
            self._send_json(404, {"error": "not found"})

    def _protocol(self, path: str, raw: bytes, body: Any) -> None:
        state = self.server.state
        is_auth = path == self.server.auth_path
        service = "auth" if is_auth else str(body.get("service", "")) if isinstance(body, dict) else ""
        kept = body if body is not None else raw.decode("utf-8", "replace")
        state.record(service=service, path=path, body=kept)
        if state.faults.delay_ms:
            time.sleep(state.faults.delay_ms / 1000)
        failure = state.take_failure(service)
        if failure is not None:
            status, error_code = failure
            if error_code is not None:
                self._send_json(status, {"error_code": error_code, "message": "Injected failure"})
            else:
                self._send_json(status, {"error": HTTPStatus(status).phrase})
            return
        if body is None:
            self._send_json(400, {"error_code": MALFORMED, "message": "The body must be JSON"})
            return
        if not is_auth and state.take("accept_and_lose_next", service) is not None:
            # Says it saved, saves nothing (only the raw request is kept).
            self._send_json(200, {"error_code": OK, "message": "saved"})
            return
        answer = state.login(body) if is_auth else state.integrate(body)
        if not is_auth and answer.get("error_code") == OK and state.take("accept_twice_next", service) is not None:
            # A retry on the way doubled the request: it is kept and applied a second time.
            state.record(service=service, path=path, body=kept, injected_duplicate=True)
            answer = state.integrate(body)
        hang_ms = state.take("timeout_next", service)
        if hang_ms is not None:
            # The work is done; the answer comes later than the client waits (it gives up).
            time.sleep(hang_ms / 1000)
        slow_ms = state.take("slow_next", service)
        if slow_ms is not None:
            time.sleep(slow_ms / 1000)
        if state.take_lost_answer(service):
            self._send_json(504, {"error": "Gateway Timeout"})
            return
        self._send_json(200, answer)


class NationalPortalSimulator(ThreadingHTTPServer):
    """The simulator's HTTP server; `state` holds what it received and knows."""

    daemon_threads = True

    def __init__(
        self,
        address: tuple[str, int],
        *,
        username: str,
        password: str,
        session_ttl: float = 1800.0,
        auth_path: str = "/auth",
        integration_path: str = "/integration",
    ) -> None:
        super().__init__(address, SimulatorHandler)
        self.state = SimulatorState(username=username, password=password, session_ttl=session_ttl)
        self.auth_path = auth_path
        self.integration_path = integration_path

    @property
    def url(self) -> str:
        """Return the base URL the simulator listens on."""
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that hung up (e.g. after their timeout); report anything else."""
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)

    def stop(self) -> None:
        """Stop serving and close the socket."""
        self.shutdown()
        self.server_close()
