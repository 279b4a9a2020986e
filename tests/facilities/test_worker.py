"""A real Celery worker on Redis delivers facility documents to the interlinking simulator; while
the simulator is down nothing is lost, and after it comes back every document arrives once.

Uses this suite's Redis database (CELERY_BROKER_URL, default redis://127.0.0.1:6379/6) and a queue
of its own; the sweeps that the beat would send every minute are run by the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from urllib.parse import urlsplit

import pytest
import redis
from django.conf import settings

from facilities.models import HealthDocument
from facilities.services import birth_certificates_issue, death_notice_issue
from integrations.models import OutboxMessage
from integrations.outbox import outbox_sweep
from portal.celery import app as celery_app
from tests.facilities.conftest import birth_data, child, death_data
from tests.integrations.test_delivery_worker import stop, worker_database_url

APPS = [app for app in settings.INSTALLED_APPS if app != "portal"]
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, available_apps=APPS)]
WAIT_SECONDS = 90


def broker_url() -> str:
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis://"):
        url = "redis://127.0.0.1:6379/6"
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.fail(f"Redis is not reachable at {urlsplit(url).netloc}: {exc}")
    return url


def wait_for(condition, worker, log_path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if condition() or worker.poll() is not None:
            break
        time.sleep(0.2)
    assert condition(), "worker log:\n" + log_path.read_text(errors="replace")[-3000:]


def test_a_worker_delivers_the_backlog_after_an_outage_with_nothing_lost(issuer, interlinking_simulator, tmp_path):
    url = broker_url()
    queue = f"facilities-test-{uuid.uuid4().hex[:10]}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_BROKER_URL": url,
        "DATABASE_URL": worker_database_url(),
        "INTERLINKING_URL": interlinking_simulator.url,
        "INTERLINKING_TOKEN": "test-interlinking-token",
        "PYTHONUNBUFFERED": "1",
        # Retries have no backoff in tests; never give up during the outage, however slow the
        # machine: the test is about nothing being lost, not about the dead-letter limit.
        "OUTBOX_MAX_ATTEMPTS": "100000",
    }
    env.pop("CELERY_RESULT_BACKEND", None)
    log_path = tmp_path / "worker.log"
    saved = (celery_app.conf.task_always_eager, celery_app.conf.task_default_queue, celery_app.conf.broker_url)
    celery_app.conf.task_always_eager = False
    celery_app.conf.task_default_queue = queue
    celery_app.conf.broker_url = url
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "portal", "worker"),
                *("-P", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat"),
                *("-Q", queue, "-n", f"{queue}@%h", "-l", "INFO"),
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )

    def messages():
        return list(OutboxMessage.objects.filter(topic="interlinking.document"))

    def states() -> set[str]:
        return {m.state for m in messages()}

    try:
        # The interlinking software is down while the facility issues 3 deliveries' worth of documents.
        interlinking_simulator.faults(down=True)
        documents = []
        for i in range(3):
            documents += birth_certificates_issue(
                issuer=issuer,
                data=birth_data(children_count=2),
                children=[
                    child(birth_at=f"2026-11-2{i}T09:0{i}"),
                    child(birth_at=f"2026-11-2{i}T09:1{i}", child_sex="1"),
                ],
            )
        documents.append(death_notice_issue(issuer=issuer, data=death_data()))
        # Every document was tried by the worker and is waiting for a retry, none given up.
        wait_for(
            lambda: (
                len(messages()) == 7
                and all(m.attempts >= 1 for m in messages())
                and states() == {OutboxMessage.State.PENDING}
            ),
            worker,
            log_path,
        )
        assert interlinking_simulator.documents() == []
        # The beat's sweeper keeps retrying while it is down.
        outbox_sweep()
        wait_for(
            lambda: all(m.attempts >= 2 for m in messages()) and states() == {OutboxMessage.State.PENDING},
            worker,
            log_path,
        )
        # Back up: the next sweep delivers everything, each document exactly once.
        interlinking_simulator.faults(clear=True)
        outbox_sweep()
        wait_for(lambda: states() == {OutboxMessage.State.DELIVERED}, worker, log_path)
        received = interlinking_simulator.documents()
        assert sorted(r["number"] for r in received) == sorted(d.number for d in documents)
        assert all(r["copies"] == 1 for r in received)
        assert HealthDocument.objects.filter(delivery_status="sent").count() == 7
        pids = {m.delivered_by.rpartition(":")[2] for m in messages()}
        assert pids == {str(worker.pid)}
    finally:
        stop(worker)
        celery_app.conf.task_always_eager, celery_app.conf.task_default_queue, celery_app.conf.broker_url = saved
        redis.Redis.from_url(url).delete(queue, f"_kombu.binding.{queue}")
