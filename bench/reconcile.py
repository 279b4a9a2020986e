"""Bench batch identity reconciliation end to end, on the real stack, with a stated ground truth.

File in (CSV, streamed) -> import into encrypted chunks -> two real Celery worker processes (Redis)
take the chunks -> the gateway asks the population-database simulator (its own HTTP process) with
the bulk extension -> classification -> results stored with COPY. The counts per category are
asserted against the ground truth of the generated input (at least 15 % mismatches over all five
categories, plus case, spacing, Unicode and tone-placement variants that must match), and every
record must be counted exactly once although two workers shared the job.

Bare stages measured in the same run: CSV parse, XML answer parse, classification, bulk store (COPY).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gateway_bench .venv/bin/python bench/reconcile.py [--quick]

Needs PostgreSQL (DATABASE_URL) and Redis (REDIS_URL, default redis://127.0.0.1:6379/11).
The last line is the headline: `reconcile_records_per_s: <value> rec/s`.
"""

from __future__ import annotations

import argparse
import contextlib
import csv
import os
import resource
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings.base")
os.environ["DEBUG"] = "false"
os.environ.setdefault("SECRET_KEY", "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz")
os.environ.setdefault("PII_ENCRYPTION_KEYS", "YmVuY2gtb25seS1waWkta2V5LTMyLWJ5dGVzLWxvbmc=")
os.environ.setdefault("PII_HASH_KEY", "bench-only-pii-hash-key")
os.environ.setdefault("ALLOWED_HOSTS", "testserver")
os.environ.setdefault("STATICFILES_STORAGE", "django.contrib.staticfiles.storage.StaticFilesStorage")
os.environ.setdefault("RECONCILIATION_CHUNK_SIZE", "2000")
os.environ.setdefault("POPULATION_REGISTRY_BULK_SIZE", "2000")
os.environ.setdefault("LOG_LEVEL", "WARNING")
REDIS_URL = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/11")
os.environ["CELERY_BROKER_URL"] = REDIS_URL
WORKERS = 2


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_http(url: str, timeout: float = 30.0) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=1):  # noqa: S310  (loopback simulator)
                return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"{url} did not answer")


