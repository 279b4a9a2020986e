"""What the soak runs share: a production-like web process on the private stack, applicants, submissions.

The web is gunicorn (sync workers) with DEBUG off, persistent connections with health checks
(DB_CONN_MAX_AGE=60, CONN_HEALTH_CHECKS) and a short connect timeout, MEDIA_ROOT in the stack's folder.
Applicants submit through the API (`POST /api/v1/dossiers/`, multipart, one PDF) with a DRF token each.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import pdf_bytes
from tests.stack import PRODUCTION_LIKE_ENV, ROOT, PrivateStack

SETUP = r"""
import json, os, sys
sys.path.insert(0, os.environ["PORTAL_ROOT"])
import django
django.setup()
from rest_framework.authtoken.models import Token
from integrations.gateway_models import GatewayClient
from procedures.models import Agency, Procedure, StaffProfile
from tests.conftest import make_citizen, make_staff

agency, _ = Agency.objects.get_or_create(code="G18.001.02", defaults={"name": "Cục Quản lý Y, Dược cổ truyền"})
procedure, _ = Procedure.objects.get_or_create(
    code="QT.SOAK.1",
    defaults={
        "name": "Thủ tục (soak)", "agency": agency, "time_limit_days": 20, "is_published": True,
        "sector": "Y, Dược cổ truyền", "sector_code": "G18-YDCT",
    },
)
tokens = []
for i in range(int(sys.argv[1])):
    user = make_citizen(f"soak-{i}", full_name=f"Nguyễn Văn Soak {i}", national_id=f"0011950{i:05d}")
    tokens.append(Token.objects.create(user=user).key)
clerk = make_staff("soak-clerk", agency, StaffProfile.Role.RECEPTION_CLERK)
system = GatewayClient.objects.create(
    code="soak", name="Soak", scopes=["lookup", "verify", "bulk"], daily_quota=10_000_000, rate="100000/min"
)
print(json.dumps({
    "procedure": procedure.pk, "tokens": tokens, "clerk_token": Token.objects.create(user=clerk).key,
    "gateway_key": system.issue_key(),
}))
"""


def web_env(stack: PrivateStack, **extra: str) -> dict[str, str]:
    return {
        **stack.env(),
        **PRODUCTION_LIKE_ENV,
        "DB_CONN_MAX_AGE": "60",
        "DB_CONNECT_TIMEOUT": "3",
        "HEALTHZ_CHECK_SIMULATORS": "false",
        **extra,
    }


def applicants_create(stack: PrivateStack, count: int, env: dict[str, str]) -> tuple[int, list[str]]:
    """COUNT citizens with an API token each; return (procedure id, tokens)."""
    made = world_create(stack, count, env)
    return made["procedure"], made["tokens"]


def world_create(stack: PrivateStack, count: int, env: dict[str, str]) -> dict:
    """COUNT citizens with an API token each, a reception clerk's token, a gateway client's key."""
    script = stack.base / "setup_world.py"
    script.write_text(SETUP)
    result = subprocess.run(
        [sys.executable, str(script), str(count)], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def unique_pdf(tag: str, padding: int = 0) -> bytes:
    """A well-formed PDF whose bytes (and so checksum) are unique to TAG, PADDING bytes larger (a stream)."""
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>",
        b"(" + tag.encode() + b")",
    ]
    if padding:
        objects.append(b"<</Length %d>>\nstream\n" % padding + b"0" * padding + b"\nendstream")
    return pdf_bytes(*objects)


@dataclass
class Attempt:
    sent: float
    done: float
    status: int  # 0: no HTTP answer (connection error, client timeout)
    sha256: str
    reference: str = ""
    body: str = ""


@dataclass
class Submitter:
    """Threads that keep submitting until stopped or TOTAL attempts were answered 2xx; every attempt logged."""

    base_url: str
    procedure: int
    tokens: list[str]
    total: int
    timeout: float = 60.0
    padding: int = 0
    attempts: list[Attempt] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)
    threads: list[threading.Thread] = field(default_factory=list)

    @property
    def acknowledged(self) -> list[Attempt]:
        with self.lock:
            return [a for a in self.attempts if 200 <= a.status < 300]

    def start(self, clients: int) -> None:
        for i in range(clients):
            thread = threading.Thread(target=self._run, args=(self.tokens[i % len(self.tokens)],), daemon=True)
            thread.start()
            self.threads.append(thread)

    def join(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        for thread in self.threads:
            thread.join(max(0.1, deadline - time.monotonic()))
        self.stop.set()

    def _run(self, token: str) -> None:
        import requests

        session = requests.Session()
        session.headers["Authorization"] = f"Token {token}"
        while not self.stop.is_set() and len(self.acknowledged) < self.total:
            tag = uuid.uuid4().hex
            content = unique_pdf(tag, self.padding)
            digest = hashlib.sha256(content).hexdigest()
            sent = time.monotonic()
            try:
                response = session.post(
                    f"{self.base_url}/api/v1/dossiers/",
                    data={
                        "procedure": str(self.procedure),
                        "address": "Số 1 Phố Huế, Hà Nội",
                        "phone": "0912345678",
                        "request_summary": f"Đề nghị {tag}",
                    },
                    files={"document": (f"don-{tag[:8]}.pdf", content, "application/pdf")},
                    headers={"Idempotency-Key": tag},
                    timeout=self.timeout,
                )
                status, text = response.status_code, response.text[:2000]
            except requests.RequestException as exc:
                status, text = 0, f"{exc.__class__.__name__}: {exc}"[:500]
            attempt = Attempt(sent=sent, done=time.monotonic(), status=status, sha256=digest, body=text)
            if 200 <= status < 300:
                attempt.reference = json.loads(text).get("reference", "")
            with self.lock:
                self.attempts.append(attempt)
            if status in (0, 503):
                time.sleep(0.2)  # as a client honouring the outage would, without a storm


SWEEPER = r"""
import os, sys, time
sys.path.insert(0, os.environ["PORTAL_ROOT"])
import django
django.setup()
from django.db import connection
from integrations.outbox import outbox_sweep

