"""Held load on the portal (security.md T38, T39 overload): run by bench/load.py with var/soak-venv's locust.

No Django here (locust has its own virtualenv). bench/load.py writes the world to LOAD_WORLD (JSON: procedure
id, one API token and the references of its dossiers per applicant) and reads back LOAD_ACKS (one reference
per acknowledged submission). Mix (wait 1-3 s): 70 % status/list `GET /api/v1/dossiers/`, 20 % dossier view
`GET /api/v1/dossiers/<reference>/`, 10 % submission `POST /api/v1/dossiers/` with a 1-5 MB PDF.

The exit code comes from the `quitting` listener (LOAD_PHASE):
- held: any failed request, p95 of pages >= LOAD_PAGE_P95_MS (800) or of uploads >= LOAD_UPLOAD_P95_MS (3000);
- overload: any failure other than a 429/503 answer (a timeout, a reset, a 500); shed answers are counted.
"""

from __future__ import annotations

import itertools
import json
import os
import random
import uuid
from collections import Counter

from locust import between, events, task
from locust.contrib.fasthttp import FastHttpUser

WORLD = json.loads(open(os.environ["LOAD_WORLD"], encoding="utf-8").read())  # noqa: SIM115
ACKS = os.environ["LOAD_ACKS"]
PHASE = os.environ.get("LOAD_PHASE", "held")
PAGE_P95_MS = float(os.environ.get("LOAD_PAGE_P95_MS", "800"))
UPLOAD_P95_MS = float(os.environ.get("LOAD_UPLOAD_P95_MS", "3000"))
TIMEOUT = float(os.environ.get("LOAD_TIMEOUT", "30"))
_applicants = itertools.cycle(range(len(WORLD["tokens"])))
SHED = {429, 503}


def pdf(tag: str, size: int) -> bytes:
    """A well-formed PDF of about SIZE bytes, unique to TAG (same layout as tests/conftest.pdf_bytes)."""
    objects = [
        b"<</Type/Catalog/Pages 2 0 R>>",
        b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
        b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>",
        b"(" + tag.encode() + b")",
        b"<</Length %d>>\nstream\n" % size + b"0" * size + b"\nendstream",
    ]
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d /Root 1 0 R>>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return out


def multipart(fields: dict[str, str], filename: str, content: bytes) -> tuple[bytes, str]:
    boundary = uuid.uuid4().hex
    parts = [
        f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'.encode()
        for name, value in fields.items()
    ]
    parts.append(
        f'--{boundary}\r\nContent-Disposition: form-data; name="document"; filename="{filename}"\r\n'
        "Content-Type: application/pdf\r\n\r\n".encode()
        + content
        + b"\r\n"
    )
    parts.append(f"--{boundary}--\r\n".encode())
    return b"".join(parts), f"multipart/form-data; boundary={boundary}"


class Applicant(FastHttpUser):
    wait_time = between(1, 3)
    network_timeout = TIMEOUT
    connection_timeout = TIMEOUT

    def on_start(self) -> None:
        index = next(_applicants)
        self.token = WORLD["tokens"][index]
        self.references = list(WORLD["references"][index])
        self.auth = {"Authorization": f"Token {self.token}"}

    def _check(self, response) -> None:
        if PHASE == "overload" and response.status_code in SHED:
            response.success()  # shedding is the expected answer to overload; counted by its status code

    @task(70)
    def status_list(self) -> None:
        with self.client.get("/api/v1/dossiers/", headers=self.auth, name="status/list", catch_response=True) as r:
            self._check(r)

    @task(20)
    def dossier_view(self) -> None:
        reference = random.choice(self.references)  # noqa: S311  # load mix, not crypto
        with self.client.get(
            f"/api/v1/dossiers/{reference}/", headers=self.auth, name="dossier view", catch_response=True
        ) as r:
            self._check(r)

    @task(10)
    def submit(self) -> None:
        tag = uuid.uuid4().hex
        size = random.randint(1, 5) * 1024 * 1024 - 2048  # noqa: S311
        body, content_type = multipart(
            {
                "procedure": str(WORLD["procedure"]),
                "address": "Số 1 Phố Huế, Hà Nội",
                "phone": "0912345678",
                "request_summary": f"Đề nghị {tag}",
            },
            f"don-{tag[:8]}.pdf",
            pdf(tag, size),
        )
        headers = {**self.auth, "Content-Type": content_type, "Idempotency-Key": tag}
        with self.client.post("/api/v1/dossiers/", data=body, headers=headers, name="submit", catch_response=True) as r:
            self._check(r)
            if r.status_code == 201:
                reference = json.loads(r.content)["reference"]
                self.references.append(reference)
                with open(ACKS, "a", encoding="utf-8") as acks:
                    acks.write(reference + "\n")


CODES: Counter[int] = Counter()  # HTTP status -> answers (0: no answer)


@events.request.add_listener
def count_code(response=None, **kwargs) -> None:
    CODES[getattr(response, "status_code", 0) or 0] += 1


@events.quitting.add_listener
def set_exit_code(environment, **kwargs) -> None:
    stats = environment.stats
    problems = []
    shed = sum(count for code, count in CODES.items() if code in SHED)
    if PHASE == "held":
        if stats.total.num_failures:
            problems.append(f"{stats.total.num_failures} failed request(s)")
        for name, limit in (("status/list", PAGE_P95_MS), ("dossier view", PAGE_P95_MS), ("submit", UPLOAD_P95_MS)):
            entry = stats.get(name, "POST" if name == "submit" else "GET")
            if entry.num_requests and entry.get_response_time_percentile(0.95) >= limit:
                problems.append(f"p95 of {name} {entry.get_response_time_percentile(0.95):.0f} ms >= {limit:.0f} ms")
    elif stats.total.num_failures:
        problems.append(f"{stats.total.num_failures} request(s) failed other than with 429/503")
    print(f"response codes: {dict(sorted(CODES.items()))}; shed: {shed}")
    for problem in problems:
        print(f"THRESHOLD FAILED: {problem}")
    environment.process_exit_code = 1 if problems else 0
