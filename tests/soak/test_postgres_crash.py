"""T36 PostgreSQL crash (Jepsen "acknowledged writes survive"): kill -9 the postmaster during submissions.

The private stack (tests/stack.py): its own PostgreSQL cluster (fsync, synchronous_commit, full_page_writes
on, checked by deploy check portal.E019), its own Redis, and gunicorn with DEBUG off and persistent
connections with health checks. Client threads submit dossiers with a PDF each through the API while the
postmaster is SIGKILLed SOAK_PG_CRASHES times (restarted after SOAK_PG_DOWN_SECONDS: crash recovery). Then:

- every submission answered 2xx is in the database with its file, whose checksum is the one sent;
- no row without its file; no file without its row once `manage.py media_orphans` has removed the files of
  commits whose outcome was unknown (the database died during COMMIT; counted and printed);
- every answer during the outage is a 503 with a request id (JSON, no traceback), never a 500;
- after each restart the first 2xx comes within 30 s, without restarting gunicorn (CONN_HEALTH_CHECKS).

Environment: SOAK_SUBMISSIONS (1000), SOAK_PG_CRASHES (3), SOAK_PG_DOWN_SECONDS (4), SOAK_CLIENTS (4).
Bounded by `make soak`'s timeout (10 min); on a 2-core machine 1,000 submissions take about 5 minutes.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from tests.soak.world import Submitter, acknowledged_missing, applicants_create, media_orphans, web_env
from tests.stack import free_port, missing_binaries, private_stack, wait_for

SUBMISSIONS = int(os.environ.get("SOAK_SUBMISSIONS", "1000"))
CRASHES = int(os.environ.get("SOAK_PG_CRASHES", "3"))
DOWN_SECONDS = float(os.environ.get("SOAK_PG_DOWN_SECONDS", "4"))
CLIENTS = int(os.environ.get("SOAK_CLIENTS", "4"))
RECOVERY_LIMIT = 30.0


def test_acknowledged_submissions_survive_postmaster_kills_and_the_app_recovers_by_itself(capsys):
    if missing := missing_binaries():
        pytest.fail(missing)
    started = time.monotonic()
    with private_stack("pg-crash-") as stack:
        # given: the private stack and gunicorn (3 sync workers) in front of it
        stack.init_postgres()
        stack.start_redis()
        stack.migrate()
        env = web_env(stack)
        procedure, tokens = applicants_create(stack, CLIENTS, env)
        port = free_port()
        stack.start_web(port=port, workers=3, env=env)
        base_url = f"http://127.0.0.1:{port}"
        submitter = Submitter(base_url=base_url, procedure=procedure, tokens=tokens, total=SUBMISSIONS)
        submitter.start(CLIENTS)
        outages: list[tuple[float, float]] = []  # (killed at, postgres up again at)
        recoveries: list[float] = []
        try:
            for crash in range(CRASHES):
                # when: the postmaster is killed once a share of the submissions is acknowledged
                target = SUBMISSIONS * (crash + 1) // (CRASHES + 1)
                wait_for(lambda t=target: len(submitter.acknowledged) >= t, seconds=300, what=f"{target} acks")
                killed = time.monotonic()
                stack.kill_postgres()
                time.sleep(DOWN_SECONDS)
                stack.start_postgres()  # crash recovery from the WAL
                up = time.monotonic()
                outages.append((killed, up))
                # then: the app serves again by itself (no restart of gunicorn)
                wait_for(
                    lambda up=up: any(a.sent >= up for a in submitter.acknowledged),
                    seconds=RECOVERY_LIMIT + 30,
                    what="a submission after the restart",
                    interval=0.1,
                )
                recoveries.append(min(a.done for a in submitter.acknowledged if a.sent >= up) - up)
            submitter.join(seconds=400)
        finally:
            submitter.stop.set()
        stack.kill("web")

        attempts = list(submitter.attempts)
        acknowledged = submitter.acknowledged
        media_root = Path(env["MEDIA_ROOT"])
        lost = acknowledged_missing(stack, acknowledged, media_root)
        in_db = stack.query("select count(*) from procedures_dossier")[0][0]
        documents = stack.query("select count(*) from procedures_dossierdocument")[0][0]
        in_doubt, _code, _out = media_orphans(env, delete=True)
        orphans_after, orphans_code, orphans_out = media_orphans(env, delete=False)
        refused = [a for a in attempts if not 200 <= a.status < 300]
        statuses: dict[int, int] = {}
        for attempt in attempts:
            statuses[attempt.status] = statuses.get(attempt.status, 0) + 1
        not_503 = [(a.status, a.body[:300]) for a in refused if a.status != 503]
        without_request_id = [
            a.body[:200] for a in refused if a.status == 503 and not json.loads(a.body).get("request_id")
        ]
        tracebacks = [a.body[:300] for a in attempts if "Traceback" in a.body or "Error:" in a.body]
        summary = {
            "submissions_sent": len(attempts),
            "acknowledged": len(acknowledged),
            "dossiers_in_db": in_db,
            "documents_in_db": documents,
            "acknowledged_lost": len(lost),
            "statuses": statuses,
            "postmaster_kills": len(outages),
            "recovery_seconds": [round(r, 1) for r in recoveries],
            "in_doubt_files_removed": in_doubt,
            "seconds": round(time.monotonic() - started, 1),
        }
        with capsys.disabled():
            print(f"\npostgres crash: {summary}")
        assert lost == []
        assert len(acknowledged) >= SUBMISSIONS
        assert documents == in_db  # one document per dossier: no row without its file row
        assert orphans_code == 0 and orphans_after == 0, orphans_out  # no file without a row, no row without a file
        assert in_db - len(acknowledged) >= 0
        assert not_503 == []
        assert without_request_id == []
        assert tracebacks == []
        assert len(recoveries) == CRASHES and max(recoveries) <= RECOVERY_LIMIT
