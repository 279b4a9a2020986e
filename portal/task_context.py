"""Correlation ids for Celery tasks (security.md T22, T23; decision 0058).

Publishing a task from a request puts the request's id into the message *headers* (never the arguments,
which carry ids only). In the worker, ``task_prerun`` binds a context whose ``task_id`` is the task's id
and whose ``request_id`` is the id of the request that queued it (or, with no such request, the task id
itself), so every log line and audit record the task writes carries both; ``task_postrun`` restores the
context before. Eager tasks (tests, CELERY_TASK_ALWAYS_EAGER) keep the request they run in.
"""

from __future__ import annotations

import re
import threading

from celery.signals import before_task_publish, task_postrun, task_prerun

from portal import context

HEADER = "portal_request_id"
_PLAIN_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # what a header may carry into logs and audit records
_local = threading.local()


def _tokens() -> list:
    if not hasattr(_local, "tokens"):
        _local.tokens = []
    return _local.tokens


@before_task_publish.connect(dispatch_uid="portal.task_context.headers")
def task_headers_add_request_id(headers=None, **kwargs) -> None:
    """Carry the current request id (if any) to the worker in the message headers."""
    request_id = context.current().request_id
    if headers is not None and request_id and HEADER not in headers:
        headers[HEADER] = request_id


def task_origin_request_id(task) -> str:
    """The request id the message headers carry for TASK, or '' (absent or not a plain token)."""
    request = getattr(task, "request", None)
    value = request.get(HEADER) if request is not None else None
    if not value and request is not None:
        value = (getattr(request, "headers", None) or {}).get(HEADER)
    return value if isinstance(value, str) and _PLAIN_ID.fullmatch(value) else ""


@task_prerun.connect(dispatch_uid="portal.task_context.bind")
def task_context_bind(task_id=None, task=None, **kwargs) -> None:
    outer = context.current()
    origin = task_origin_request_id(task) or outer.request_id
    bound = context.RequestContext(ip=outer.ip, request_id=origin or task_id or "", task_id=task_id or "")
    _tokens().append(context.bind(bound))


@task_postrun.connect(dispatch_uid="portal.task_context.reset")
def task_context_reset(**kwargs) -> None:
    tokens = _tokens()
    if tokens:
        context.reset(tokens.pop())
