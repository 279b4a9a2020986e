"""Faults end to end: 1,000 status changes over 100 dossiers reach DVCQG in order, none lost.

A private stack, never the shared instances: its own PostgreSQL cluster (initdb into a temporary
folder, fsync / synchronous_commit / full_page_writes on), its own Redis (no persistence), the
DVCQG simulator, two real Celery workers (prefork, concurrency 2; one at a time), a producer and
a sweeper process. While the changes are written: the worker is SIGKILLed mid-delivery and a new
one started, Redis is killed and restarted (its queue is lost), the portal answers 503 for a while
and some answers come late (after the client's timeout) or twice, PostgreSQL is stopped (fast)
and started again. Then every dossier's state on the simulator must equal our latest change, no
dossier may ever have moved backwards, and every change must have been received.

Environment: FAULT_DOSSIERS (100), FAULT_CHANGES (1000), FAULT_RECOVERY_SECONDS (180), FAULT_ROUNDS
(1; `make soak` runs more fault rounds over more changes).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path

import pytest

from integrations.national_portal.payload import format_portal_datetime
from integrations.national_portal.simulator import start as start_simulator
from tests.stack import PrivateStack, missing_binaries, wait_for

pytestmark = pytest.mark.worker

DOSSIERS = int(os.environ.get("FAULT_DOSSIERS", "100"))
CHANGES = int(os.environ.get("FAULT_CHANGES", "1000"))
ROUNDS = int(os.environ.get("FAULT_ROUNDS", "1"))
RECOVERY_SECONDS = float(os.environ.get("FAULT_RECOVERY_SECONDS", "180"))
TOPIC = "national_portal.dossier"

# Runs against the private database (DATABASE_URL of its environment): "produce" writes the
# changes through outbox_enqueue, one transaction each, surviving database outages; "sweep" is
# the beat's sweeper, every second.
DRIVER = r"""
import os, sys, time
from datetime import UTC, datetime, timedelta
sys.path.insert(0, os.environ["PORTAL_ROOT"])
import django
django.setup()
from django.db import connection, transaction
from django.db.utils import Error as DatabaseError
from integrations.outbox import outbox_enqueue, outbox_sweep
from tests.fixtures.national_portal import dossier_payload

STATUSES = [2, 3, 4, 5, 4, 6, 7, 8, 9, 10]
mode = sys.argv[1]
if mode == "produce":
    dossiers, changes, pause = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
    base = datetime(2026, 3, 1, 1, 0, tzinfo=UTC)
    for i in range(changes):
        key, n = i % dossiers, i // dossiers
        code = f"G18.001.02-260301-{key:06d}"
        payload = dossier_payload(
            dossier_code=code,
            status=STATUSES[n % len(STATUSES)],
            received_at=base.isoformat(),
            changed_at=(base + timedelta(minutes=i)).isoformat(),
        )
        while True:
            try:
                with transaction.atomic():
                    outbox_enqueue(topic="national_portal.dossier", key=code, payload=payload, event_id=f"c{i}")
                break
            except DatabaseError:
                # The database is down: the change is retried (the event id makes a committed one a no-op).
                connection.close()
                time.sleep(0.3)
        if i % 100 == 99:
            print(f"produced {i + 1}", flush=True)
        time.sleep(pause)
    print("produced all", flush=True)
else:
    while True:
        try:
            outbox_sweep(limit=2000)
        except Exception as exc:
            print(f"sweep failed: {exc.__class__.__name__}", flush=True)
            connection.close()
        time.sleep(1.0)