while True:  # the beat's outbox sweeper, every second
    try:
        outbox_sweep(limit=2000)
    except Exception as exc:
        print(f"sweep failed: {exc.__class__.__name__}", flush=True)
        connection.close()
    time.sleep(1.0)
"""


def sweeper_start(stack: PrivateStack, env: dict[str, str]) -> None:
    script = stack.base / "sweeper.py"
    script.write_text(SWEEPER)
    stack.spawn("sweeper", [sys.executable, str(script)], env=env)


def acknowledged_missing(stack: PrivateStack, acknowledged: list[Attempt], media_root: Path) -> list[str]:
    """Acknowledged submissions that are not in the database with their file and its checksum."""
    rows = stack.query(
        "select d.reference, doc.sha256, doc.file from procedures_dossier d "
        "join procedures_dossierdocument doc on doc.dossier_id = d.id"
    )
    stored: dict[str, list[tuple[str, str]]] = {}
    for reference, sha256, name in rows:
        stored.setdefault(reference, []).append((sha256, name))
    missing = []
    for attempt in acknowledged:
        documents = stored.get(attempt.reference, [])
        if not any(
            sha == attempt.sha256
            and (media_root / name).is_file()
            and hashlib.sha256((media_root / name).read_bytes()).hexdigest() == attempt.sha256
            for sha, name in documents
        ):
            missing.append(attempt.reference or "(no reference)")
    return missing


def media_orphans(env: dict[str, str], *, delete: bool) -> tuple[int, int, str]:
    """Run `manage.py media_orphans` (grace 0); return (orphan files, exit code, output)."""
    command = [sys.executable, "manage.py", "media_orphans", "--grace-minutes", "0", *(["--delete"] if delete else [])]
    result = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    orphans = sum(1 for line in result.stdout.splitlines() if line.startswith("orphan file:"))
    return orphans, result.returncode, result.stdout[-2000:] + result.stderr[-2000:]
