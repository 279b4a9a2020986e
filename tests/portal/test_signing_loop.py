"""Signing works where an asyncio loop already runs in the thread (ASGI servers, Playwright in tests)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor

from portal.signing import Pkcs12Signer, demo_signing_key_create, verify_pdf
from procedures.documents import render_pdf


def test_signing_and_verifying_under_a_running_event_loop(tmp_path):
    path = tmp_path / "k.p12"
    demo_signing_key_create(path=path, common_name="Loop test", organisation="Bộ Y tế", passphrase=None)
    signer = Pkcs12Signer(path=path, passphrase=None)
    pdf = render_pdf("pdf/signing_sample.html", {"title": "Vòng lặp sự kiện"})

    async def inside_a_loop():
        signed = signer.sign_pdf(pdf, field_name="KyDuyet", reason="kiểm thử")
        return verify_pdf(signed, trusted_certificates_pem=[signer.certificate_pem()])

    # A thread of its own, since this test process may already run Playwright's loop in the main thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        assert pool.submit(asyncio.run, inside_a_loop()).result().ok
