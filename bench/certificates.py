"""Bench issuing birth certificates through the REST API: accepted per second (validated, identity
checked through the population gateway, numbered, rendered, signed with the facility key, stored,
audited and queued in the outbox), beside a bare one-row insert in the same run.

In-process through Django's test client (no HTTP server): PostgreSQL from DATABASE_URL, DEBUG off,
the full middleware. The population-database simulator runs in a thread (real HTTP); Celery
publishes to an in-memory broker, so delivery is not measured, only acceptance.

    DATABASE_URL=postgres://portal@127.0.0.1:5432/portal_bench_bd .venv/bin/python bench/certificates.py [--quick]

The last line is the headline: `certificates_per_s: <value> cert/s`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time

from benchenv import percentile

os.environ["CELERY_BROKER_URL"] = "memory://"
os.environ.setdefault("PORTAL_VAR_DIR", tempfile.mkdtemp(prefix="bench-certificates-"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer rounds (under a minute)")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    rounds = args.rounds or (30 if args.quick else 200)
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database made for benchmarking (it is migrated and filled).")

    from integrations.population_registry.simulator import start as start_population

    population, population_url = start_population(port=0, size=200_000, seed=2026)
    os.environ["POPULATION_REGISTRY_URL"] = population_url

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test import Client
    from django.test.utils import override_settings

    from facilities.models import DocumentEvent, Facility, FacilityCredential, HealthDocument
    from facilities.signing import facility_demo_key_create
    from integrations.models import OutboxMessage
    from places.models import AdministrativeUnit
    from places.services import admin_units_load
    from portal.models import AuditRecord

    call_command("migrate", verbosity=0)
    if not AdministrativeUnit.objects.exists():
        admin_units_load()
    facility, _ = Facility.objects.get_or_create(
        code="99009", defaults={"name": "Bệnh viện Đo hiệu năng (minh họa)", "is_illustrative": True}
    )
    facility_demo_key_create(facility=facility)
    _credential, key = FacilityCredential.issue(facility=facility, label="bench")

    # A living woman of the simulated population, so the gateway answers "verified".
    i = 0
    while True:
        person = population.state.population.person(i)
        if not person.deceased and person.sex == "Nữ" and len(person.birth_date) == 10 and person.birth_date >= "1975":
            break
        i += 1
    name = " ".join(p for p in (person.family_name, person.middle_name, person.given_name) if p)
    body = {
        "form": "01",
        "data": {
            "mother_name": name,
            "mother_birth_date": person.birth_date,
            "mother_personal_id": person.personal_id,
            "mother_address": "Số 1 Phố Huế",
            "mother_province_code": "01",
            "mother_commune_code": "00004",
            "children_count": 1,
            "delivery_number": 1,
            "living_children": 1,
            "birth_place": "Bệnh viện Đo hiệu năng",
            "birth_attendant": "Lê Thị Đỡ",
            "recorder": "Phạm Văn Ghi",
            "head_name": "Nguyễn Văn Trưởng",
        },
        "children": [
            {"child_sex": "2", "child_weight_g": 3100, "birth_at": "2026-11-20T08:15", "child_condition": "Khỏe mạnh"}
        ],
    }
    client = Client(HTTP_AUTHORIZATION=f"Api-Key {key}")
    before = {
        "documents": HealthDocument.objects.count(),
        "audit": AuditRecord.objects.count(),
        "outbox": OutboxMessage.objects.count(),
    }
    anchor = HealthDocument.objects.filter(facility=facility).first()
    timings, inserts = [], []
    with override_settings(CELERY_TASK_ALWAYS_EAGER=False, GATEWAY_CACHE_SECONDS=0):
        for _ in range(3):  # warm-up: fonts, templates, connections, the signer
            response = client.post("/api/v1/facilities/birth-certificates/", body, content_type="application/json")
            assert response.status_code == 201, response.content
        anchor = anchor or HealthDocument.objects.filter(facility=facility).first()
        started = time.perf_counter()
        for _ in range(rounds):
            t0 = time.perf_counter()
            response = client.post("/api/v1/facilities/birth-certificates/", body, content_type="application/json")
            timings.append(time.perf_counter() - t0)
            assert response.status_code == 201, response.content
            assert response.json()["documents"][0]["verification_status"] == "verified"
        elapsed = time.perf_counter() - started
        # Baseline: the bare cost of committing one row (its own transaction), same database, same run.
        t_insert = time.perf_counter()
        for _ in range(rounds):
            t0 = time.perf_counter()
            with transaction.atomic():
                DocumentEvent.objects.create(document=anchor, kind="bench")
            inserts.append(time.perf_counter() - t0)
        insert_elapsed = time.perf_counter() - t_insert
    DocumentEvent.objects.filter(kind="bench").delete()
    population.stop()
    created = {
        "documents": HealthDocument.objects.count() - before["documents"],
        "audit records": AuditRecord.objects.count() - before["audit"],
        "outbox messages": OutboxMessage.objects.count() - before["outbox"],
    }
    quick = " (quick)" if args.quick else ""
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; rounds: {rounds}{quick}")
    print("created: " + ", ".join(f"{v} {k}" for k, v in created.items()))
    ms = [t * 1000 for t in timings]
    print(
        f"issue (POST birth-certificates, 1 child)  p50 {percentile(ms, 0.5):7.1f} ms  "
        f"p95 {percentile(ms, 0.95):7.1f} ms  mean {statistics.fmean(ms):7.1f} ms"
    )
    ims = [t * 1000 for t in inserts]
    print(
        f"bare one-row insert (own transaction)     p50 {percentile(ims, 0.5):7.2f} ms  "
        f"-> {rounds / insert_elapsed:8.1f} rows/s"
    )
    print(f"certificates_per_s: {rounds / elapsed:.1f} cert/s")


if __name__ == "__main__":
    main()
