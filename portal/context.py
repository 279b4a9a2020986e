"""Per-request context (client IP, request id, task id) that services read without a request object."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass


@dataclass(frozen=True)
class RequestContext:
    ip: str | None = None
    request_id: str = ""
    task_id: str = ""  # inside a Celery task: its id (portal.task_context); request_id is then the origin's


_current: contextvars.ContextVar[RequestContext] = contextvars.ContextVar(
    "portal_request",
    default=RequestContext(),  # noqa: B039  (a frozen dataclass: immutable)
)


def current() -> RequestContext:
    """Return the context of the request being served (empty outside requests)."""
    return _current.get()


def bind(ctx: RequestContext) -> contextvars.Token:
    return _current.set(ctx)


def reset(token: contextvars.Token) -> None:
    _current.reset(token)
