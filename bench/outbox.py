"""Bench the outbox relay: DVCQG messages delivered per second by a real worker, and commit-to-delivery lag.

A real `celery worker -P prefork -c 2` on Redis (CELERY_BROKER_URL) delivers to the DVCQG simulator
(its own process, over HTTP); PostgreSQL from DATABASE_URL; DEBUG off; the relay's batching on
(OUTBOX_BATCH_SIZE, default 50). Measured in the same run:

1. baseline: a bare Celery round trip (the built-in no-op task `celery.accumulate`, result through
   Redis): sequential latency p50 and the throughput of a burst;
2. throughput: a backlog of N status changes over K dossiers (as after an outage: committed in
   transactions of 100 without queuing tasks), then one sweep queues it; from the sweep to the last delivery;
3. lag: a steady stream, one change per transaction; from each commit to its `delivered_at`.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/outbox_bench \
    CELERY_BROKER_URL=redis://127.0.0.1:6379/13 .venv/bin/python bench/outbox.py [--quick]

The database is migrated and its outbox emptied; the Redis database is flushed: give the bench its own.
The last line is the headline: `outbox_messages_per_s: <value> msg/s`.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path
from unittest.mock import patch

from benchenv import ROOT, percentile

os.environ.setdefault("NATIONAL_PORTAL_PASSWORD", "simulator-password")
os.environ["CELERY_TASK_ALWAYS_EAGER"] = "false"

TOPIC = "national_portal.dossier"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(predicate, *, seconds: float, what: str, interval: float = 0.05) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    sys.exit(f"timed out after {seconds:.0f}s waiting for {what}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="smaller data (under a minute)")
    args = parser.parse_args()
    messages, dossiers = (1500, 500) if args.quick else (6000, 2000)
    stream_rate, stream_seconds = (100, 8) if args.quick else (100, 30)
    noop_burst = 300 if args.quick else 2000

    database_url = os.environ.get("DATABASE_URL", "")
    broker_url = os.environ.get("CELERY_BROKER_URL", "")
    if not database_url.startswith("postgres"):
        sys.exit("Set DATABASE_URL to a PostgreSQL database made for benchmarking (it is migrated and emptied).")
    if not broker_url.startswith("redis://"):
        sys.exit(
            "Set CELERY_BROKER_URL to a Redis database of its own, e.g. redis://127.0.0.1:6379/13 (it is flushed)."
        )
    os.environ["CELERY_RESULT_BACKEND"] = broker_url

    import django

    django.setup()
    import redis
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection, transaction

    from integrations.models import OutboxMessage
    from integrations.outbox import outbox_enqueue, outbox_sweep
    from portal.celery import app
    from tests.fixtures.national_portal import dossier_payload

    call_command("migrate", verbosity=0)
    OutboxMessage.objects.all().delete()
    redis.Redis.from_url(broker_url).flushdb()

    workdir = Path(tempfile.mkdtemp(prefix="outbox-bench-"))
    sim_port = free_port()
    env = {**os.environ, "NATIONAL_PORTAL_URL": f"http://127.0.0.1:{sim_port}", "PYTHONUNBUFFERED": "1"}
    processes: list[subprocess.Popen] = []

    def spawn(name: str, command: list[str]) -> subprocess.Popen:
        with (workdir / f"{name}.log").open("wb") as log:
            process = subprocess.Popen(  # noqa: S603  (fixed argument list)
                command, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        processes.append(process)
        return process

    def sim_state() -> dict:
        with urllib.request.urlopen(f"http://127.0.0.1:{sim_port}/_sim/state", timeout=10) as answer:
            return json.loads(answer.read())

    try:
        spawn("simulator", [sys.executable, "-m", "integrations.national_portal.simulator", "--port", str(sim_port)])
        settings.NATIONAL_PORTAL_URL = env["NATIONAL_PORTAL_URL"]

        def simulator_up() -> bool:
            try:
                sim_state()
            except OSError:
                return False
            return True

        wait_for(simulator_up, seconds=20, what="the simulator")
        spawn(
            "worker",
            [
                *(sys.executable, "-m", "celery", "-A", "portal", "worker", "-P", "prefork", "-c", "2"),
                *("--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING", "-n", "bench@%h"),
            ],
        )
        wait_for(
            lambda: app.send_task("celery.accumulate", args=(0,)).get(timeout=30) is not None,
            seconds=60,
            what="the worker",
        )

        print(
            f"database: {connection.vendor} {connection.settings_dict['NAME']}; broker: {broker_url}; "
            f"worker: prefork -c 2; batch size: {settings.OUTBOX_BATCH_SIZE}; DEBUG: {settings.DEBUG}"
        )
        print(
            f"size: {messages} status changes over {dossiers} dossiers (throughput), then {stream_rate}/s for "
            f"{stream_seconds} s (lag), {noop_burst} no-op tasks (baseline){' [--quick]' if args.quick else ''}"
        )

        # 1. Baseline: the bare Celery round trip.
        round_trips = []
        for _ in range(50):
            started = time.perf_counter()
            app.send_task("celery.accumulate", args=(1,)).get(timeout=30)
            round_trips.append((time.perf_counter() - started) * 1000)
        started = time.perf_counter()
        results = [app.send_task("celery.accumulate", args=(i,)) for i in range(noop_burst)]
        for result in results:
            result.get(timeout=120)
        noop_rate = noop_burst / (time.perf_counter() - started)
        print(
            f"baseline celery no-op: round trip p50 {percentile(round_trips, 0.5):.1f} ms, "
            f"p99 {percentile(round_trips, 0.99):.1f} ms; burst {noop_rate:.0f} tasks/s"
        )

        base = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
        statuses = [2, 3, 4, 5, 4, 6, 7, 8, 9, 10]

        def change(i: int, keys: int, prefix: str) -> OutboxMessage:
            code = f"G18.001.02-{prefix}-{i % keys:06d}"
            return outbox_enqueue(
                topic=TOPIC,
                key=code,
                payload=dossier_payload(
                    dossier_code=code,
                    status=statuses[(i // keys) % len(statuses)],
                    received_at=base.isoformat(),
                    changed_at=(base + timedelta(seconds=i)).isoformat(),
                ),
                event_id=f"bench-{prefix}-{i}",
            )

        def delivered(prefix: str) -> int:
            return OutboxMessage.objects.filter(
                key__contains=f"-{prefix}-", state=OutboxMessage.State.DELIVERED
            ).count()

        # 2. Throughput: a backlog (as after an outage), committed without kicks, then one sweep queues it.
        with patch("integrations.outbox.outbox_kick"):
            for start in range(0, messages, 100):
                with transaction.atomic():
                    for i in range(start, min(start + 100, messages)):
                        change(i, dossiers, "260301")
        first_commit = datetime.now(tz=UTC)
        tasks = outbox_sweep(limit=messages)
        wait_for(lambda: delivered("260301") == messages, seconds=600, what="the throughput deliveries", interval=0.1)
        last = (
            OutboxMessage.objects.filter(key__contains="-260301-")
            .order_by("-delivered_at")
            .values_list("delivered_at", flat=True)[0]
        )
        rate = messages / (last - first_commit).total_seconds()
        writers = OutboxMessage.objects.filter(key__contains="-260301-").values("delivered_by").distinct().count()
        print(
            f"throughput: backlog of {messages} delivered in {(last - first_commit).total_seconds():.2f} s "
            f"({tasks} tasks queued by the sweep, {writers} worker processes)"
        )

        # 3. Lag under a steady stream.
        committed: dict[int, datetime] = {}
        interval = 1 / stream_rate
        total = stream_rate * stream_seconds
        next_at = stream_started = time.perf_counter()
        for i in range(total):
            with transaction.atomic():
                pk = change(i, dossiers, "260302").pk
            committed[pk] = datetime.now(tz=UTC)
            next_at += interval
            time.sleep(max(0.0, next_at - time.perf_counter()))
        achieved = total / (time.perf_counter() - stream_started)
        wait_for(lambda: delivered("260302") == total, seconds=600, what="the stream deliveries", interval=0.2)
        lags = [
            (delivered_at - committed[pk]).total_seconds()
            for pk, delivered_at in OutboxMessage.objects.filter(pk__in=list(committed)).values_list(
                "pk", "delivered_at"
            )
        ]
        p50, p99, mean = percentile(lags, 0.5) * 1000, percentile(lags, 0.99) * 1000, statistics.mean(lags) * 1000
        print(
            f"lag commit->delivered ({total} changes, {stream_rate}/s asked, {achieved:.0f}/s written): "
            f"p50 {p50:.0f} ms, p99 {p99:.0f} ms, "
            f"max {max(lags) * 1000:.0f} ms, mean {mean:.0f} ms"
        )

        # The portal's state is ours: every dossier at its latest change, none moved backwards.
        state = sim_state()
        backwards = sum(s["backwards"] for s in state.values())
        missing = set(OutboxMessage.objects.values_list("key", flat=True)) - set(state)
        assert not missing, f"{len(missing)} dossiers are not on this simulator: another worker on this broker?"
        assert backwards == 0, backwards
        print(
            f"created: {messages + total} outbox messages, {2 * dossiers} dossiers on the simulator, 0 moved backwards"
        )
        print(f"outbox_messages_per_s: {rate:.0f} msg/s")
    finally:
        for process in processes:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
