"""A real Celery worker process on Redis delivers an outbox message to the DVCQG simulator.

Needs Redis (CELERY_BROKER_URL if it is redis://, else redis://127.0.0.1:6379) and a test database
another process can open (PostgreSQL, or the SQLite file that portal/settings/test.py configures).
The test uses Redis DB 14 (override with WORKER_TEST_REDIS_DB) and a queue of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

import pytest
import redis
from django.conf import settings
from django.db import connection
from kombu import Exchange, Queue

from integrations.models import OutboxMessage
from integrations.tasks import outbox_deliver_task
from portal.celery import app as celery_app
from tests.fixtures.national_portal import DOSSIER_CODE, dossier_payload

# Committed rows, so the worker process sees them. Only this app's tables are flushed afterwards: the
# audit trail refuses TRUNCATE on PostgreSQL, and this test writes nothing else.
pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, available_apps=["integrations"])]

WAIT_SECONDS = 60


def redis_broker_url() -> str:
    """Return the private Redis URL for this test, or skip when Redis cannot be reached."""
    url = os.environ.get("CELERY_BROKER_URL", "")
    if not url.startswith("redis://"):
        url = "redis://127.0.0.1:6379/0"
    url = urlunsplit(urlsplit(url)._replace(path=f"/{os.environ.get('WORKER_TEST_REDIS_DB', '14')}"))
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2, socket_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable at {urlsplit(url).hostname}:{urlsplit(url).port}: {exc}")
    return url


def worker_database_url() -> str:
    """Return a DATABASE_URL naming the test database this process uses, or skip if none can be shared."""
    config = connection.settings_dict
    if connection.vendor == "postgresql":
        user = quote(config["USER"] or "", safe="")
        password = f":{quote(config['PASSWORD'], safe='')}" if config["PASSWORD"] else ""
        port = f":{config['PORT']}" if config["PORT"] else ""
        return f"postgres://{user}{password}@{config['HOST'] or ''}{port}/{quote(config['NAME'], safe='')}"
    if connection.vendor == "sqlite":
        if connection.is_in_memory_db():
            pytest.skip("the SQLite test database is in memory; a worker process cannot open it")
        return f"sqlite:///{Path(config['NAME']).resolve()}"
    pytest.skip(f"no worker DATABASE_URL for the {connection.vendor} backend")


def publish(*, broker_url: str, queue_name: str, message_id: int) -> None:
    """Send the delivery task through Redis (the test settings run tasks eagerly otherwise)."""
    queue = Queue(queue_name, Exchange(queue_name, type="direct"), routing_key=queue_name)
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        with celery_app.connection_for_write(broker_url) as conn:
            queue(conn.default_channel).declare()  # bind it now, so the message waits for the worker
            outbox_deliver_task.apply_async(args=[message_id], queue=queue_name, connection=conn)
    finally:
        celery_app.conf.task_always_eager = eager


def stop(process: subprocess.Popen) -> None:
    """Stop the worker: SIGTERM (warm shutdown), then SIGKILL."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def test_a_worker_process_delivers_an_outbox_message_once(national_portal_simulator, tmp_path):
    # given: Redis, a database the worker can open, and a committed outbox message
    broker_url = redis_broker_url()
    database_url = worker_database_url()
    queue_name = f"outbox-test-{uuid.uuid4().hex[:12]}"
    message = OutboxMessage.objects.create(
        topic="national_portal.dossier",
        key=DOSSIER_CODE,
        sequence=1,
        idempotency_key=f"national_portal.dossier:{DOSSIER_CODE}:worker-test",
        payload=dossier_payload(),
    )
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_BROKER_URL": broker_url,
        "DATABASE_URL": database_url,
        "NATIONAL_PORTAL_URL": national_portal_simulator.url,
        "NATIONAL_PORTAL_USERNAME": settings.NATIONAL_PORTAL_USERNAME,
        "NATIONAL_PORTAL_PASSWORD": settings.NATIONAL_PORTAL_PASSWORD,
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_RESULT_BACKEND", None)
    log_path = tmp_path / "worker.log"
    with log_path.open("wb") as log:
        worker = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "portal", "worker"),
                *("-P", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat"),
                *("-Q", queue_name, "-n", f"{queue_name}@%h", "-l", "INFO"),
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        # when: the delivery task travels through Redis to the worker
        publish(broker_url=broker_url, queue_name=queue_name, message_id=message.pk)
        # then: the worker marks it delivered (bounded wait for another process, no timing asserted)
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline:
            message.refresh_from_db()
            if message.state in (OutboxMessage.State.DELIVERED, OutboxMessage.State.DEAD) or worker.poll() is not None:
                break
            time.sleep(0.2)
        log_tail = log_path.read_text(errors="replace")[-3000:]
        assert message.state == OutboxMessage.State.DELIVERED, f"state {message.state}; worker log:\n{log_tail}"
        host, _, pid = message.delivered_by.rpartition(":")
        assert int(pid) != os.getpid()
        assert int(pid) == worker.pid  # -P solo: the task runs in the worker's own process
        assert host
        sent = [r for r in national_portal_simulator.records("DongBoHoSoMC") if r["MaHoSo"] == DOSSIER_CODE]
        assert len(sent) == 1
    finally:
        stop(worker)
        redis.Redis.from_url(broker_url).delete(queue_name, f"_kombu.binding.{queue_name}")