def rate(n: int, seconds: float) -> str:
    return f"{n / seconds:12,.0f} rec/s  ({n:,} in {seconds:6.2f} s)"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="100,000 records (under a minute)")
    parser.add_argument("--records", type=int, default=None)
    args = parser.parse_args()
    records = args.records or (100_000 if args.quick else 1_000_000)
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database made for benchmarking (it is migrated and filled).")

    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection

    from integrations import reconciliation as rec
    from integrations import reconciliation_matching as matching
    from integrations.gateway_models import GatewayMessage, ReconciliationChunk, ReconciliationJob
    from integrations.population_registry import wire
    from integrations.population_registry.simulator.population import DATA_TIME, Population
    from integrations.reconciliation_synthetic import synthetic_rows
    from portal.celery import app as celery_app

    call_command("migrate", verbosity=0)
    population_size = max(2 * records, 200_000)
    population = Population(size=population_size, seed=2026)
    work = Path(tempfile.mkdtemp(prefix="reconcile-bench-"))
    procs: list[subprocess.Popen] = []
    queue = f"reconcile-bench-{uuid.uuid4().hex[:8]}"
    try:
        # 1. the input file, with its ground truth
        t0 = time.perf_counter()
        source = work / "input.csv"
        truth: Counter = Counter()
        variants: Counter = Counter()
        with source.open("w", encoding="utf-8", newline="") as out:
            writer = csv.writer(out)
            writer.writerow(["reference", "so_dinh_danh", "ho_ten", "ngay_sinh", "co_so"])
            for row in synthetic_rows(population, records, seed=5):
                writer.writerow([row.reference, row.personal_id, row.full_name, row.birth_date, row.facility])
                truth[row.expected] += 1
                variants[row.variant or "verbatim"] += 1
        generated = time.perf_counter() - t0
        mismatches = records - truth["matched"]
        print(
            f"database: {connection.vendor} {connection.settings_dict['NAME']}; records: {records:,}"
            f"{' (quick)' if args.quick else ''}; population: {population_size:,}; "
            f"chunk size: {settings.RECONCILIATION_CHUNK_SIZE}"
        )
        print(
            f"input: {source} {source.stat().st_size / 1e6:.1f} MB, generated in {generated:.1f} s; "
            f"mismatches {mismatches:,} ({100 * mismatches / records:.1f} %)"
        )
        print("ground truth: " + ", ".join(f"{k} {v:,}" for k, v in sorted(truth.items())))
        print("matching variants: " + ", ".join(f"{k} {v:,}" for k, v in sorted(variants.items())))

        # 2. the simulator (its own process) and two workers
        port = free_port()
        sim_url = f"http://127.0.0.1:{port}"
        env = {**os.environ, "POPULATION_REGISTRY_URL": sim_url, "PYTHONUNBUFFERED": "1"}
        procs.append(
            subprocess.Popen(  # noqa: S603
                [
                    sys.executable,
                    "-m",
                    "integrations.population_registry.simulator",
                    "--port",
                    str(port),
                    "--size",
                    str(population_size),
                    "--seed",
                    "2026",
                ],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
        )
        wait_http(f"{sim_url}/healthz")
        settings.POPULATION_REGISTRY_URL = sim_url
        for n in range(WORKERS):
            procs.append(
                subprocess.Popen(  # noqa: S603
                    [
                        sys.executable,
                        "-m",
                        "celery",
                        "-A",
                        "portal",
                        "worker",
                        "-P",
                        "solo",
                        "--without-gossip",
                        "--without-mingle",
                        "--without-heartbeat",
                        "-Q",
                        queue,
                        "-n",
                        f"{queue}-{n}@%h",
                        "-l",
                        "WARNING",
                    ],
                    cwd=ROOT,
                    env=env,
                    stdout=subprocess.DEVNULL,
                    stderr=(work / f"worker{n}.log").open("wb"),
                )
            )
        celery_app.conf.task_default_queue = queue
        celery_app.conf.task_always_eager = False
        time.sleep(3)  # let the workers connect before the clock starts

        # 3. end to end: file in -> chunks -> workers -> gateway -> simulator -> classified, stored
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        t0 = time.perf_counter()
        job = ReconciliationJob.objects.create(
            name=f"bench {records}",
            purpose="bench: data quality",
            source_name="input.csv",
            chunk_size=settings.RECONCILIATION_CHUNK_SIZE,
        )
        with source.open("rb") as stream:
            job.source_file.save(f"bench-{job.pk}.csv", stream, save=True)
        assert rec.reconciliation_import(job_id=job.pk) == "imported"
        imported = time.perf_counter() - t0
        rss_import = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        requeued = 0
        last_done, last_change = -1, time.monotonic()
        while True:
            job.refresh_from_db()
            if job.status in ("done", "failed"):
                break
            if any(p.poll() is not None for p in procs):
                sys.exit(f"a process died; see {work}")
            done_now = job.chunks.filter(state="done").count()
            if done_now != last_done:
                last_done, last_change = done_now, time.monotonic()
            elif time.monotonic() - last_change > 30 and job.status == "running":
                # what the beat sweeper does: queue again the chunks whose messages were lost
                requeued += rec.reconciliation_queue_pending(job_id=job.pk)
                last_change = time.monotonic()
            time.sleep(0.5)
        elapsed = time.perf_counter() - t0
        assert job.status == "done", job.error

        # 4. every record exactly once, and the counts equal the ground truth
        totals: Counter = Counter()
        for per_key in rec.job_counts(job).values():
            totals.update(per_key)
        results = job.results.count()
        by_worker = Counter(job.chunks.values_list("processed_by", flat=True))
        print(
            f"created: job {job.pk}, {job.chunks.count()} chunks, {results:,} result rows, "
            f"{GatewayMessage.objects.filter(acting_user=f'reconciliation-job:{job.pk}').count()} message-log entries"
        )
        print("chunks per worker: " + ", ".join(f"{k} {v}" for k, v in sorted(by_worker.items())))
        print(f"chunks queued again by the sweeper logic after a stall: {requeued}")
        assert results == records, (results, records)
        assert sum(totals.values()) == records
        assert totals == truth, f"counts differ from the ground truth:\n{totals}\n{truth}"
        assert len(by_worker) == WORKERS, by_worker
        assert not ReconciliationChunk.objects.filter(job=job, state="pending").exists()
        _rows, total = rec.job_report(job)
        print("counts (asserted equal to the ground truth):")
        for category in ("matched", "wrong_dob", "wrong_name", "wrong_name_and_dob", "id_not_found", "other"):
            print(f"  {category:20s} {total.counts.get(category, 0):10,}  {total.percent(category):6.2f} %")
        for sub, n in total.other.items():
            print(f"    other / {sub:14s} {n:10,}")
        print(
            f"end to end: import {imported:.1f} s (peak RSS {rss_import / 1024:.0f} MB, "
            f"+{(rss_import - rss_before) / 1024:.0f} MB), total {elapsed:.1f} s"
        )

        # 5. the bare stages, same run, same data
        t0 = time.perf_counter()
        parsed = 0
        with source.open("rb") as stream:
            for _ in rec.iter_records(stream, name="input.csv"):
                parsed += 1
        csv_s = time.perf_counter() - t0
        answer = wire.collection_response(
            [population.person(i) for i in range(2000)], request_id="x", data_time=DATA_TIME
        )
        t0 = time.perf_counter()
        rounds = 50 if args.quick else 200
        for _ in range(rounds):
            wire.parse_collection(answer)
        xml_s = time.perf_counter() - t0
        sample = []
        with source.open("rb") as stream:
            for record in rec.iter_records(stream, name="input.csv"):
                sample.append(record)
                if len(sample) >= 200_000:
                    break
        found = {r.personal_id: r for r in (population.find(x.personal_id.strip()) for x in sample) if r}
        matching.name_key.cache_clear()
        matching.parse_birth_date.cache_clear()
        t0 = time.perf_counter()
        verdicts = rec.classify_records(sample, found)
        classify_s = time.perf_counter() - t0
        scratch = ReconciliationJob.objects.create(name="bench scratch", purpose="bench")
        rows_to_store = list(rec._result_rows(scratch.pk, 0, verdicts))
        t0 = time.perf_counter()
        from django.db import transaction

        with transaction.atomic():
            rec.store_results(rows_to_store)
        copy_s = time.perf_counter() - t0
        scratch.delete()
        print("bare stages:")
        print(f"  CSV parse            {rate(parsed, csv_s)}")
        print(f"  XML answer parse     {rate(2000 * rounds, xml_s)}")
        print(f"  classification       {rate(len(sample), classify_s)}")
        print(f"  bulk store (COPY)    {rate(len(rows_to_store), copy_s)}")
        print(f"  end to end           {rate(records, elapsed)}")
        print(f"machine: {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; workers: {WORKERS} (-P solo)")
        print(f"reconcile_records_per_s: {records / elapsed:.0f} rec/s")
    finally:
        for p in procs:
            if p.poll() is None:
                p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()
        with contextlib.suppress(Exception):  # clean-up only
            redis.Redis.from_url(REDIS_URL).delete(queue, f"_kombu.binding.{queue}")


if __name__ == "__main__":
    main()
