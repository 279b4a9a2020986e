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

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from integrations.national_portal.payload import format_portal_datetime
from integrations.national_portal.simulator import start as start_simulator

pytestmark = pytest.mark.worker

ROOT = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))
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


# Started first, in a session of its own: if pytest dies without running its finally blocks (a CI
# timeout, SIGKILL), it kills what the test started, stops the cluster and removes the folder.
WATCHDOG = r"""
import os, shutil, signal, subprocess, sys, time
parent, base, stop_postgres = int(sys.argv[1]), sys.argv[2], sys.argv[3:]
while True:
    try:
        os.kill(parent, 0)
    except ProcessLookupError:
        break
    time.sleep(1)
try:
    with open(os.path.join(base, "pgids")) as pgids:
        for line in pgids:
            try:
                os.killpg(int(line), signal.SIGKILL)
            except (ProcessLookupError, ValueError):
                pass
except FileNotFoundError:
    pass
if os.path.exists(os.path.join(base, "pg", "data", "postmaster.pid")):
    subprocess.run(stop_postgres, check=False, capture_output=True, timeout=60)
shutil.rmtree(base, ignore_errors=True)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def as_postgres(*args: str) -> list[str]:
    # initdb refuses to run as root; as another user, the cluster belongs to that user.
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else list(args)


def wait_for(predicate, *, seconds: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {seconds:.0f}s waiting for {what}")


class Stack:
    """The private services; every start is undone by close()."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.processes: dict[str, subprocess.Popen] = {}
        self.logs: list[Any] = []
        self.pg_data = base / "pg" / "data"
        self.pg_port = free_port()
        self.redis_port = free_port()
        self.pg_started = False
        self.simulator = None
        self.worker_count = 0
        self.restarts = 0
        self.watchdog: subprocess.Popen | None = None

    # --- PostgreSQL ----------------------------------------------------------------------------

    def init_postgres(self) -> None:
        (self.base / "pg").mkdir()
        if os.geteuid() == 0:
            shutil.chown(self.base / "pg", "postgres")
        subprocess.run(
            [
                *as_postgres(str(PG_BIN / "initdb"), "-D", str(self.pg_data), "-A", "trust", "-U", "postgres"),
                *("-E", "UTF8", "--locale=C.UTF-8"),
            ],
            check=True,
            capture_output=True,
            timeout=60,
        )
        self.start_postgres()

    def start_postgres(self) -> None:
        options = (
            f"-p {self.pg_port} -c listen_addresses=127.0.0.1 -c unix_socket_directories={self.base / 'pg'} "
            "-c fsync=on -c synchronous_commit=on -c full_page_writes=on"
        )
        subprocess.run(
            [
                *as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.pg_data), "-l", str(self.base / "pg" / "log")),
                *("-w", "-t", "60", "-o", options, "start"),
            ],
            check=True,
            capture_output=True,
            timeout=90,
        )
        self.pg_started = True

    def stop_postgres(self) -> None:
        subprocess.run(
            as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.pg_data), "-m", "fast", "-w", "stop"),
            check=False,
            capture_output=True,
            timeout=90,
        )
        self.pg_started = False

    @property
    def database_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/postgres"

    def query(self, sql: str) -> list[tuple]:
        import psycopg

        with psycopg.connect(f"host=127.0.0.1 port={self.pg_port} user=postgres dbname=postgres") as conn:
            return conn.execute(sql).fetchall()

    # --- Redis and processes -------------------------------------------------------------------

    def start_redis(self) -> None:
        self.spawn(
            "redis",
            [
                *("redis-server", "--bind", "127.0.0.1", "--port", str(self.redis_port)),
                *("--save", "", "--appendonly", "no", "--daemonize", "no"),
            ],
        )
        wait_for(self.redis_ready, seconds=20, what="redis-server")

    def redis_ready(self) -> bool:
        import redis

        try:
            return bool(redis.Redis(port=self.redis_port, socket_connect_timeout=0.5).ping())
        except redis.RedisError:
            return False

    def env(self) -> dict[str, str]:
        env = {
            **os.environ,
            "PORTAL_ROOT": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "portal.settings.test",
            "DATABASE_URL": self.database_url,
            "CELERY_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "CELERY_TASK_ALWAYS_EAGER": "false",
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
            "PYTHONUNBUFFERED": "1",
        }
        env.pop("CELERY_RESULT_BACKEND", None)
        return env

    def spawn(self, name: str, command: list[str], **kwargs: Any) -> subprocess.Popen:
        log = (self.base / f"{name}.log").open("ab")
        self.logs.append(log)
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT, **kwargs
        )
        self.processes[name] = process
        with (self.base / "pgids").open("a") as pgids:
            pgids.write(f"{process.pid}\n")
        return process

    def start_watchdog(self) -> None:
        (self.base / "watchdog.py").write_text(WATCHDOG)
        stop = as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.pg_data), "-m", "immediate", "-w", "stop")
        self.watchdog = subprocess.Popen(
            [sys.executable, str(self.base / "watchdog.py"), str(os.getpid()), str(self.base), *stop],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )

    def start_worker(self) -> subprocess.Popen:
        self.worker_count += 1
        return self.spawn(
            "worker",
            [
                *(sys.executable, "-m", "celery", "-A", "portal", "worker", "-P", "prefork", "-c", "2"),
                *("--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"),
                *("-n", f"faults{self.worker_count}@%h"),
            ],
            env=self.env(),
        )

    def supervise(self) -> None:
        """Restart a worker or sweeper that exited, as the process manager does in production.

        A Celery worker can exit by itself after Redis went away (seen: kombu failing to reconnect).
        """
        worker = self.processes.get("worker")
        if worker is not None and worker.poll() is not None:
            self.restarts += 1
            self.start_worker()
        sweeper = self.processes.get("sweeper")
        if sweeper is not None and sweeper.poll() is not None:
            self.restarts += 1
            self.spawn("sweeper", list(sweeper.args), env=self.env())

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        process = self.processes.pop(name, None)
        if process is None or process.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, sig)  # the whole group: a worker's pool children too
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    def close(self) -> None:
        for name in list(self.processes):
            self.kill(name)
        if self.pg_started:
            self.stop_postgres()
        if self.simulator is not None:
            self.simulator.stop()
        for log in self.logs:
            log.close()
        if self.watchdog is not None:
            self.watchdog.kill()
            self.watchdog.wait(timeout=10)


def delivered_count(stack: Stack) -> int:
    stack.supervise()
    try:
        sql = f"select count(*) from integrations_outboxmessage where state = 'delivered' and topic = '{TOPIC}'"  # noqa: S608
        return stack.query(sql)[0][0]
    except Exception:
        return -1


def test_every_change_reaches_the_portal_in_order_through_worker_redis_portal_and_database_faults(capsys):
    for binary in (PG_BIN / "initdb", PG_BIN / "pg_ctl"):
        if not binary.exists():
            pytest.skip(f"PostgreSQL server binaries are missing ({binary})")
    if shutil.which("redis-server") is None:
        pytest.skip("redis-server is missing")
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        pytest.skip("runuser is missing (initdb must run as the postgres user)")
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
        migrate = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=stack.env(),
            capture_output=True,
            text=True,
            timeout=180,
        )
        assert migrate.returncode == 0, migrate.stderr[-3000:]
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
