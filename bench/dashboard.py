"""Bench the service-quality dashboard: page load in-process at 1,000,000 dossiers, beside the bare aggregate query.

Loads (with COPY) N dossiers over 12 agencies and 120 procedures, submitted between 1 January 2025 and
today, with their per-dossier facts and the daily counters computed from the same generated data; then
times, in the same process and run, with DEBUG off:

1. baseline: the bare aggregate query the dashboard starts from (sum of every counter over the period);
2. the whole dashboard page (Django test client, all middleware, template, SVG charts): a ministry user
   (every agency) and an agency leader, for this year so far;
3. one drill-down list page (first 100 dossiers of a number).

    DATABASE_URL=postgres://portal@127.0.0.1:5432/portal_dash_bench .venv/bin/python bench/dashboard.py [--quick]

The database is migrated and its dossiers REPLACED: give the bench its own database.
The last line is the headline: `dashboard_p95_ms: <value> ms`.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time
from collections import Counter, defaultdict

from benchenv import percentile, staff_login

AGENCIES = 12
PROCEDURES = 120


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 dossiers, fewer requests")
    parser.add_argument("--dossiers", type=int, default=None)
    parser.add_argument("--requests", type=int, default=None)
    parser.add_argument("--reuse", action="store_true", help="keep the data of an earlier run with the same size")
    args = parser.parse_args()
    n = args.dossiers or (100_000 if args.quick else 1_000_000)
    requests = args.requests or (20 if args.quick else 50)
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database made for benchmarking (it is migrated and filled).")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    from procedures.models import Dossier
    from quality.models import DailyAggregate

    if not (args.reuse and Dossier.objects.count() == n):
        load(n)
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; dossiers: {Dossier.objects.count():,}; "
          f"daily counter rows: {DailyAggregate.objects.count():,}")  # fmt: skip
    measure(requests)


def load(n: int) -> None:
    """Replace every dossier with N generated ones, their facts and daily counters (COPY)."""
    from django.contrib.auth import get_user_model
    from django.db import connection
    from django.utils import timezone

    from portal.crypto import pii_hash
    from procedures.models import Agency, Dossier, Procedure
    from quality.facts import FactData
    from quality.indicators import COUNTERS
    from quality.models import DailyAggregate, DossierFact, RefreshState

    t0 = time.perf_counter()
    rng = random.Random(766)  # noqa: S311 (synthetic data, reproducible)
    tz = timezone.get_current_timezone()
    with connection.cursor() as cursor:
        cursor.execute(
            "TRUNCATE quality_dailyaggregate, quality_monthlyaggregate, quality_dossierfact, procedures_dossierevent, "
            "procedures_dossierstep, "
            "procedures_dossierdocument, procedures_officialdocument, procedures_dossier CASCADE"
        )
    agencies = []
    for i in range(AGENCIES):
        agency, _ = Agency.objects.get_or_create(
            code=f"G18.9{i:02d}.01", defaults={"name": f"Đơn vị thử {i + 1} (minh hoạ)", "is_illustrative": True}
        )
        agencies.append(agency)
    procedures = []
    sectors = ["Y tế dự phòng", "Dược phẩm", "Khám bệnh, chữa bệnh", "Trang thiết bị y tế", "Y, Dược cổ truyền"]
    for i in range(PROCEDURES):
        procedure, _ = Procedure.objects.get_or_create(
            code=f"BENCH.{i:03d}",
            defaults={
                "name": f"Thủ tục thử {i + 1} (minh hoạ)",
                "agency": agencies[i % AGENCIES],
                "sector": sectors[i % len(sectors)],
                "time_limit_days": rng.choice([5, 10, 15, 20, 30]),
                "is_published": True,
                "is_illustrative": True,
            },
        )
        procedures.append(procedure)
    user, _ = get_user_model().objects.get_or_create(username="bench-applicant")
    encrypted_id = Dossier._meta.get_field("applicant_national_id").get_prep_value("001195012345")
    encrypted_address = Dossier._meta.get_field("applicant_address").get_prep_value("Hà Nội")
    encrypted_empty = Dossier._meta.get_field("principal_id").get_prep_value("")
    id_hash = pii_hash("001195012345")

    first = dt.date(2025, 1, 1)
    today = timezone.localdate()
    span = (today - first).days
    now = timezone.now()
    weights = [1.0 / (1 + i % 30) for i in range(PROCEDURES)]  # a few procedures carry most dossiers
    columns, template = dossier_columns(Dossier, now)
    fact_columns = [
        "dossier_id", "agency_id", "procedure_id", "submitted_day", "online", "received_day", "digitised", "reused",
        "synced", "resolved_day", "outcome", "resolution_mdays", "e_result", "refused_day", "withdrawn_day",
        "stopped_day", "paid_day", "paid_online", "contribution", "computed_at",
    ]  # fmt: skip
    totals: dict[tuple, Counter] = defaultdict(Counter)
    proc_ids = [(p.pk, p.agency_id) for p in procedures]
    with connection.cursor() as cursor:
        with cursor.copy(f"COPY procedures_dossier ({', '.join(columns)}) FROM STDIN") as dcopy:
            facts = []
            for i in range(1, n + 1):
                procedure_id, agency_id = rng.choices(proc_ids, weights)[0]
                day = first + dt.timedelta(days=int(span * (rng.random() ** 0.8)))
                submitted = dt.datetime.combine(day, dt.time(8 + rng.randrange(9), rng.randrange(60)), tzinfo=tz)
                channel = rng.choices(["online", "counter", "national_portal", "postal"], [55, 35, 8, 2])[0]
                roll = rng.random()
                received = submitted + dt.timedelta(hours=rng.randrange(1, 30)) if roll > 0.04 else None
                state, finished, issued, due, outcome, mdays = "submitted", None, None, None, "", 0
                fact = FactData(i, agency_id, procedure_id, day, online=channel in ("online", "national_portal"))
                if received is None:
                    state = rng.choice(["refused", "withdrawn", "submitted"])
                    finished = submitted + dt.timedelta(days=1) if state != "submitted" else None
                    if state == "refused":
                        fact.refused_day = finished.astimezone(tz).date()
                    elif state == "withdrawn":
                        fact.withdrawn_day = finished.astimezone(tz).date()
                else:
                    fact.received_day = received.astimezone(tz).date()
                    fact.digitised = rng.random() < 0.8
                    fact.reused = rng.random() < 0.3
                    fact.synced = rng.random() < 0.93
                    limit = rng.choice([5, 10, 15, 20])
                    due = received + dt.timedelta(days=limit * 7 // 5)
                    took = rng.gauss(limit * 0.8, limit * 0.4) * 7 / 5
                    end = received + dt.timedelta(days=max(took, 0.2))
                    if rng.random() < 0.01:
                        state, finished = "stopped", received + dt.timedelta(days=2)
                        fact.stopped_day = finished.astimezone(tz).date()
                    elif end < now:
                        state, issued = "returned", end
                        finished = end + dt.timedelta(days=1)
                        outcome = "late" if end > due else ("early" if end.date() < due.date() else "on_time")
                        mdays = round(max(took, 0.2) * 5 / 7 * 1000)
                        fact.resolved_day = end.astimezone(tz).date()
                        fact.outcome, fact.resolution_mdays = outcome, mdays
                        fact.e_result = rng.random() < 0.6
                    else:
                        state = rng.choice(["in_processing", "received", "awaiting_approval"])
                    if rng.random() < 0.5:
                        fact.paid_day = received.astimezone(tz).date()
                        fact.paid_online = rng.random() < 0.4
                code = f"{procedure_id:03d}.{agency_id:03d}-{i:08d}" if received else None
                row = dict(template)
                row.update(
                    id=i, reference=f"B{i:010d}", code=code, procedure_id=procedure_id, agency_id=agency_id,
                    applicant_id=user.pk, channel=channel, applicant_name="Nguyễn Văn Thử",
                    applicant_national_id=encrypted_id, applicant_national_id_hash=id_hash,
                    applicant_address=encrypted_address, principal_id=encrypted_empty,
                    principal_address=encrypted_empty,
                    applicant_phone="0912345678", request_summary="Thử", state=state, submitted_at=submitted,
                    received_at=received, due_at=due, result_issued_at=issued,
                    returned_at=finished if state == "returned" else None, finished_at=finished,
                )  # fmt: skip
                dcopy.write_row([row[c] for c in columns])
                contribution = fact.contribution()
                for iso, counts in contribution.items():
                    totals[(iso, agency_id, procedure_id)].update(counts)
                facts.append(fact)
        with cursor.copy(f"COPY quality_dossierfact ({', '.join(fact_columns)}) FROM STDIN") as fcopy:
            import json

            for f in facts:
                fcopy.write_row(
                    (
                        f.dossier_id, f.agency_id, f.procedure_id, f.submitted_day, f.online, f.received_day,
                        f.digitised, f.reused, f.synced, f.resolved_day, f.outcome, f.resolution_mdays, f.e_result,
                        f.refused_day, f.withdrawn_day, f.stopped_day, f.paid_day, f.paid_online,
                        json.dumps(f.contribution()), now,
                    )
                )  # fmt: skip
        with cursor.copy(
            f"COPY quality_dailyaggregate (day, agency_id, procedure_id, {', '.join(COUNTERS)}) FROM STDIN"
        ) as acopy:
            for (iso, agency_id, procedure_id), counts in totals.items():
                acopy.write_row((iso, agency_id, procedure_id, *(counts.get(c, 0) for c in COUNTERS)))
        months: dict[tuple, Counter] = defaultdict(Counter)
        for (iso, agency_id, procedure_id), counts in totals.items():
            months[(iso[:8] + "01", agency_id, procedure_id)].update(counts)
        monthly_columns = f"month, agency_id, procedure_id, {', '.join(COUNTERS)}"
        with cursor.copy(f"COPY quality_monthlyaggregate ({monthly_columns}) FROM STDIN") as mcopy:
            for (iso, agency_id, procedure_id), counts in months.items():
                mcopy.write_row((iso, agency_id, procedure_id, *(counts.get(c, 0) for c in COUNTERS)))
        cursor.execute("SELECT setval(pg_get_serial_sequence('procedures_dossier', 'id'), %s)", [n])
        # As autovacuum would have done on a live database (visibility map for index-only scans).
        for table in (
            "procedures_dossier",
            "quality_dossierfact",
            "quality_dailyaggregate",
            "quality_monthlyaggregate",
        ):
            cursor.execute(f"VACUUM ANALYZE {table}")
    RefreshState.objects.update_or_create(pk=1, defaults={"last_run_at": now, "last_event_id": 0})
    print(f"loaded {n:,} dossiers, {len(totals):,} daily counter rows in {time.perf_counter() - t0:.1f} s")
    assert DailyAggregate.objects.count() == len(totals)
    assert DossierFact.objects.count() == n


def dossier_columns(model, now) -> tuple[list[str], dict]:
    """Every column of the dossier table with a value for the columns the generator leaves alone."""
    import json

    from django.db.models import NOT_PROVIDED

    columns, template = [], {}
    for f in model._meta.concrete_fields:
        columns.append(f.column)
        if f.null:
            value = None
        elif f.default is not NOT_PROVIDED:
            value = f.default() if callable(f.default) else f.default
        elif f.get_internal_type() in ("CharField", "TextField", "EmailField", "SlugField", "FileField"):
            value = ""
        elif f.get_internal_type() == "BooleanField":
            value = False
        elif f.get_internal_type() == "DateTimeField":
            value = now
        else:
            value = 0
        if f.get_internal_type() == "JSONField":
            value = json.dumps(value)
        elif isinstance(value, str) and hasattr(f, "get_prep_value") and f.get_internal_type() == "TextField":
            value = f.get_prep_value(value)
        template[f.column] = value
    template["updated_at"] = now
    return columns, template


def timed(fn, count: int) -> list[float]:
    fn()  # warm-up (template compilation, calendar cache)
    out = []
    for _ in range(count):
        t0 = time.perf_counter()
        fn()
        out.append((time.perf_counter() - t0) * 1000)
    return out


def line(label: str, samples: list[float]) -> str:
    return (
        f"  {label:<42} p50 {statistics.median(samples):7.1f} ms   p95 {percentile(samples, 0.95):7.1f} ms   "
        f"max {max(samples):7.1f} ms   (n={len(samples)})"
    )


def measure(count: int) -> None:
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Permission
    from django.test import Client
    from django.utils import timezone

    from procedures.models import Agency, StaffProfile
    from quality.selectors import SUMS, Filters, aggregate_rows

    user_model = get_user_model()
    ministry, _ = user_model.objects.get_or_create(username="bench-ministry", defaults={"is_staff": True})
    ministry.user_permissions.add(Permission.objects.get(codename="view_all_agencies"))
    leader, _ = user_model.objects.get_or_create(username="bench-leader", defaults={"is_staff": True})
    agency = Agency.objects.filter(code__startswith="G18.9").order_by("code").first()
    StaffProfile.objects.get_or_create(user=leader, defaults={"agency": agency, "role": StaffProfile.Role.LEADER})
    today = timezone.localdate()
    start = today.replace(month=1, day=1)
    query = f"start={start.isoformat()}&end={today.isoformat()}"

    clients = {}
    for name, user in (("ministry", ministry), ("leader", leader)):
        client = Client()
        staff_login(client, user)
        clients[name] = client

    def bare():
        aggregate_rows(Filters(start, today)).aggregate(**SUMS)

    def page(name):
        def run():
            response = clients[name].get(f"/quality/?{query}")
            assert response.status_code == 200, response.status_code

        return run

    def drill():
        response = clients["leader"].get(f"/quality/dossiers/?{query}&counter=resolved_late")
        assert response.status_code == 200

    print(f"period {start} .. {today}; {count} requests each")
    baseline = timed(bare, count)
    print(line("baseline: bare aggregate query (all agencies)", baseline))
    leader_samples = timed(page("leader"), count)
    print(line("dashboard page, agency leader", leader_samples))
    drill_samples = timed(drill, count)
    print(line("drill-down list page (100 rows, audited)", drill_samples))
    ministry_samples = timed(page("ministry"), count)
    print(line("dashboard page, ministry (all agencies)", ministry_samples))
    worst = max(percentile(ministry_samples, 0.95), percentile(leader_samples, 0.95))
    print(f"dashboard_p95_ms: {worst:.1f} ms")


if __name__ == "__main__":
    main()