"""


class Stack(PrivateStack):
    """The shared private stack plus the DVCQG simulator and the delivery settings of this run."""

    def __init__(self, base: Path) -> None:
        super().__init__(base)
        self.simulator = None

    def env(self) -> dict[str, str]:
        return {
            **super().env(),
            "NATIONAL_PORTAL_URL": self.simulator.url,
            "NATIONAL_PORTAL_USERNAME": self.simulator.state.username,
            "NATIONAL_PORTAL_PASSWORD": self.simulator.state.password,
            # Deliveries are bounded by short timeouts, so a short lease is safe and a dead
            # worker's messages are taken again within seconds.
            "HTTP_CONNECT_TIMEOUT": "1",
            "HTTP_READ_TIMEOUT": "2",
            "HTTP_RETRIES": "0",
            "OUTBOX_LEASE_SECONDS": "15",
            # The test settings retry at once (no backoff): the sweeper paces the retries.
            "OUTBOX_MAX_ATTEMPTS": "100000",
        }

    def close(self) -> None:
        super().close()
        if self.simulator is not None:
            self.simulator.stop()


def delivered_count(stack: Stack) -> int:
    stack.supervise()
    try:
        sql = f"select count(*) from integrations_outboxmessage where state = 'delivered' and topic = '{TOPIC}'"  # noqa: S608
        return stack.query(sql)[0][0]
    except Exception:
        return -1


def test_every_change_reaches_the_portal_in_order_through_worker_redis_portal_and_database_faults(capsys):
    if missing := missing_binaries():
        pytest.skip(missing)
    started = time.monotonic()
    base = Path(tempfile.mkdtemp(prefix="outbox-faults-"))
    base.chmod(0o755)  # the postgres user must traverse it
    stack = Stack(base)
    try:
        # given: the private stack, migrated
        stack.start_watchdog()
        stack.init_postgres()
        stack.start_redis()
        stack.simulator, _url = start_simulator(port=0)
        stack.migrate()
        driver = base / "driver.py"
        driver.write_text(DRIVER)
        stack.start_worker()
        stack.spawn("sweeper", [sys.executable, str(driver), "sweep"], env=stack.env())
        # when: the changes are written while the faults happen (a change every ~15 ms)
        stack.spawn(
            "producer", [sys.executable, str(driver), "produce", str(DOSSIERS), str(CHANGES), "0.015"], env=stack.env()
        )
        sim = stack.simulator.state
        for _round in range(ROUNDS):
            # 1. the worker dies mid-delivery (SIGKILL, the whole group); a new one starts
            wait_for(lambda: delivered_count(stack) > 50, seconds=60, what="first deliveries")
            sim.set_faults({"timeout_next": 3, "timeout_ms": 2500, "service": "CapNhatTienDoHoSoMC"})
            sim.set_faults({"slow_next": 20, "slow_ms": 300})
            time.sleep(0.5)
            stack.kill("worker")
            stack.start_worker()
            # 2. Redis is killed and restarted empty: the queued tasks are gone, the sweeper re-kicks
            time.sleep(2)
            stack.kill("redis")
            time.sleep(1)
            stack.start_redis()
            # 3. the portal fails for a while; some answers arrive twice
            time.sleep(2)
            sim.set_faults({"fail_next": 60, "status": 503})
            sim.set_faults({"accept_twice_next": 5})
            # 4. PostgreSQL stops (fast: connections cut) and starts again
            time.sleep(2)
            stack.stop_postgres()
            time.sleep(2)
            stack.start_postgres()
            time.sleep(2)
        # then: everything is delivered (bounded wait)
        producer = stack.processes["producer"]
        wait_for(
            lambda: stack.supervise() or producer.poll() is not None, seconds=RECOVERY_SECONDS, what="the producer"
        )
        assert producer.returncode == 0, (base / "producer.log").read_text()[-2000:]
        wait_for(
            lambda: delivered_count(stack) == CHANGES,
            seconds=RECOVERY_SECONDS,
            what=f"{CHANGES} deliveries (now {delivered_count(stack)})",
            interval=0.5,
        )
        rows = stack.query(
            "select key, sequence, state, payload::text from integrations_outboxmessage"  # noqa: S608
            f" where topic = '{TOPIC}' order by key, sequence"
        )
        assert len(rows) == CHANGES
        assert {state for _k, _s, state, _p in rows} == {"delivered"}
        ours: dict[str, list[tuple[str, str]]] = defaultdict(list)  # key -> [(changed_at, status)] in sequence order
        for key, _sequence, _state, payload in rows:
            data = json.loads(payload)
            ours[key].append((format_portal_datetime(datetime.fromisoformat(data["changed_at"])), str(data["status"])))
        assert len(ours) == DOSSIERS
        # the simulator's final state per dossier is our latest change; nothing ever moved backwards
        state = stack.simulator.state.state_snapshot()
        mismatched = {
            key: (state.get(key), changes[-1])
            for key, changes in ours.items()
            if key not in state
            or (state[key]["changed_at"], state[key]["status"], state[key]["dossier_status"])
            != (changes[-1][0], changes[-1][1], changes[-1][1])
        }
        assert mismatched == {}
        assert {key: s["backwards"] for key, s in state.items() if s["backwards"]} == {}
        # counts from the raw requests: every change received, in order; duplicates only from re-sends
        with stack.simulator.state.lock:
            requests = list(stack.simulator.state.requests)
        received = [
            (record["MaHoSo"], record["ThoiDiemXuLy"], str(record["TrangThai"]))
            for request in requests
            if request["service"] == "CapNhatTienDoHoSoMC"
            and isinstance(request["body"], dict)
            and not request.get("injected_duplicate")  # the simulator's own copies are not ours
            for record in request["body"].get("data") or []
        ]
        expected = {(key, when, status) for key, changes in ours.items() for when, status in changes}
        counted = Counter(received)
        first_seen: dict[str, list[tuple[str, str]]] = defaultdict(list)
        for key, when, status in dict.fromkeys(received):
            first_seen[key].append((when, status))
        lost = expected - set(counted)
        summary = {
            "changes": CHANGES,
            "dossiers": DOSSIERS,
            "sent": len(received),
            "delivered": len(expected & set(counted)),
            "re_sent": len(received) - len(counted),
            "lost": len(lost),
            "requests": len(requests),
            "injected_duplicates": sum(1 for request in requests if request.get("injected_duplicate")),
            "workers_started": stack.worker_count,
            "restarted_after_exit": stack.restarts,
            "seconds": round(time.monotonic() - started, 1),
        }
        with capsys.disabled():
            print(f"\ndelivery faults: {summary}")
        assert lost == set()
        assert set(counted) == expected  # nothing we did not write
        assert {key: seen for key, seen in first_seen.items() if seen != ours[key]} == {}
    except BaseException:
        # Keep the process logs of a failed run for the report (the folder itself is removed).
        kept = Path(tempfile.gettempdir()) / f"outbox-faults-logs-{os.getpid()}"
        kept.mkdir(exist_ok=True)
        for log in base.glob("*.log"):
            shutil.copy(log, kept / log.name)
        print(f"\ndelivery faults: process logs kept in {kept}")
        raise
    finally:
        stack.close()
        shutil.rmtree(base, ignore_errors=True)
