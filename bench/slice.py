"""Bench the walking skeleton's write path in-process: citizen submits, clerk receives.

Runs the real stack through Django's test client (no network): PostgreSQL from DATABASE_URL,
DEBUG off, the full middleware, the audit trail and the outbox on. Celery publishes to an
in-memory broker, so the request path is measured, not PDF rendering or delivery.
Baseline measured in the same run: GET /api/v1/procedures/ (a bare read through the same stack).

    DATABASE_URL=postgres://portal@127.0.0.1:5432/portal_bench .venv/bin/python bench/slice.py [--quick]

The last line is the headline: `submit_and_receive_p50: <ms> ms`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

from benchenv import ROOT, percentile, staff_login

os.environ["CELERY_BROKER_URL"] = "memory://"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (under a minute)")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    rounds = args.rounds or (40 if args.quick else 300)

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database made for benchmarking (it is migrated and filled).")

    import django

    django.setup()
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings

    from integrations.models import OutboxMessage
    from portal.crypto import pii_hash
    from portal.models import AuditRecord
    from procedures.demo import demo_data_load
    from procedures.models import Dossier, Procedure

    call_command("migrate", verbosity=0)
    demo_data_load()
    from django.contrib.auth import get_user_model

    from citizens.models import CitizenProfile

    user, _ = get_user_model().objects.get_or_create(username="bench-citizen")
    CitizenProfile.objects.get_or_create(
        user=user,
        defaults={
            "vneid_subject": "bench-citizen",
            "full_name": "Nguyễn Văn Bench",
            "national_id": "001095012345",
            "national_id_hash": pii_hash("001095012345"),
            "assurance_level": "2",
        },
    )
    clerk = get_user_model().objects.get(username="clerk")
    procedure = Procedure.objects.get(code="QT.YDCT.11")
    pdf = (ROOT / "tests" / "data" / "sample.pdf").read_bytes()

    before = {
        "dossiers": Dossier.objects.count(),
        "audit": AuditRecord.objects.count(),
        "outbox": OutboxMessage.objects.count(),
    }
    citizen_client, clerk_client, anon = Client(), Client(), Client()
    citizen_client.force_login(user)
    staff_login(clerk_client, clerk)

    baseline, submit, receive = [], [], []
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        for _ in range(5):  # warm-up: templates, connections, translations
            anon.get("/api/v1/procedures/")
        for _ in range(rounds):
            t0 = time.perf_counter()
            response = anon.get("/api/v1/procedures/")
            baseline.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 200

            t0 = time.perf_counter()
            response = citizen_client.post(
                f"/procedures/{procedure.pk}/",
                {
                    "address": "Số 1 Phố Huế, Hà Nội",
                    "phone": "0912345678",
                    "request_summary": "Đề nghị (bench)",
                    "document": SimpleUploadedFile("don.pdf", pdf, "application/pdf"),
                },
            )
            submit.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 302, response.status_code
            reference = response["Location"].rstrip("/").split("/")[-1]
            pk = Dossier.objects.values_list("pk", flat=True).get(reference=reference)

            t0 = time.perf_counter()
            response = clerk_client.post(f"/workspace/d/{pk}/act/receive/")
            receive.append((time.perf_counter() - t0) * 1000)
            assert response.status_code == 302, response.status_code
            assert response["Location"] == f"/workspace/d/{pk}/", response["Location"]  # not sent to enrolment

    created = {
        "dossiers": Dossier.objects.count() - before["dossiers"],
        "audit records": AuditRecord.objects.count() - before["audit"],
        "outbox messages": OutboxMessage.objects.count() - before["outbox"],
    }
    both = [s + r for s, r in zip(submit, receive, strict=True)]
    quick = " (quick)" if args.quick else ""
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; rounds: {rounds}{quick}")
    print("created: " + ", ".join(f"{v} {k}" for k, v in created.items()))
    for name, values in (
        ("baseline GET /api/v1/procedures/", baseline),
        ("submit (POST apply)", submit),
        ("receive (POST receive)", receive),
        ("submit + receive", both),
    ):
        print(
            f"{name:36s} p50 {percentile(values, 0.5):7.1f} ms  p95 {percentile(values, 0.95):7.1f} ms  "
            f"mean {statistics.fmean(values):7.1f} ms"
        )
    print(f"submit_and_receive_p50: {percentile(both, 0.5):.1f} ms")


if __name__ == "__main__":
    main()
