"""A private stack for fault and soak runs: PostgreSQL, Redis, Celery, gunicorn, on free loopback ports.

Never the shared instances: `initdb` into a temporary folder (fsync, synchronous_commit and
full_page_writes on), a redis-server of its own, processes in sessions of their own so a kill takes a
whole process group. A watchdog started first undoes everything if the test process dies without
running its finally blocks (a CI timeout, SIGKILL). Used by tests/integrations/test_delivery_faults.py,
tests/integrations/test_outbox_crash.py, tests/soak/ and bench/soak_stack.py.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
PG_BIN = Path(os.environ.get("PG_BIN", "/usr/lib/postgresql/15/bin"))

# Settings of the application processes (web, workers, drivers) when they must run as production
# does: DEBUG off, persistent connections with health checks, secrets made for the run only.
PRODUCTION_LIKE_ENV = {
    "DJANGO_SETTINGS_MODULE": "portal.settings.base",
    "DEBUG": "false",
    "SECRET_KEY": "soak-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
    "PII_ENCRYPTION_KEYS": "c29hay1vbmx5LXBpaS1rZXktMzItYnl0ZXMtbG9uZyE=",
    "PII_HASH_KEY": "soak-only-pii-hash-key",
    "NATIONAL_PORTAL_PASSWORD": "simulator-password",
    "VNEID_CLIENT_SECRET": "simulator-secret",
    "ALLOWED_HOSTS": "127.0.0.1,localhost",
    "SECURE_COOKIES": "false",
    "STATICFILES_STORAGE": "django.contrib.staticfiles.storage.StaticFilesStorage",
    "LOG_FORMAT": "plain",
}

# Started first, in a session of its own: if the parent dies, it kills what was started (process
# groups listed in "pgids"), stops the cluster and removes the folder.
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


def wait_for(predicate: Callable[[], Any], *, seconds: float, what: str, interval: float = 0.2) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(interval)
    raise AssertionError(f"timed out after {seconds:.0f}s waiting for {what}")


def missing_binaries() -> str:
    """What the private stack needs and this machine lacks ('' when nothing)."""
    for binary in (PG_BIN / "initdb", PG_BIN / "pg_ctl"):
        if not binary.exists():
            return f"PostgreSQL server binaries are missing ({binary}; Debian: postgresql-15)"
    if shutil.which("redis-server") is None:
        return "redis-server is missing (Debian: redis-server)"
    if os.geteuid() == 0 and shutil.which("runuser") is None:
        return "runuser is missing (initdb must run as the postgres user)"
    return ""


class PrivateStack:
    """The private services; every start is undone by close()."""

    def __init__(self, base: Path) -> None:
        self.base = base
        self.processes: dict[str, subprocess.Popen] = {}
        self.logs: list[Any] = []
        self.pg_data = base / "pg" / "data"
        self.pg_port = free_port()
        self.redis_port = free_port()
        self.pg_started = False
        self.worker_count = 0
        self.restarts = 0
        self.watchdog: subprocess.Popen | None = None
        self.extra_env: dict[str, str] = {}
        self.envs: dict[str, dict[str, str]] = {}  # name -> environment it was started with

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
            "-c fsync=on -c synchronous_commit=on -c full_page_writes=on -c max_connections=100"
        )
        subprocess.run(
            [
                *as_postgres(str(PG_BIN / "pg_ctl"), "-D", str(self.pg_data), "-l", str(self.base / "pg" / "log")),
                *("-w", "-t", "120", "-o", options, "start"),
            ],
            check=True,
            capture_output=True,
            timeout=150,
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

    def kill_postgres(self) -> int:
        """SIGKILL the postmaster (a crash: no shutdown checkpoint); its backends exit when they notice."""
        pid = int((self.pg_data / "postmaster.pid").read_text().splitlines()[0])
        children = _children(pid)
        os.kill(pid, signal.SIGKILL)
        # Backends that outlive the postmaster keep the shared memory; a restart waits for them.
        wait_for(lambda: not any(_alive(p) for p in [pid, *children]), seconds=60, what="postgres to die")
        self.pg_started = False
        return pid

    @property
    def database_url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.pg_port}/postgres"

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        import psycopg

        dsn = f"host=127.0.0.1 port={self.pg_port} user=postgres dbname=postgres connect_timeout=5"
        with psycopg.connect(dsn) as conn:
            return conn.execute(sql, params).fetchall()

    def postgres_ready(self) -> bool:
        try:
            return self.query("select 1") == [(1,)]
        except Exception:
            return False

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
            "PORTAL_VAR_DIR": str(self.base / "var"),
            "MEDIA_ROOT": str(self.base / "var" / "media"),
            "PYTHONUNBUFFERED": "1",
            **self.extra_env,
        }
        env.pop("CELERY_RESULT_BACKEND", None)
        env.pop("CACHE_URL", None)
        return env

    def migrate(self) -> None:
        result = subprocess.run(
            [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
            cwd=ROOT,
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert result.returncode == 0, result.stderr[-3000:]

    def spawn(self, name: str, command: list[str], **kwargs: Any) -> subprocess.Popen:
        log = (self.base / f"{name}.log").open("ab")
        self.logs.append(log)
        process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=ROOT, **kwargs
        )
        self.processes[name] = process
        if kwargs.get("env") is not None:
            self.envs[name] = kwargs["env"]
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

    def start_worker(self, *, concurrency: int = 2, env: dict[str, str] | None = None) -> subprocess.Popen:
        self.worker_count += 1
        return self.spawn(
            "worker",
            [
                *(sys.executable, "-m", "celery", "-A", "portal", "worker", "-P", "prefork", "-c", str(concurrency)),
                *("--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "WARNING"),
                *("-n", f"faults{self.worker_count}@%h"),
            ],
            env=env or self.env(),
        )

    def start_web(self, *, port: int, workers: int = 2, timeout: int = 30, env: dict[str, str] | None = None):
        """gunicorn (sync workers) on 127.0.0.1:PORT; returns when it answers /healthz (any status)."""
        process = self.spawn(
            "web",
            [
                *(sys.executable, "-m", "gunicorn", "portal.wsgi", "-b", f"127.0.0.1:{port}"),
                *("-w", str(workers), "--timeout", str(timeout), "--graceful-timeout", "5"),
                *("--access-logfile", "-", "--error-logfile", "-"),
            ],
            env=env or self.env(),
        )
        wait_for(lambda: _answers(port), seconds=120, what="gunicorn")
        return process

    def supervise(self) -> None:
        """Restart a worker or sweeper that exited, as the process manager does in production.

        A Celery worker can exit by itself after Redis went away (seen: kombu failing to reconnect).
        """
        worker = self.processes.get("worker")
        if worker is not None and worker.poll() is not None:
            self.restarts += 1
            self.spawn("worker", list(worker.args), env=self.envs.get("worker") or self.env())
        sweeper = self.processes.get("sweeper")
        if sweeper is not None and sweeper.poll() is not None:
            self.restarts += 1
            self.spawn("sweeper", list(sweeper.args), env=self.envs.get("sweeper") or self.env())

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
        if self.pg_started or (self.pg_data / "postmaster.pid").exists():
            self.stop_postgres()
        for log in self.logs:
            log.close()
        if self.watchdog is not None:
            self.watchdog.kill()
            self.watchdog.wait(timeout=10)


def _children(pid: int) -> list[int]:
    found = []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            with contextlib.suppress(OSError):
                if int((proc / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    found.append(int(proc.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with contextlib.suppress(OSError):
        if b"Z" in Path(f"/proc/{pid}/stat").read_bytes().split(b")")[-1][:3]:
            return False  # a zombie: dead, not yet reaped by its parent
    return True


def _answers(port: int) -> bool:
    import urllib.error
    import urllib.request

    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


@contextlib.contextmanager
def private_stack(prefix: str, stack_class: type[PrivateStack] = PrivateStack) -> Iterator[PrivateStack]:
    """A started watchdog and an empty stack in a temporary folder; logs kept when the body fails."""
    base = Path(tempfile.mkdtemp(prefix=prefix))
    base.chmod(0o755)  # the postgres user must traverse it
    stack = stack_class(base)
    try:
        stack.start_watchdog()
        yield stack
    except BaseException:
        # Keep the process logs of a failed run for the report (the folder itself is removed).
        kept = Path(tempfile.gettempdir()) / f"{prefix}logs-{os.getpid()}"
        kept.mkdir(exist_ok=True)
        for log in [*base.glob("*.log"), base / "pg" / "log"]:
            if log.exists():
                shutil.copy(log, kept / log.name)
        print(f"\n{prefix}: process logs kept in {kept}")
        raise
    finally:
        stack.close()
        shutil.rmtree(base, ignore_errors=True)
