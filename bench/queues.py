"""Bench the staff workspace's queue pages at a million dossiers, in-process through the real view.

Loads 1,000,000 dossiers (``--quick``: 50,000) into PostgreSQL with COPY, spread over four agencies
and every state, then measures, for each queue of each role of the bench agency, page one and a
page deep in the queue (90% of the way down, reached with the keyset cursor) through Django's test
client: DEBUG off, the full middleware, the template, the tab counts and the personal-data audit
record each page writes. Beside it, in the same run, the bare keyset query (the (due_at, id) of
the page's rows) for the same pages, and each deep page right after a transition of the agency (the
tab counts, otherwise cached for a few seconds, are then recounted).

    DATABASE_URL=postgres://portal@127.0.0.1:5432/portal_bench_ws .venv/bin/python bench/queues.py [--quick]

The database is migrated; the bench rows (reference TB...) are loaded once and reused by later runs
(``--reload`` loads them again). No events are loaded: no queue reads them.
The last line is the headline: `queue_page_p95_ms: <ms> ms` (p95 of the deep pages).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import statistics
import sys
import time

from benchenv import percentile, staff_login

os.environ["CELERY_BROKER_URL"] = "memory://"

AGENCIES = [("G99.901.01", "Cục Bench A (minh hoạ)"), ("G99.901.02", "Cục Bench B (minh hoạ)")] + [
    (f"G99.901.0{i}", f"Cục Bench {c} (minh hoạ)") for i, c in ((3, "C"), (4, "D"))
]
# Share of dossiers per state (illustrative: most dossiers of a mature system are finished).
STATES = [
    ("returned", 0.62),
    ("refused", 0.02),
    ("withdrawn", 0.01),
    ("stopped", 0.01),
    ("submitted", 0.04),
    ("supplement_requested", 0.01),
    ("supplemented", 0.01),
    ("received", 0.04),
    ("in_processing", 0.12),
    ("in_consultation", 0.01),
    ("awaiting_approval", 0.03),
    ("awaiting_signature", 0.03),
    ("awaiting_issue", 0.02),
    ("result_ready", 0.03),
]
SURNAMES = ["Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ"]
MIDDLE = ["Văn", "Thị", "Hữu", "Đức", "Minh", "Ngọc", "Thanh", "Quốc"]
GIVEN = ["An", "Bình", "Châu", "Dũng", "Đạt", "Giang", "Hà", "Hải", "Hạnh", "Hùng", "Lan", "Linh", "Lựu", "Mai"]


def setup_world():
    from django.contrib.auth import get_user_model

    from procedures.models import Agency, Department, Procedure, StaffProfile

    agencies = []
    for code, name in AGENCIES:
        agency, _ = Agency.objects.get_or_create(code=code, defaults={"name": name, "is_illustrative": True})
        agencies.append(agency)
    a = agencies[0]
    department, _ = Department.objects.get_or_create(agency=a, code="P-BENCH", defaults={"name": "Phòng Bench"})
    procedures = []
    for agency in agencies:
        for n in range(1, 6):
            procedure, _ = Procedure.objects.get_or_create(
                code=f"BENCH.{agency.code[-2:]}.{n}",
                defaults={"name": f"Thủ tục bench {n} (minh hoạ)", "agency": agency, "time_limit_days": 20},
            )
            procedures.append(procedure)
    User = get_user_model()
    staff = {}
    for role in StaffProfile.Role.values:
        user, _created = User.objects.get_or_create(
            username=f"bench-{role}", defaults={"first_name": "Bench", "last_name": role, "is_staff": True}
        )
        StaffProfile.objects.get_or_create(
            user=user,
            defaults={
                "agency": a,
                "role": role,
                "department": department if role in ("processing_officer",) else None,
            },
        )
        staff[role] = user
    applicant, _ = User.objects.get_or_create(username="bench-applicant")
    return agencies, department, procedures, staff, applicant


def load(*, total: int, agencies, department, procedures, staff, applicant) -> None:
    """COPY TOTAL dossiers in; agency A (the measured one) gets half of them."""
    from django.db import connection
    from django.utils import timezone

    from portal.crypto import pii_hash
    from procedures.models import Dossier
    from procedures.text import search_normalise

    rng = random.Random(7)  # noqa: S311 - illustrative bench data, not security
    fields = [f for f in Dossier._meta.concrete_fields if not f.primary_key]
    columns = [f.column for f in fields]
    defaults = {}
    for f in fields:
        value = f.get_default()
        defaults[f.attname] = f.get_db_prep_save(value, connection) if value is not None else None
    enc = Dossier._meta.get_field("applicant_national_id")
    ciphertext_id = enc.get_db_prep_save("001099000000", connection)
    ciphertext_addr = enc.get_db_prep_save("Số 1 Phố Bench, Hà Nội", connection)
    states = [s for s, _w in STATES]
    weights = [w for _s, w in STATES]
    now = timezone.now()
    procs_by_agency = {a.pk: [p for p in procedures if p.agency_id == a.pk] for a in agencies}
    officer = staff["processing_officer"]
    undated = {"submitted", "supplement_requested", "supplemented"}
    final = {"returned", "refused", "withdrawn", "stopped"}
    started = time.perf_counter()
    with connection.cursor() as cursor:
        raw = cursor.cursor
        with raw.copy(f"COPY procedures_dossier ({', '.join(columns)}) FROM STDIN") as copy:
            for n in range(total):
                agency = agencies[0] if n % 2 == 0 else agencies[1 + n % 3]
                state = rng.choices(states, weights)[0]
                name = f"{rng.choice(SURNAMES)} {rng.choice(MIDDLE)} {rng.choice(GIVEN)}"
                national_id = f"0010{n:08d}"
                submitted = now - dt.timedelta(days=rng.uniform(0, 720))
                dated = state not in undated
                due = submitted + dt.timedelta(days=rng.uniform(5, 60)) if dated else None
                row = dict(defaults)
                row.update(
                    reference=f"TB{n:09d}",
                    code=f"{agency.code}-BENCH-{n:09d}" if dated else None,
                    procedure_id=rng.choice(procs_by_agency[agency.pk]).pk,
                    agency_id=agency.pk,
                    applicant_id=applicant.pk,
                    channel="online",
                    applicant_name=name,
                    applicant_name_search=search_normalise(name),
                    applicant_national_id=ciphertext_id,
                    applicant_national_id_hash=pii_hash(national_id),
                    applicant_address=ciphertext_addr,
                    applicant_phone="0900000000",
                    request_summary="bench",
                    form_data="{}",
                    supplement_items="[]",
                    state=state,
                    submitted_at=submitted,
                    received_at=submitted + dt.timedelta(hours=2) if dated else None,
                    due_at=due,
                    original_due_at=due,
                    updated_at=now,
                    watch=("overdue" if due and due < now else "") if state not in final else "",
                    finished_at=due if state in final else None,
                )
                if state in ("in_processing", "awaiting_approval") and agency == agencies[0]:
                    row["department_id"] = department.pk
                    if rng.random() < 0.05:
                        row["assigned_to_id"] = officer.pk
                if state == "in_consultation":
                    row["consulted_agency_id"] = agencies[0].pk if agency != agencies[0] else agencies[1].pk
                copy.write_row([row[f.attname] for f in fields])
    print(f"loaded {total:,} dossiers in {time.perf_counter() - started:.0f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="50,000 dossiers and fewer rounds")
    parser.add_argument("--dossiers", type=int, default=None)
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--reload", action="store_true", help="delete the bench rows and load them again")
    args = parser.parse_args()
    total = args.dossiers or (50_000 if args.quick else 1_000_000)
    rounds = args.rounds or (15 if args.quick else 40)

    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database made for benchmarking (it is migrated and filled).")

    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from procedures import queues
    from procedures.models import Dossier, StaffProfile

    call_command("migrate", verbosity=0)
    agencies, department, procedures, staff, applicant = setup_world()
    present = Dossier.objects.filter(reference__startswith="TB").count()
    if args.reload or present != total:
        with connection.cursor() as cursor:
            cursor.execute("DELETE FROM procedures_dossier WHERE reference LIKE 'TB%%'")
        load(
            total=total,
            agencies=agencies,
            department=department,
            procedures=procedures,
            staff=staff,
            applicant=applicant,
        )
    connection.ensure_connection()
    autocommit = connection.get_autocommit()
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE procedures_dossier")
    assert autocommit
    print(f"database: {connection.vendor} {connection.settings_dict['NAME']}; dossiers: {Dossier.objects.count():,}")
    print(f"rounds per page: {rounds}{' (quick)' if args.quick else ''}")

    results = []
    deep_pages: list[float] = []
    cold_pages: list[float] = []
    changed = Dossier(agency=agencies[0])  # stands for any dossier of the bench agency that changed
    for role in StaffProfile.Role.values:
        user = staff[role]
        profile = StaffProfile.objects.select_related("agency", "department").get(user=user)
        client = Client()
        staff_login(client, user)
        for queue in queues.queues_for(profile):
            # The cursor 90% of the way down (found once, not measured): the last row before it.
            keys = []
            filters = queues.QueueFilters()
            for branch in queue.branches(profile):
                base = queues._filtered(Dossier.objects.filter(branch), filters)
                keys += list(base.order_by("due_at", "id").values_list("due_at", "id"))
            keys.sort(key=queues._sort_key)
            deep = None
            if len(keys) > queues.PAGE_SIZE * 2:
                deep = queues.Cursor(*keys[int(len(keys) * 0.9)])
            url = f"/workspace/q/{queue.key}/"
            for label, after in (("page 1", None), ("deep", deep)):
                if label == "deep" and after is None:
                    continue
                params = {"after": after.encode()} if after else {}
                for _ in range(3):  # warm-up
                    client.get(url, params)
                page_ms, bare_ms = [], []
                for _ in range(rounds):
                    t0 = time.perf_counter()
                    response = client.get(url, params)
                    page_ms.append((time.perf_counter() - t0) * 1000)
                    assert response.status_code == 200, response.status_code
                    t0 = time.perf_counter()
                    queues.queue_keys(profile=profile, queue=queue, filters=filters, after=after)
                    bare_ms.append((time.perf_counter() - t0) * 1000)
                rows = response.content.count(b'<tr class="') if b'id="queue-table"' in response.content else None
                cold_ms = []
                if label == "deep":
                    deep_pages += page_ms
                    # The same page right after a transition of the agency: the tab counts are recounted.
                    for _ in range(rounds // 2):
                        queues.queue_counts_changed(changed)
                        t0 = time.perf_counter()
                        response = client.get(url, params)
                        cold_ms.append((time.perf_counter() - t0) * 1000)
                        assert response.status_code == 200, response.status_code
                    cold_pages += cold_ms
                results.append((role, queue.key, len(keys), label, rows, page_ms, bare_ms, cold_ms))

    print(
        f"{'role':19s} {'queue':18s} {'size':>8s} {'page':7s} {'rows':>4s}  page p50/p95 ms   bare p50/p95 ms"
        "   recount p50/p95 ms"
    )
    for role, key, size, label, rows, page_ms, bare_ms, cold_ms in results:
        recount = f"   {percentile(cold_ms, 0.5):6.1f} {percentile(cold_ms, 0.95):6.1f}" if cold_ms else ""
        print(
            f"{role:19s} {key:18s} {size:8,d} {label:7s} {rows if rows is not None else '-':>4}  "
            f"{percentile(page_ms, 0.5):6.1f} {percentile(page_ms, 0.95):6.1f}     "
            f"{percentile(bare_ms, 0.5):6.2f} {percentile(bare_ms, 0.95):6.2f}{recount}"
        )
    all_pages = [v for r in results for v in r[5]]
    print(f"all pages: p50 {percentile(all_pages, 0.5):.1f} ms, mean {statistics.fmean(all_pages):.1f} ms")
    print(
        f"deep pages right after a transition (tab counts recounted): p50 {percentile(cold_pages, 0.5):.1f} ms, "
        f"p95 {percentile(cold_pages, 0.95):.1f} ms"
    )
    print(f"queue_page_p95_ms: {percentile(deep_pages, 0.95):.1f} ms")


if __name__ == "__main__":
    main()
