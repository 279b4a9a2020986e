"""The antivirus hook against a real clamd (Debian's clamav-daemon), not only the protocol simulator.

freshclam cannot reach the internet from these machines, so clamd loads a project-made signature: a body
signature (.ndb) of the EICAR test string, which it finds anywhere in a file. clamd is started on a free
loopback port with a private configuration and stopped after the module (security.md T16).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.models import AuditRecord
from portal.uploads import ScanStatus, av_scan, check_upload
from tests.conftest import MINIMAL_PDF
from tests.security.test_uploads import EICAR, PDF_WITH_EICAR, refusal_code

SIGNATURE = "Project.Test.EICAR"


def _free_port() -> int:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        return probe.getsockname()[1]


def _ping(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
            conn.sendall(b"zPING\0")
            return conn.recv(16).startswith(b"PONG")
    except OSError:
        return False


@pytest.fixture(scope="module")
def real_clamd(tmp_path_factory) -> Iterator[str]:
    binary = shutil.which("clamd") or ("/usr/sbin/clamd" if os.path.exists("/usr/sbin/clamd") else None)
    if binary is None:
        pytest.fail("clamd is missing (Debian: apt-get install clamav-daemon); .ci/run installs it")
    folder = tmp_path_factory.mktemp("clamd")
    (folder / "db").mkdir()
    (folder / "db" / "project.ndb").write_text(f"{SIGNATURE}:0:*:{EICAR.hex()}\n")
    port = _free_port()
    config = folder / "clamd.conf"
    config.write_text(
        f"DatabaseDirectory {folder / 'db'}\nTCPSocket {port}\nTCPAddr 127.0.0.1\nForeground yes\n"
        f"LogFile {folder / 'clamd.log'}\nStreamMaxLength 60M\n"
    )
    process = subprocess.Popen([binary, "-c", str(config)], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not _ping(port):
            if process.poll() is not None or time.monotonic() > deadline:
                log = (folder / "clamd.log").read_text() if (folder / "clamd.log").exists() else ""
                pytest.fail(f"clamd did not start: {log[-2000:]}")
            time.sleep(0.1)
        yield f"tcp://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def scanner(settings, real_clamd) -> str:
    settings.CLAMAV_URL = real_clamd
    settings.UPLOAD_QUARANTINE_ROOT = Path(settings.MEDIA_ROOT).parent / "quarantine-test"
    return real_clamd


def test_real_clamd_finds_the_signature_and_passes_a_clean_file(scanner):
    found = av_scan(EICAR)
    assert found.status == ScanStatus.INFECTED and found.signature.startswith(SIGNATURE)
    assert av_scan(MINIMAL_PDF).status == ScanStatus.CLEAN


@pytest.mark.django_db
def test_an_infected_pdf_is_refused_and_audited_with_the_real_scanner(scanner):
    assert refusal_code("virus.pdf", PDF_WITH_EICAR) == "infected"
    record = AuditRecord.objects.get(action="upload.infected")
    assert record.data["signature"].startswith(SIGNATURE)
    assert check_upload(SimpleUploadedFile("don.pdf", MINIMAL_PDF)).scan_status == ScanStatus.CLEAN
