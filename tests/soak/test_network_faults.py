"""T37 slow and broken networks: a fault proxy (tests/faultproxy.py) in front of PostgreSQL, Redis, the
population-database simulator and the national-portal simulator, while requests keep coming.

The private stack (tests/stack.py) and gunicorn (3 sync workers, --timeout 30), a Celery worker and an outbox
sweeper, all reaching PostgreSQL, Redis and both simulators only through their proxies. Client threads keep
submitting dossiers with a PDF, looking up citizens through the gateway API and receiving dossiers as a
reception clerk (which queues a DVCQG delivery on Redis); another thread polls /healthz. Each proxy in turn
adds 2 s of latency, black-holes, resets (RST) and cuts connections after a few hundred bytes, for
SOAK_FAULT_SECONDS each. Must hold:

- every request gets an HTTP answer, within its configured bound (DB connect 3 s, Redis 3+5 s, gateway
  5 s; far below gunicorn's 30 s);
- every error is a 503 carrying an X-Request-ID, never a 500 or a dropped connection;
- /healthz answers throughout (200 or 503), each answer within 15 s;
- no dossier row without its file (and no file without its row once `media_orphans` ran);
- after the faults, every kind of request succeeds again and every outbox message is delivered (the
  sweeper re-publishes what Redis lost), without restarting anything.

The web runs with DB_CONN_MAX_AGE=0 here: the proxy's black-hole still acknowledges TCP segments, so a
persistent connection that is black-holed mid-query waits for gunicorn's timeout; on a real network the
same silence (no acknowledgements) is ended by tcp_user_timeout (DB_TCP_USER_TIMEOUT_MS). See docs/soak.md.

Environment: SOAK_FAULT_SECONDS (6), SOAK_CLIENTS (3).
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

import pytest

from integrations.national_portal.simulator import start as start_portal
from integrations.population_registry.simulator import start as start_popdb
from tests.faultproxy import FaultProxy
from tests.soak.world import media_orphans, sweeper_start, unique_pdf, web_env, world_create
from tests.stack import free_port, missing_binaries, private_stack, wait_for

FAULT_SECONDS = float(os.environ.get("SOAK_FAULT_SECONDS", "6"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "3"))
FAULTS = [("delay", {"delay": 2.0}), ("blackhole", {}), ("rst", {}), ("cut", {"cut_after": 300})]
REQUEST_BOUND = 25.0  # seconds: below gunicorn's --timeout 30; each call's own bounds are far lower
HEALTHZ_BOUND = 15.0
KINDS = ("submit", "receive", "gateway", "healthz")


@dataclass
class Call:
    kind: str
    phase: str
    seconds: float
    status: int  # 0: no HTTP answer
    request_id: str
    body: str


def test_requests_end_within_their_timeouts_with_503s_and_request_ids_under_network_faults(capsys):
    if missing := missing_binaries():
        pytest.fail(missing)
    import requests

    started = time.monotonic()
    portal, _portal_url = start_portal(port=0)
    popdb, _popdb_url = start_popdb(port=0, size=2000, seed=2026)
    proxies: dict[str, FaultProxy] = {}
    try:
        with private_stack("net-faults-") as stack:
            stack.init_postgres()
            stack.start_redis()
            stack.migrate()
            proxies = {
                "postgres": FaultProxy(stack.pg_port).start(),
                "redis": FaultProxy(stack.redis_port).start(),
                "popdb": FaultProxy(popdb.server_address[1]).start(),
                "portal": FaultProxy(portal.server_address[1]).start(),
            }
            env = web_env(
                stack,
                DATABASE_URL=f"postgres://postgres@127.0.0.1:{proxies['postgres'].port}/postgres",
                CELERY_BROKER_URL=f"redis://127.0.0.1:{proxies['redis'].port}/0",
                POPULATION_REGISTRY_URL=f"http://127.0.0.1:{proxies['popdb'].port}",
                POPULATION_REGISTRY_TIMEOUT="5",
                POPULATION_REGISTRY_RETRIES="0",
                GATEWAY_BREAKER_RESET_SECONDS="5",  # the breaker half-opens within the run's recovery phase
                NATIONAL_PORTAL_URL=f"http://127.0.0.1:{proxies['portal'].port}",
                NATIONAL_PORTAL_USERNAME=portal.state.username,
                NATIONAL_PORTAL_PASSWORD=portal.state.password,
                HTTP_CONNECT_TIMEOUT="3",
                HTTP_READ_TIMEOUT="5",
                HTTP_RETRIES="0",
                OUTBOX_LEASE_SECONDS="20",
                OUTBOX_BACKOFF_BASE_SECONDS="1",
                OUTBOX_BACKOFF_MAX_SECONDS="5",
                DB_CONN_MAX_AGE="0",
                DB_CONNECT_TIMEOUT="3",
                DB_TCP_USER_TIMEOUT_MS="10000",
                REDIS_SOCKET_TIMEOUT="5",
                REDIS_CONNECT_TIMEOUT="3",
            )
            world = world_create(stack, CLIENTS, env)
            port = free_port()
            stack.start_web(port=port, workers=3, timeout=30, env=env)
            stack.start_worker(concurrency=1, env=env)
            sweeper_start(stack, env)
            base_url = f"http://127.0.0.1:{port}"
            # many people: the gateway caches what it found, and a cached answer would not cross the proxy
            people = [
                popdb.state.population.person(i).personal_id
                for i in range(100, 2000)
                if not popdb.state.population.person(i).deceased
            ]

            calls: list[Call] = []
            lock = threading.Lock()
            stop = threading.Event()
            phase = ["warm-up"]

            def timed(kind: str, send) -> dict:
                t0 = time.monotonic()
                current = phase[0]
                try:
                    response = send()
                    status, rid, body = response.status_code, response.headers.get("X-Request-ID", ""), response.text
                except requests.RequestException as exc:
                    status, rid, body = 0, "", f"{exc.__class__.__name__}: {exc}"
                call = Call(kind, current, time.monotonic() - t0, status, rid, body[:500])
                with lock:
                    calls.append(call)
                try:
                    return json.loads(body) if status and body.startswith("{") else {}
                except ValueError:
                    return {}

            def applicant(token: str) -> None:
                session = requests.Session()
                session.headers["Authorization"] = f"Token {token}"
                clerk = requests.Session()
                clerk.headers["Authorization"] = f"Token {world['clerk_token']}"
                gateway = requests.Session()
                gateway.headers["Authorization"] = f"Api-Key {world['gateway_key']}"
                while not stop.is_set():
                    tag = uuid.uuid4().hex
                    made = timed(
                        "submit",
                        lambda tag=tag: session.post(
                            f"{base_url}/api/v1/dossiers/",
                            data={
                                "procedure": str(world["procedure"]),
                                "address": "Số 1 Phố Huế, Hà Nội",
                                "phone": "0912345678",
                                "request_summary": f"Đề nghị {tag}",
                            },
                            files={"document": ("don.pdf", unique_pdf(tag), "application/pdf")},
                            headers={"Idempotency-Key": tag},
                            timeout=REQUEST_BOUND + 10,
                        ),
                    )
                    if made.get("reference"):
                        # the clerk's workspace knows the dossier's id; the test reads it directly
                        pk = stack.query("select id from procedures_dossier where reference = %s", (made["reference"],))
                        timed(
                            "receive",
                            lambda pk=pk[0][0]: clerk.post(
                                f"{base_url}/api/v1/staff/dossiers/{pk}/receive/", timeout=REQUEST_BOUND + 10
                            ),
                        )
                    timed(
                        "gateway",
                        lambda: gateway.post(
                            f"{base_url}/api/v1/population/lookup/",
                            json={
                                "personal_id": random.choice(people),  # noqa: S311
                                "purpose": "Tiêm chủng",
                                "acting_user": "bs.lan",
                                "consent_reference": "CONSENT-1",
                            },
                            timeout=REQUEST_BOUND + 10,
                        ),
                    )

            def health() -> None:
                while not stop.is_set():
                    timed("healthz", lambda: requests.get(f"{base_url}/healthz", timeout=HEALTHZ_BOUND + 10))
                    time.sleep(0.5)

            threads = [threading.Thread(target=applicant, args=(t,), daemon=True) for t in world["tokens"]]
            threads.append(threading.Thread(target=health, daemon=True))
            for thread in threads:
                thread.start()
            try:
                time.sleep(FAULT_SECONDS)
                for name, proxy in proxies.items():
                    for mode, params in FAULTS:
                        phase[0] = f"{name}:{mode}"
                        proxy.set(mode, **params)
                        time.sleep(FAULT_SECONDS)
                        proxy.set("pass")
                        phase[0] = f"{name}:recovering"
                        time.sleep(FAULT_SECONDS / 2)
                phase[0] = "after"
                time.sleep(FAULT_SECONDS)
            finally:
                stop.set()
                for thread in threads:
                    thread.join(REQUEST_BOUND + 15)

            # the outbox drains once the network is back (the sweeper re-publishes what Redis lost)
            def undelivered() -> int:
                stack.supervise()
                return stack.query("select count(*) from integrations_outboxmessage where state <> 'delivered'")[0][0]

            with contextlib.suppress(AssertionError):  # reported below with the rest
                wait_for(lambda: undelivered() == 0, seconds=180, what="the outbox to drain", interval=1)
            outbox = dict(stack.query("select state, count(*) from integrations_outboxmessage group by state"))
            stack.kill("web")
            in_doubt, _code, _out = media_orphans(env | {"DATABASE_URL": stack.database_url}, delete=True)
            orphans, orphans_code, orphans_out = media_orphans(env | {"DATABASE_URL": stack.database_url}, delete=False)

            by_phase: dict[str, dict[str, int]] = {}
            for call in calls:
                counts = by_phase.setdefault(call.phase, {})
                key = f"{call.kind}:{call.status}"
                counts[key] = counts.get(key, 0) + 1
            unanswered = [(c.kind, c.phase, c.body[:200]) for c in calls if c.status == 0]
            slow = [(c.kind, c.phase, round(c.seconds, 1)) for c in calls if c.seconds > REQUEST_BOUND]
            slow_health = [(c.phase, round(c.seconds, 1)) for c in calls if c.kind == "healthz" and c.seconds > 15]
            errors = [c for c in calls if c.status >= 500]
            not_503 = [(c.kind, c.phase, c.status, c.body[:200]) for c in errors if c.status != 503]
            no_request_id = [(c.kind, c.phase) for c in errors if not c.request_id]
            unexpected_4xx = [
                (c.kind, c.phase, c.status, c.body[:200])
                for c in calls
                if 400 <= c.status < 500 and not (c.kind == "receive" and c.status == 409)
            ]
            summary = {
                "calls": len(calls),
                "by_kind": {kind: sum(1 for c in calls if c.kind == kind) for kind in KINDS},
                "errors_503": len(errors),
                "max_seconds": {
                    kind: round(max((c.seconds for c in calls if c.kind == kind), default=0), 1) for kind in KINDS
                },
                "outbox": outbox,
                "in_doubt_files_removed": in_doubt,
                "seconds": round(time.monotonic() - started, 1),
            }
            with capsys.disabled():
                print(f"\nnetwork faults: {summary}")
                for name in sorted(by_phase):
                    print(f"  {name}: {by_phase[name]}")
            assert unanswered == []
            assert slow == []
            assert slow_health == []
            assert not_503 == []
            assert no_request_id == []
            assert unexpected_4xx == []
            assert orphans_code == 0 and orphans == 0, orphans_out
            assert set(outbox) <= {"delivered"}, outbox
            # everything works again once the network is back, without restarting anything
            recovered = {c.kind for c in calls if c.phase == "after" and 200 <= c.status < 300}
            assert recovered == set(KINDS), by_phase.get("after")
            assert Path(env["MEDIA_ROOT"]).is_dir()
    finally:
        for proxy in proxies.values():
            proxy.stop()
        portal.stop()
        popdb.stop()
