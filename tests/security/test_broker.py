"""T25 Redis needs a password and the worker refuses pickled messages; T22 a task's logs carry its id and the
id of the request that queued it (decision 0058).

A private redis-server (Debian's /usr/bin/redis-server) with --requirepass on a free loopback port, and a real
Celery worker process on it; never the shared Redis of the suite.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import redis
from django.conf import settings
from django.core.checks import run_checks
from kombu import Connection, Exchange, Queue

from portal import context
from portal.celery import app as celery_app
from portal.env import url_with_password
from tests.portal.test_deploy_check import check_deploy, production_env

WAIT_SECONDS = 60


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PrivateRedis:
    def __init__(self, folder: Path):
        self.port = free_port()
        self.password = secrets.token_urlsafe(24)
        self.process = subprocess.Popen(
            [
                shutil.which("redis-server") or "/usr/bin/redis-server",
                *("--bind", "127.0.0.1", "--port", str(self.port), "--requirepass", self.password),
                *("--save", "", "--appendonly", "no", "--dir", str(folder)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 20
        while not self.ready():
            assert self.process.poll() is None, "redis-server exited"
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.1)

    def client(self, **kwargs) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5, **kwargs)

    def ready(self) -> bool:
        try:
            return bool(self.client(password=self.password).ping())
        except redis.ConnectionError:
            return False

    def url(self, db: int) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/{db}"

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)


@pytest.fixture(scope="module")
def private_redis(tmp_path_factory):
    server = PrivateRedis(tmp_path_factory.mktemp("redis"))
    yield server
    server.stop()


def test_redis_refuses_clients_without_the_password(private_redis):
    attempts = [
        {},  # no password at all
        {"password": "wrong-" + private_redis.password},
        {"username": "portal", "password": private_redis.password},  # an ACL user that does not exist
    ]
    for kwargs in attempts:
        with pytest.raises((redis.AuthenticationError, redis.ResponseError)):
            private_redis.client(**kwargs).set("t25", "x")
    authorised = private_redis.client(password=private_redis.password)
    assert authorised.get("t25") is None  # nothing the refused clients sent was stored
    assert authorised.set("t25", "ok") and authorised.get("t25") == b"ok"


def test_a_password_is_put_into_redis_urls_that_have_none():
    assert (
        url_with_password("redis://redis.internal:6379/0", "p@ss w/rd")
        == "redis://:p%40ss%20w%2Frd@redis.internal:6379/0"
    )
    assert url_with_password("rediss://portal@redis.internal/2", "pw") == "rediss://portal:pw@redis.internal/2"
    assert url_with_password("redis://:own@redis.internal/0", "pw") == "redis://:own@redis.internal/0"
    assert url_with_password("filesystem://", "pw") == "filesystem://"
    assert url_with_password("redis://redis.internal/0", "") == "redis://redis.internal/0"


def test_the_deploy_check_refuses_redis_without_a_password(settings):
    settings.DEBUG = False
    settings.CELERY_BROKER_URL = "redis://redis.internal:6379/0"
    settings.CELERY_RESULT_BACKEND = "rediss://portal@redis.internal:6379/1"

    refused = [e for e in run_checks(include_deployment_checks=True) if e.id == "portal.E058"]
    assert sorted(e.msg.split()[0] for e in refused) == ["CELERY_BROKER_URL", "CELERY_RESULT_BACKEND"]

    settings.CELERY_BROKER_URL = "redis://:secret@redis.internal:6379/0"
    settings.CELERY_RESULT_BACKEND = "rediss://portal:secret@redis.internal:6379/1"
    assert not [e for e in run_checks(include_deployment_checks=True) if e.id == "portal.E058"]


def test_production_settings_put_redis_password_into_the_broker_url(tmp_path):
    broker = {"CELERY_BROKER_URL": "redis://portal@redis.internal:6379/0"}
    refused = check_deploy(production_env(tmp_path, **broker, REDIS_PASSWORD=""))
    accepted = check_deploy(production_env(tmp_path, **broker, REDIS_PASSWORD=secrets.token_urlsafe(16)))

    assert refused.returncode != 0
    assert "portal.E058" in refused.stdout + refused.stderr
    assert "portal.E058" not in accepted.stdout + accepted.stderr


# --- a real worker on the private Redis --------------------------------------------------------


class OpenOnUnpickle:
    """Unpickling this creates MARKER: proof that a worker deserialised it."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def start_worker(private_redis, queue_name: str, log_path: Path) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_BROKER_URL": private_redis.url(0),
        "CELERY_RESULT_BACKEND": private_redis.url(1),
        "LOG_FORMAT": "json",
        "PYTHONUNBUFFERED": "1",
    }
    with log_path.open("wb") as log:
        return subprocess.Popen(
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


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


def publish_pickled_task(connection: Connection, queue: Queue, marker: Path) -> str:
    """A task message as Celery's protocol 2 frames it, but pickle-serialised, with a payload that acts
    when unpickled."""
    task_id = str(uuid.uuid4())
    body = ((OpenOnUnpickle(str(marker)),), {}, {"callbacks": None, "errbacks": None, "chain": None, "chord": None})
    headers = {"lang": "py", "task": "celery.accumulate", "id": task_id, "root_id": task_id, "parent_id": None}
    connection.Producer().publish(
        body,
        serializer="pickle",
        headers=headers,
        exchange=queue.exchange,
        routing_key=queue.routing_key,
        declare=[queue],
    )
    return task_id


@pytest.mark.worker
def test_a_worker_refuses_a_pickled_message_and_a_task_logs_its_originating_request_id(private_redis, tmp_path):
    queue_name = f"t25-{uuid.uuid4().hex[:12]}"
    queue = Queue(queue_name, Exchange(queue_name, type="direct"), routing_key=queue_name)
    marker = tmp_path / "unpickled"
    results = private_redis.client(password=private_redis.password, db=1)
    request_id = f"req-t22-{secrets.token_hex(6)}"
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        with Connection(private_redis.url(0)) as conn:
            queue(conn.default_channel).declare()
            pickled_id = publish_pickled_task(conn, queue, marker)
            token = context.bind(context.RequestContext(request_id=request_id))
            try:
                json_id = celery_app.send_task("celery.accumulate", args=[7], queue=queue_name, connection=conn).id
            finally:
                context.reset(token)
    finally:
        celery_app.conf.task_always_eager = eager

    log_path = tmp_path / "worker.log"
    worker = start_worker(private_redis, queue_name, log_path)
    try:
        # The worker takes the messages in order: once the JSON task is done the pickled one was handled.
        deadline = time.monotonic() + WAIT_SECONDS
        while time.monotonic() < deadline and worker.poll() is None:
            if results.get(f"celery-task-meta-{json_id}"):
                break
            time.sleep(0.2)
    finally:
        stop(worker)
    log = log_path.read_text(errors="replace")
    stored = results.get(f"celery-task-meta-{json_id}")
    assert stored, f"the JSON task did not run; worker log:\n{log[-3000:]}"
    assert json.loads(stored)["result"] == [7]

    # T25: refused, never unpickled, never run, and the refusal is in the log.
    assert not marker.exists()
    assert results.get(f"celery-task-meta-{pickled_id}") is None
    assert "Refusing to deserialize untrusted content of type pickle" in log, log[-3000:]

    # T22: the task's log lines carry its own id and the id of the request that queued it.
    entries = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    ran = [e for e in entries if e.get("task_id") == json_id]
    assert ran, log[-3000:]
    assert {e["request_id"] for e in ran} == {request_id}
    assert any("succeeded" in e["message"] for e in ran)
