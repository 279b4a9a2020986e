"""A reconciliation job survives a killed worker: the chunks left pending are queued again and a
second worker finishes the job; every record is counted exactly once.

Needs Redis and a database another process can open (see test_delivery_worker.py, whose helpers
this reuses).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
import uuid
from collections import Counter
from unittest import mock

import pytest
import redis
from django.conf import settings
from kombu import Exchange, Queue

from integrations.gateway_models import ReconciliationChunk, ReconciliationJob, ReconciliationResult
from integrations.reconciliation import InputRecord, job_counts, reconciliation_job_from_records, reconciliation_sweep
from integrations.reconciliation_synthetic import expected_counts, synthetic_rows
from integrations.reconciliation_tasks import reconciliation_chunk_task
from portal.celery import app as celery_app
from tests.integrations.test_delivery_worker import redis_broker_url, stop, worker_database_url

pytestmark = [pytest.mark.worker, pytest.mark.django_db(transaction=True, available_apps=["integrations"])]

WAIT_SECONDS = 90


def start_worker(*, queue_name: str, broker_url: str, database_url: str, registry_url: str, log_path):
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "portal.settings.test",
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_BROKER_URL": broker_url,
        "DATABASE_URL": database_url,
        "POPULATION_REGISTRY_URL": registry_url,
        "POPULATION_REGISTRY_RETRIES": "0",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_RESULT_BACKEND", None)
    with log_path.open("ab") as log:
        return subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "portal", "worker"),
                *("-P", "solo", "--without-gossip", "--without-mingle", "--without-heartbeat"),
                *("-Q", queue_name, "-n", f"{queue_name}-{uuid.uuid4().hex[:4]}@%h", "-l", "INFO"),
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )


def wait_for(predicate, *, process, log_path) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while time.monotonic() < deadline:
        if predicate():
            return
        if process.poll() is not None:
            break
        time.sleep(0.1)
    raise AssertionError(f"condition not reached; worker log:\n{log_path.read_text(errors='replace')[-3000:]}")


def test_a_killed_worker_leaves_pending_chunks_that_a_new_worker_finishes_once(
    population_registry_simulator, tmp_path, settings
):
    # given: Redis, a shared database, a running job of 6 chunks, and a slow registry
    broker_url = redis_broker_url()
    database_url = worker_database_url()
    queue_name = f"reconcile-test-{uuid.uuid4().hex[:12]}"
    settings.RECONCILIATION_REQUEUE_SECONDS = 0
    rows = list(synthetic_rows(population_registry_simulator.population, 300, seed=3))
    records = [
        InputRecord(n, r.reference, r.personal_id, r.full_name, r.birth_date, r.facility)
        for n, r in enumerate(rows, start=1)
    ]
    with mock.patch("integrations.reconciliation.reconciliation_queue_pending", return_value=0):
        job = reconciliation_job_from_records(name="worker", purpose="test", records=records, chunk_size=50)
    population_registry_simulator.faults(delay_ms=300)
    queue = Queue(queue_name, Exchange(queue_name, type="direct"), routing_key=queue_name)
    log_path = tmp_path / "workers.log"
    first = start_worker(
        queue_name=queue_name,
        broker_url=broker_url,
        database_url=database_url,
        registry_url=population_registry_simulator.url,
        log_path=log_path,
    )
    second = None
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        with celery_app.connection_for_write(broker_url) as conn:
            queue(conn.default_channel).declare()

            def publish(chunk_id: int):
                return reconciliation_chunk_task.apply_async(args=[chunk_id], queue=queue_name, connection=conn)

            with mock.patch.object(reconciliation_chunk_task, "delay", side_effect=publish):
                # when: the chunks are queued and the first worker dies (SIGKILL) after finishing some
                assert reconciliation_sweep() == 6
                wait_for(lambda: job.chunks.filter(state="done").exists(), process=first, log_path=log_path)
                first.kill()
                first.wait(timeout=10)
                done_by_first = set(job.chunks.filter(state="done").values_list("pk", flat=True))
                assert 1 <= len(done_by_first) < 6
                # and the sweeper queues what is still pending for a new worker
                assert reconciliation_sweep() == 6 - len(done_by_first)
            population_registry_simulator.faults(delay_ms=0)
            second = start_worker(
                queue_name=queue_name,
                broker_url=broker_url,
                database_url=database_url,
                registry_url=population_registry_simulator.url,
                log_path=log_path,
            )
            wait_for(
                lambda: ReconciliationJob.objects.get(pk=job.pk).status == "done", process=second, log_path=log_path
            )
        # then: every record counted once, against the ground truth, by both workers
        job.refresh_from_db()
        totals: Counter = Counter()
        for per_key in job_counts(job).values():
            totals.update(per_key)
        assert totals == expected_counts(rows)
        assert ReconciliationResult.objects.filter(job=job).count() == 300
        workers = {int(p.rpartition(":")[2]) for p in job.chunks.values_list("processed_by", flat=True)}
        assert workers == {first.pid, second.pid}
        assert not ReconciliationChunk.objects.filter(job=job, state="pending").exists()
    finally:
        celery_app.conf.task_always_eager = eager
        stop(first)
        if second is not None:
            stop(second)
        redis.Redis.from_url(broker_url).delete(queue_name, f"_kombu.binding.{queue_name}")
