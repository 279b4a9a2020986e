"""Bench the lifecycle service: transitions per second, and recomputing due dates from the ledgers.

Runs the real stack on PostgreSQL (DATABASE_URL), DEBUG off, audit trail and outbox on: every
transition goes through procedures.lifecycle.dossier_transition, which locks the row, runs the
django-fsm transition, writes the event, the processing step, the audit record (hash chain) and the
national-portal outbox message in one transaction. Celery publishes to an in-memory broker, so the
after-commit follow-ups (PDFs, notifications) are queued but not run: the service is measured.

Baseline in the same run: a bare one-row INSERT in its own transaction (same connection, same commit).
Then the time to recompute the due dates of N open dossiers (default 100,000) whose ledgers include a
start before Tết 2027, a supplement pause and a resume, with the calendar from the database. The recompute
checks every open dossier in the database: give each run a fresh database (the walked dossiers end returned,
so a fresh database holds exactly N open ones; the line prints how many were checked).

    DATABASE_URL=postgres://portal@127.0.0.1:5432/portal_bench .venv/bin/python bench/transitions.py [--quick]

The last line is the headline: `transitions_vs_bare_insert: <ratio> ratio`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import sys
import time
from zoneinfo import ZoneInfo

from benchenv import percentile

os.environ["CELERY_BROKER_URL"] = "memory://"
VN = ZoneInfo("Asia/Ho_Chi_Minh")
PATH = ["receive", "assign", "forward_for_approval", "approve", "sign", "issue", "return_result"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer dossiers (under a minute)")
    parser.add_argument("--dossiers", type=int, default=None, help="dossiers taken through the whole path")
    parser.add_argument("--open", type=int, default=None, help="open dossiers whose due dates are recomputed")
    args = parser.parse_args()
    walked = args.dossiers or (60 if args.quick else 400)
    open_count = args.open or (10_000 if args.quick else 100_000)

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database made for benchmarking (it is migrated and filled).")

    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.test.utils import override_settings

    from integrations.models import OutboxMessage
    from portal.crypto import pii_hash
    from portal.models import AuditRecord
    from procedures import clock
    from procedures.catalogue import procedure_version_freeze
    from procedures.demo import demo_data_load
    from procedures.lifecycle import dossier_transition
    from procedures.models import Dossier, DossierEvent, Holiday, Procedure, StaffProfile

    call_command("migrate", verbosity=0)
    demo_data_load()
    users = get_user_model()
    staff = {p.role: p.user for p in StaffProfile.objects.select_related("user").filter(user__username__in=[
        "clerk", "officer", "leader", "signer", "records"])}  # fmt: skip
    missing = {"reception_clerk", "processing_officer", "leader", "signing_authority", "records_clerk"} - set(staff)
    assert not missing, f"demo staff missing: {missing}"
    procedure = Procedure.objects.get(code="QT.YDCT.11")
    version = procedure_version_freeze(procedure=procedure)
    applicant, _ = users.objects.get_or_create(username="bench-applicant")
    for day in (dt.date(2027, 2, d) for d in range(5, 12)):  # Tết 2027, as an administrator would enter it
        Holiday.objects.get_or_create(date=day, defaults={"name": "Tết Nguyên đán (bench)"})

    def new_dossiers(count: int, **extra) -> list[Dossier]:
        stamp = time.time_ns()
        rows = [
            Dossier(
                reference=f"BENCH-{stamp}-{i}",
                procedure=procedure,
                procedure_version=version,
                agency=procedure.agency,
                applicant=applicant,
                applicant_name="Nguyễn Văn Bench",
                applicant_name_search="nguyen van bench",
                applicant_national_id="001095012345",
                applicant_national_id_hash=pii_hash("001095012345"),
                applicant_address="Số 1 Phố Huế, Hà Nội",
                applicant_phone="0912345678",
                request_summary="Bench",
                **extra,
            )
            for i in range(count)
        ]
        return Dossier.objects.bulk_create(rows, batch_size=2000)

    before = {"events": DossierEvent.objects.count(), "audit": AuditRecord.objects.count(),
              "outbox": OutboxMessage.objects.count()}  # fmt: skip
    dossiers = new_dossiers(walked)
    params = {
        "receive": {}, "assign": {"officer": staff["processing_officer"].pk}, "forward_for_approval": {},
        "approve": {}, "sign": {}, "issue": {}, "return_result": {"method": "counter"},
    }  # fmt: skip
    actor = {
        "receive": staff["reception_clerk"], "assign": staff["leader"], "forward_for_approval":
        staff["processing_officer"], "approve": staff["leader"], "sign": staff["signing_authority"],
        "issue": staff["records_clerk"], "return_result": staff["reception_clerk"],
    }  # fmt: skip

    with connection.cursor() as cursor:
        cursor.execute("CREATE TABLE IF NOT EXISTS bench_bare (id bigserial PRIMARY KEY, note text, at timestamptz)")
    bare_rows = walked * len(PATH)

    with override_settings(CELERY_TASK_ALWAYS_EAGER=False):
        for d in dossiers[:3]:  # warm-up: caches, prepared paths
            for step in PATH:
                dossier_transition(dossier_id=d.pk, action=step, actor=actor[step], **params[step])
        timed = dossiers[3:]
        per_transition: list[float] = []
        t_start = time.perf_counter()
        for d in timed:
            for step in PATH:
                t0 = time.perf_counter()
                dossier_transition(dossier_id=d.pk, action=step, actor=actor[step], **params[step])
                per_transition.append((time.perf_counter() - t0) * 1000)
        transitions_s = len(per_transition) / (time.perf_counter() - t_start)

        t_start = time.perf_counter()
        for i in range(bare_rows):
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute("INSERT INTO bench_bare (note, at) VALUES (%s, now())", [f"row {i}"])
        bare_s = bare_rows / (time.perf_counter() - t_start)

    # Recompute: N received dossiers with a ledger (start before Tết 2027, pause, resume).
    received = dt.datetime(2027, 1, 28, 10, 0, tzinfo=VN)
    opened = new_dossiers(open_count, state=Dossier.State.RECEIVED, received_at=received)
    clerk = staff["reception_clerk"]
    events = []
    for i, d in enumerate(opened):
        pause = received + dt.timedelta(days=3 + i % 5, hours=i % 7)
        resume = pause + dt.timedelta(days=14 + i % 11)
        for kind, effect, at in (
            (DossierEvent.Kind.RECEIVED, "start", received),
            (DossierEvent.Kind.SUPPLEMENT_REQUESTED, "pause", pause),
            (DossierEvent.Kind.SUPPLEMENT_ACCEPTED, "resume", resume),
        ):
            events.append(
                DossierEvent(dossier=d, kind=kind, to_state="received", actor=clerk, at=at, clock_effect=effect)
            )
    DossierEvent.objects.bulk_create(events, batch_size=5000)
    t0 = time.perf_counter()
    counts = clock.clock_recompute_open()
    recompute_s = time.perf_counter() - t0
    sample = Dossier.objects.filter(pk=opened[0].pk).values_list("due_at", flat=True).get()
    assert sample is not None
    assert sample > received

    created = {
        "dossiers": walked + open_count,
        "events": DossierEvent.objects.count() - before["events"],
        "audit records": AuditRecord.objects.count() - before["audit"],
        "outbox messages": OutboxMessage.objects.count() - before["outbox"],
        "bare rows": bare_rows,
    }
    quick = " (quick)" if args.quick else ""
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}{quick}")
    print("created: " + ", ".join(f"{v:,} {k}" for k, v in created.items()))
    print(
        f"transitions: {len(per_transition):,} through the service ({len(timed)} dossiers x {len(PATH)} steps): "
        f"{transitions_s:,.0f}/s, p50 {percentile(per_transition, 0.5):.2f} ms, "
        f"p95 {percentile(per_transition, 0.95):.2f} ms"
    )
    print(f"bare one-row insert in its own transaction: {bare_s:,.0f}/s")
    print(
        f"recompute due dates of {counts['checked']:,} open dossiers (ledgers with pauses, Tết 2027): "
        f"{recompute_s:.2f} s ({counts['changed']:,} changed); sample due {sample.astimezone(VN):%Y-%m-%d %H:%M}"
    )
    print(f"transitions_vs_bare_insert: {transitions_s / bare_s:.2f} ratio")


if __name__ == "__main__":
    main()
