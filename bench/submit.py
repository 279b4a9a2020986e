"""Bench online submission through the real views, beside a bare one-row insert view, in one run.

Runs the real stack through Django's test client (no network): PostgreSQL from DATABASE_URL, DEBUG off,
the full middleware, sessions, the audit trail and the outbox on; Celery publishes to an in-memory broker,
so the request path is measured (not PDF rendering or delivery).

- submit: POST /me/drafts/<token>/submit/ of a ready draft (one small PDF): one dossier, its documents,
  event, audit records (the draft is prepared beforehand, untimed).
- submit + 1 MB: POST a 1 MB PDF to the draft's documents step, then the submit POST (both timed).
- bare insert: POST to a bench-only view that inserts one row through the same stack.

    DATABASE_URL=postgres://portal@127.0.0.1:5432/portal_bench .venv/bin/python bench/submit.py [--quick]

The last line is the headline: `submit_vs_bare_insert: <ratio> ratio` (submissions per second without the
upload divided by bare inserts per second; the target is at least 0.5).
"""

from __future__ import annotations

import argparse
import os
import secrets
import statistics
import sys
import time

from benchenv import percentile

os.environ["CELERY_BROKER_URL"] = "memory://"

urlpatterns: list = []  # filled in main(): the portal's URLs plus the bare view (this module is the URLconf)


def bare_insert(request):
    """One row, nothing else: the floor a view with a write can reach through this stack."""
    from django.http import HttpResponse

    from citizens.models import PaymentCallbackNonce

    PaymentCallbackNonce.objects.create(nonce=secrets.token_hex(16), body_sha256="0" * 64)
    return HttpResponse(status=201)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (under a minute)")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    rounds = args.rounds or (30 if args.quick else 200)
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database made for benchmarking (it is migrated and filled).")

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client
    from django.test.utils import override_settings
    from django.urls import include, path
    from django.utils import timezone

    from citizens.models import CitizenProfile, ContactVerification, Draft, DraftDocument, PaymentCallbackNonce
    from portal.crypto import pii_hash
    from procedures.models import Agency, Dossier, Procedure, ProcedureDocument

    call_command("migrate", verbosity=0)
    urlpatterns[:] = [path("bench/bare-insert/", bare_insert), path("", include("portal.urls"))]

    agency, _ = Agency.objects.get_or_create(code="G18.001.99", defaults={"name": "Cơ quan (bench)"})
    procedure, _ = Procedure.objects.get_or_create(
        code="BENCH.SUBMIT",
        defaults={"name": "Thủ tục (bench)", "agency": agency, "time_limit_days": 20, "is_published": True},
    )
    ProcedureDocument.objects.get_or_create(
        procedure=procedure, order=1, defaults={"name": "Đơn", "accepted_types": "pdf"}
    )
    user, _ = get_user_model().objects.get_or_create(username="bench-applicant")
    CitizenProfile.objects.get_or_create(
        user=user,
        defaults={
            "vneid_subject": "bench-applicant",
            "full_name": "Nguyễn Văn Bench",
            "national_id": "001095012346",
            "national_id_hash": pii_hash("001095012346"),
            "assurance_level": "2",
        },
    )
    for channel, value in (("phone", "0912345678"), ("email", "bench@example.vn")):
        ContactVerification.objects.get_or_create(
            user=user,
            channel=channel,
            value=value,
            defaults={"code_hash": "-", "expires_at": timezone.now(), "verified_at": timezone.now()},
        )
    small = (os.path.dirname(__file__) + "/../tests/data/sample.pdf", None)[0]
    with open(small, "rb") as handle:
        pdf = handle.read()
    megabyte = pdf + b"%" + b"0" * (1024 * 1024 - len(pdf) - 1)

    def ready_draft(with_document: bool) -> Draft:
        draft = Draft.objects.create(
            user=user,
            procedure=procedure,
            token=secrets.token_hex(16),
            data={
                "address": "Số 1 Phố Huế, Hà Nội",
                "phone": "0912345678",
                "email": "bench@example.vn",
                "request_summary": "Đề nghị (bench)",
            },
        )
        if with_document:
            document = DraftDocument(
                draft=draft,
                checklist_item=1,
                title="Đơn",
                original_name="don.pdf",
                content_type="application/pdf",
                size=len(pdf),
                sha256="0" * 64,
            )
            document.file.save("don.pdf", SimpleUploadedFile("don.pdf", pdf), save=True)
        return draft

    client = Client()
    client.force_login(user)
    before = Dossier.objects.count()
    bare, submit, submit_upload = [], [], []
    with override_settings(ROOT_URLCONF=__name__, CELERY_TASK_ALWAYS_EAGER=False):
        for _ in range(5):  # warm-up
            client.post("/bench/bare-insert/")
            client.post(f"/me/drafts/{ready_draft(True).token}/submit/")
        for _ in range(rounds):
            t0 = time.perf_counter()
            response = client.post("/bench/bare-insert/")
            bare.append(time.perf_counter() - t0)
            assert response.status_code == 201, response.status_code

            draft = ready_draft(True)
            t0 = time.perf_counter()
            response = client.post(f"/me/drafts/{draft.token}/submit/")
            submit.append(time.perf_counter() - t0)
            assert response.status_code == 302, response.status_code
            assert "/me/dossiers/" in response["Location"], response["Location"]

            draft = ready_draft(False)
            t0 = time.perf_counter()
            up = client.post(
                f"/me/drafts/{draft.token}/documents/",
                {"item": "1", "files-1": SimpleUploadedFile("lon.pdf", megabyte, "application/pdf")},
            )
            response = client.post(f"/me/drafts/{draft.token}/submit/")
            submit_upload.append(time.perf_counter() - t0)
            assert up.status_code == 302, up.status_code
            assert response.status_code == 302, response.status_code

    created = Dossier.objects.count() - before
    assert created == 2 * rounds + 5, created
    quick = " (quick)" if args.quick else ""
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; rounds: {rounds}{quick}")
    print(f"created: {created} dossiers, {PaymentCallbackNonce.objects.count()} bare rows")
    rates = {}
    for name, values in (
        ("bare insert (POST)", bare),
        ("submit (POST submit)", submit),
        ("submit with 1 MB upload (2 POSTs)", submit_upload),
    ):
        rates[name] = len(values) / sum(values)
        print(
            f"{name:34s} {rates[name]:7.1f} /s  p50 {percentile(values, 0.5) * 1000:7.1f} ms  "
            f"p95 {percentile(values, 0.95) * 1000:7.1f} ms  mean {statistics.fmean(values) * 1000:7.1f} ms"
        )
    ratio = rates["submit (POST submit)"] / rates["bare insert (POST)"]
    with_upload = rates["submit with 1 MB upload (2 POSTs)"] / rates["bare insert (POST)"]
    print(f"submit_with_upload_vs_bare_insert: {with_upload:.2f} ratio")
    print(f"submit_vs_bare_insert: {ratio:.2f} ratio")


if __name__ == "__main__":
    main()
