"""T22/T23: a task's log lines and audit records carry its id and the id of the request that queued it; the
request id travels in the message headers, never in the task arguments (decision 0058). The same path
through a real worker process is proved in test_broker.py."""

from __future__ import annotations

import io
import json
import logging

import pytest
from celery.signals import before_task_publish

from portal import context
from portal.celery import app as celery_app
from portal.logging import JsonFormatter, RequestContextFilter
from portal.task_context import HEADER

REQUEST_ID = "req-0123456789abcdef"


@celery_app.task(name="tests.security.task_context_probe")
def task_context_probe():
    logging.getLogger("tests.task_context_probe").warning("probe ran")
    current = context.current()
    return {"request_id": current.request_id, "task_id": current.task_id, "ip": current.ip}


@pytest.fixture
def json_log():
    """The probe's log lines as the console handler writes them (filters and JSON formatter of the settings)."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(RequestContextFilter())
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.task_context_probe")
    logger.addHandler(handler)
    yield lambda: [json.loads(line) for line in stream.getvalue().splitlines()]
    logger.removeHandler(handler)


@pytest.fixture
def published():
    """Headers and body of every task message published during the test (in-memory broker)."""
    seen = []

    def capture(headers=None, body=None, **kwargs):
        seen.append((dict(headers or {}), body))

    before_task_publish.connect(capture, weak=False)
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        with celery_app.connection_for_write("memory://") as conn:

            def publish():
                task_context_probe.apply_async(connection=conn)
                return seen[-1]

            yield publish
    finally:
        celery_app.conf.task_always_eager = eager
        before_task_publish.disconnect(capture)


def test_the_request_id_travels_in_the_message_headers_not_in_the_arguments(published):
    token = context.bind(context.RequestContext(ip="203.0.113.9", request_id=REQUEST_ID))
    try:
        headers, body = published()
    finally:
        context.reset(token)
    assert headers[HEADER] == REQUEST_ID
    assert REQUEST_ID not in json.dumps(body) and "203.0.113.9" not in json.dumps([headers, body])

    headers, _ = published()  # outside a request (beat, another task): no header
    assert HEADER not in headers


def test_a_task_logs_with_its_id_and_the_originating_request_id(json_log):
    result = task_context_probe.apply(task_id="task-1", headers={HEADER: REQUEST_ID})

    assert result.get() == {"request_id": REQUEST_ID, "task_id": "task-1", "ip": None}
    [line] = json_log()
    assert (line["message"], line["request_id"], line["task_id"]) == ("probe ran", REQUEST_ID, "task-1")
    assert context.current() == context.RequestContext()  # restored after the task


def test_a_task_nobody_requested_uses_its_own_id_and_a_forged_header_is_ignored(json_log):
    plain = task_context_probe.apply(task_id="task-2").get()
    forged = task_context_probe.apply(task_id="task-3", headers={HEADER: "x\n{fake json} " + "9" * 12}).get()

    assert (plain["request_id"], plain["task_id"]) == ("task-2", "task-2")
    assert (forged["request_id"], forged["task_id"]) == ("task-3", "task-3")
    assert [line["request_id"] for line in json_log()] == ["task-2", "task-3"]


def test_an_eager_task_inside_a_request_keeps_the_request(json_log):
    token = context.bind(context.RequestContext(ip="203.0.113.9", request_id=REQUEST_ID))
    try:
        inside = task_context_probe.apply(task_id="task-4").get()
        assert context.current().task_id == ""
    finally:
        context.reset(token)
    assert inside == {"request_id": REQUEST_ID, "task_id": "task-4", "ip": "203.0.113.9"}
