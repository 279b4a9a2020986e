"""Held load (security.md T38) and the read-path baseline with overload (T39) on a private stack.

Everything on 127.0.0.1, nothing shared: a PostgreSQL cluster of its own (initdb, durable settings), Redis,
gunicorn (5 sync workers, DEBUG off, persistent connections), one Celery worker (prefork, 1 process), the
outbox sweeper, and the national-portal and population-database simulators (tests/stack.py). Applicants
use the API with a token each; a clerk thread receives the submitted dossiers (so the outbox, the worker
and the portal simulator carry traffic too). locust runs from its own virtualenv (var/soak-venv, `make
soak-venv`), wrk from Debian (`apt-get install -y wrk`).

    .venv/bin/python bench/load.py held [--quick]     # T38: locust -u 30 -r 5 -t 10m, mix 70/20/10, wait 1-3 s
    .venv/bin/python bench/load.py read [--quick]     # T39: wrk -t1 -c16 -d60s on a dossier's status, then
                                                      #      locust at 3x the held users for 2 min, then 60 s held

Held must hold: 0 failed requests, p95 < 800 ms for pages and < 3 s for uploads (locust's quitting listener,
bench/locustfile.py), every acknowledged submission in the database, the outbox drained within 60 s after the
run, PostgreSQL connections below max_connections. Read: wrk's requests/s against bench/load-baseline.json
(>= 80 %, when a baseline is recorded there with --record-baseline) and p99 < 300 ms; overload: no failure
other than 429/503; the held thresholds hold again in the 60 s after it. The API's per-user throttle is raised
for these runs (API_THROTTLE_USER) so that they measure the server, not the limit.

Prints what it created; the last line is the headline: `held_load_p95: <ms> ms` or `read_rps: <n> req/s`.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from tests.soak.world import sweeper_start, unique_pdf, web_env, world_create  # noqa: E402
from tests.stack import free_port, missing_binaries, private_stack, wait_for  # noqa: E402

LOCUST = Path(os.environ.get("LOCUST", ROOT / "var" / "soak-venv" / "bin" / "locust"))
BASELINE = ROOT / "bench" / "load-baseline.json"
RESULTS = ROOT / "var" / "soak"


def run_locust(stack, env: dict[str, str], *, phase: str, users: int, rate: float, seconds: int, csv_prefix: str):
    """Run locust headless; return (exit code, {name: row of its stats CSV})."""
    command = [
        *(str(LOCUST), "-f", str(ROOT / "bench" / "locustfile.py"), "--headless", "--only-summary"),
        *("-u", str(users), "-r", str(rate), "-t", f"{seconds}s", "--stop-timeout", "30"),
        *("--host", env["LOAD_HOST"], "--csv", csv_prefix, "--loglevel", "WARNING"),
    ]
    print(f"$ {' '.join(command)}", flush=True)
    result = subprocess.run(  # noqa: S603  # fixed arguments, our own locustfile
        command, env={**env, "LOAD_PHASE": phase}, capture_output=True, text=True, timeout=seconds + 120, check=False
    )
    for line in (result.stdout + result.stderr).splitlines():
        if line.startswith(("response codes", "THRESHOLD")) or "Error" in line:
            print(f"  locust: {line}")
    with open(f"{csv_prefix}_stats.csv", encoding="utf-8") as handle:
        rows = {row["Name"]: row for row in csv.DictReader(handle)}
    for name in ("status/list", "dossier view", "submit", "Aggregated"):
        row = rows.get(name)
        if row:
            print(
                f"  {name:13s} {int(row['Request Count']):6d} req  {int(row['Failure Count']):4d} failed  "
                f"p50 {row['50%']:>6s} ms  p95 {row['95%']:>6s} ms  p99 {row['99%']:>6s} ms  "
                f"{float(row['Requests/s']):6.1f} req/s",
                flush=True,
            )
    return result.returncode, rows


def run_wrk(url: str, token: str, seconds: int) -> tuple[float, float, str]:
    """wrk -t1 -c16 on URL; return (requests/s, p99 ms, raw output)."""
    command = ["wrk", "-t1", "-c16", f"-d{seconds}s", "--latency", "-H", f"Authorization: Token {token}", url]
    print(f"$ {' '.join(command).replace(token, '<token>')}", flush=True)
    out = subprocess.run(command, capture_output=True, text=True, timeout=seconds + 60, check=True).stdout  # noqa: S603
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    value, unit = re.search(r"99%\s+([\d.]+)(us|ms|s)\b", out).groups()
    p99 = float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]
    return rps, p99, out


class Clerk(threading.Thread):
    """Receives every submitted dossier through the staff API (each receipt writes an outbox message)."""

    def __init__(self, stack, base_url: str, token: str) -> None:
        super().__init__(daemon=True)
        self.stack, self.base_url, self.token = stack, base_url, token
        self.stop = threading.Event()
        self.received = 0
        self.failed = 0

    def run(self) -> None:
        import requests

        session = requests.Session()
        session.headers["Authorization"] = f"Token {self.token}"
        while not self.stop.is_set():
            ids = self.stack.query("select id from procedures_dossier where state = 'submitted' order by id limit 20")
            for (pk,) in ids:
                response = session.post(f"{self.base_url}/api/v1/staff/dossiers/{pk}/receive/", timeout=30)
                if response.status_code == 200:
                    self.received += 1
                else:
                    self.failed += 1
            self.stop.wait(2)


class ConnectionSampler(threading.Thread):
    def __init__(self, stack) -> None:
        super().__init__(daemon=True)
        self.stack = stack
        self.stop = threading.Event()
        self.peak = 0

    def run(self) -> None:
        while not self.stop.is_set():
            try:
                self.peak = max(self.peak, self.stack.query("select count(*) from pg_stat_activity")[0][0])
            except Exception as exc:  # a sample lost is not a failure of the run
                print(f"connection sample failed: {exc.__class__.__name__}", flush=True)
            self.stop.wait(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("phase", choices=("held", "read"))
    parser.add_argument("--quick", action="store_true", help="short runs (under a minute of load) for development")
    parser.add_argument("--users", type=int, default=None)
    parser.add_argument("--seconds", type=int, default=None, help="held run (default 600; --quick 40)")
    parser.add_argument("--record-baseline", action="store_true", help="store this run's read figures as the baseline")
    args = parser.parse_args()
    users = args.users or (10 if args.quick else 30)
    held_seconds = args.seconds or (40 if args.quick else 600)
    wrk_seconds, overload_seconds, recovery_seconds = (15, 20, 20) if args.quick else (60, 120, 60)

    problems = [p for p in (missing_binaries(),) if p]
    if not LOCUST.exists():
        problems.append(f"locust is missing ({LOCUST}): run `make soak-venv` (bench/requirements-load.txt)")
    if args.phase == "read" and shutil.which("wrk") is None:
        problems.append("wrk is missing: apt-get install -y wrk")
    if problems:
        print("\n".join(problems), file=sys.stderr)
        return 2

    RESULTS.mkdir(parents=True, exist_ok=True)
    from integrations.national_portal.simulator import start as start_portal
    from integrations.population_registry.simulator import start as start_popdb

    portal, portal_url = start_portal(port=0)
    popdb, popdb_url = start_popdb(port=0, size=2000, seed=2026)
    failed: list[str] = []
    try:
        with private_stack("load-") as stack:
            started = time.monotonic()
            stack.init_postgres()
            stack.start_redis()
            stack.migrate()
            env = web_env(
                stack,
                NATIONAL_PORTAL_URL=portal_url,
                NATIONAL_PORTAL_USERNAME=portal.state.username,
                NATIONAL_PORTAL_PASSWORD=portal.state.password,
                POPULATION_REGISTRY_URL=popdb_url,
                API_THROTTLE_USER="1000000/min",
                OUTBOX_BATCH_SIZE="50",
            )
            world = world_create(stack, users, env)
            port = free_port()
            base_url = f"http://127.0.0.1:{port}"
            stack.start_web(port=port, workers=5, timeout=30, env=env)
            stack.start_worker(concurrency=1, env=env)
            sweeper_start(stack, env)
            references = seed(base_url, world)
            world_file = stack.base / "world.json"
            world_file.write_text(json.dumps({**world, "references": references}))
            acks = stack.base / "acks.txt"
            acks.touch()
            load_env = {
                k: v for k, v in os.environ.items() if not k.startswith(("DJANGO", "PYTHONPATH", "VIRTUAL_ENV"))
            }
            load_env.update(LOAD_WORLD=str(world_file), LOAD_ACKS=str(acks), LOAD_HOST=base_url)
            print(
                f"stack ready in {time.monotonic() - started:.0f} s: gunicorn 5 sync workers on {base_url}, "
                f"PostgreSQL :{stack.pg_port}, Redis :{stack.redis_port}, 1 Celery worker, sweeper, simulators; "
                f"{users} applicants with {sum(len(r) for r in references)} dossiers",
                flush=True,
            )
            clerk = Clerk(stack, base_url, world["clerk_token"])
            sampler = ConnectionSampler(stack)
            clerk.start()
            sampler.start()
            quick = " (quick)" if args.quick else ""
            if args.phase == "held":
                code, rows = run_locust(
                    stack,
                    load_env,
                    phase="held",
                    users=users,
                    rate=5,
                    seconds=held_seconds,
                    csv_prefix=str(RESULTS / "t38"),
                )
                if code:
                    failed.append(f"locust thresholds (exit {code})")
                headline = (
                    "held_load_p95",
                    max(float(rows[n]["95%"]) for n in ("status/list", "dossier view") if n in rows),
                    "ms",
                )
            else:
                target = f"{base_url}/api/v1/dossiers/{references[0][0]}/"
                rps, p99, out = run_wrk(target, world["tokens"][0], wrk_seconds)
                print("  " + "\n  ".join(line for line in out.splitlines() if line.strip()), flush=True)
                baseline = json.loads(BASELINE.read_text()) if BASELINE.exists() else None
                if args.record_baseline:
                    BASELINE.write_text(
                        json.dumps({"read_rps": rps, "p99_ms": p99, "quick": args.quick}, indent=1) + "\n"
                    )
                    print(f"baseline recorded in {BASELINE.relative_to(ROOT)}")
                elif baseline:
                    ratio = rps / baseline["read_rps"]
                    print(f"read rps {rps:.0f} = {ratio:.0%} of the baseline {baseline['read_rps']:.0f}")
                    if ratio < 0.8:
                        failed.append(f"read rps {rps:.0f} < 80 % of the baseline {baseline['read_rps']:.0f}")
                else:
                    print("no baseline recorded (bench/load-baseline.json): --record-baseline on the CI machine")
                if p99 >= 300:
                    failed.append(f"read p99 {p99:.0f} ms >= 300 ms")
                code, _rows = run_locust(
                    stack,
                    load_env,
                    phase="overload",
                    users=3 * users,
                    rate=15,
                    seconds=overload_seconds,
                    csv_prefix=str(RESULTS / "t39-overload"),
                )
                if code:
                    failed.append(f"overload: failures other than 429/503 (exit {code})")
                code, _rows = run_locust(
                    stack,
                    load_env,
                    phase="held",
                    users=users,
                    rate=users,
                    seconds=recovery_seconds,
                    csv_prefix=str(RESULTS / "t39-recovery"),
                )
                if code:
                    failed.append(f"after the overload the held thresholds do not hold (exit {code})")
                headline = ("read_rps", rps, "req/s")
            clerk.stop.set()
            clerk.join(60)
            # after the run: the outbox drains, every acknowledged submission is stored
            drain_started = time.monotonic()
            try:
                wait_for(lambda: outbox_open(stack) == 0, seconds=60, what="the outbox to drain", interval=1)
                print(f"outbox drained {time.monotonic() - drain_started:.0f} s after the run")
            except AssertionError:
                failed.append(f"outbox not drained 60 s after the run ({outbox_open(stack)} open)")
            sampler.stop.set()
            acknowledged = [line for line in acks.read_text().splitlines() if line]
            stored = {r for (r,) in stack.query("select reference from procedures_dossier")}
            lost = [r for r in acknowledged if r not in stored]
            if lost:
                failed.append(f"{len(lost)} acknowledged submission(s) missing")
            max_connections = int(stack.query("show max_connections")[0][0])
            if sampler.peak >= max_connections:
                failed.append(f"PostgreSQL connections reached {sampler.peak} of {max_connections}")
            counts = dict(stack.query("select state, count(*) from integrations_outboxmessage group by state"))
            documents = stack.query("select count(*), coalesce(sum(size), 0) from procedures_dossierdocument")[0]
            print(
                f"created{quick}: {len(stored)} dossiers ({len(acknowledged)} acknowledged under load, {len(lost)} "
                f"missing), {documents[0]} documents ({documents[1] / 1e6:.0f} MB), {clerk.received} received by "
                f"the clerk ({clerk.failed} refused), outbox {counts}; peak PostgreSQL connections "
                f"{sampler.peak} of {max_connections}; portal simulator got {len(portal.state.requests)} requests"
            )
    finally:
        portal.stop()
        popdb.stop()
    for problem in failed:
        print(f"FAILED: {problem}")
    print(f"{headline[0]}: {headline[1]:.1f} {headline[2]}")
    return 1 if failed else 0


def outbox_open(stack) -> int:
    return stack.query("select count(*) from integrations_outboxmessage where state <> 'delivered'")[0][0]


def seed(base_url: str, world: dict) -> list[list[str]]:
    """Two small dossiers per applicant, for the status reads; return their references per applicant."""
    import uuid

    import requests

    references = []
    for token in world["tokens"]:
        mine = []
        for _ in range(2):
            tag = uuid.uuid4().hex
            response = requests.post(
                f"{base_url}/api/v1/dossiers/",
                headers={"Authorization": f"Token {token}"},
                data={
                    "procedure": str(world["procedure"]),
                    "address": "Số 1 Phố Huế, Hà Nội",
                    "phone": "0912345678",
                    "request_summary": f"Đề nghị {tag}",
                },
                files={"document": ("don.pdf", unique_pdf(tag), "application/pdf")},
                timeout=60,
            )
            assert response.status_code == 201, (response.status_code, response.text[:500])
            mine.append(response.json()["reference"])
        references.append(mine)
    return references


if __name__ == "__main__":
    sys.exit(main())
