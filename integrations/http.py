"""The one outbound HTTP helper: timeouts, User-Agent, retries for transient errors only, error mapping.

It never logs bodies or query strings, so no personal data reaches the application log.
"""

from __future__ import annotations

import logging
import random
import time
from typing import Any

import requests
from django.conf import settings

logger = logging.getLogger("integrations.http")

USER_AGENT = "mot-cua-portal/1.0 (+https://github.com/; Ministry of Health one-stop portal)"
TRANSIENT_STATUS = {408, 425, 429, 500, 502, 503, 504}


class HttpError(Exception):
    """An outbound call failed; `permanent` says whether retrying can help."""

    def __init__(self, message: str, *, permanent: bool, status: int | None = None) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.status = status


_session = requests.Session()
_session.headers["User-Agent"] = USER_AGENT


def http_request(
    method: str,
    url: str,
    *,
    json: Any = None,
    data: Any = None,
    headers: dict[str, str] | None = None,
    timeout: float | None = None,
    retries: int | None = None,
    service: str = "",
    stream: bool = False,
    allow_redirects: bool = True,
) -> requests.Response:
    """Send one request; retry timeouts, connection errors and transient statuses with jittered backoff.

    STREAM leaves the body unread (the caller reads it in chunks and closes the response);
    ALLOW_REDIRECTS=False hands a 3xx back to the caller instead of following it.
    """
    retries = settings.HTTP_RETRIES if retries is None else retries
    connect_timeout = settings.HTTP_CONNECT_TIMEOUT if timeout is None else min(timeout, settings.HTTP_CONNECT_TIMEOUT)
    read_timeout = settings.HTTP_READ_TIMEOUT if timeout is None else timeout
    safe_url = url.split("?", 1)[0]
    attempt = 0
    while True:
        attempt += 1
        started = time.monotonic()
        try:
            response = _session.request(
                method,
                url,
                json=json,
                data=data,
                headers=headers,
                timeout=(connect_timeout, read_timeout),
                stream=stream,
                allow_redirects=allow_redirects,
            )
        except requests.Timeout as exc:
            error = HttpError(f"{service or safe_url}: timed out", permanent=False)
            cause: Exception = exc
        except requests.ConnectionError as exc:
            error = HttpError(f"{service or safe_url}: connection failed", permanent=False)
            cause = exc
        else:
            elapsed = round((time.monotonic() - started) * 1000)
            logger.info("%s %s -> %s in %sms", method, safe_url, response.status_code, elapsed)
            if response.status_code < 400:
                return response
            response.close()  # an error body is never read (it may be streamed and large)
            permanent = response.status_code not in TRANSIENT_STATUS
            error = HttpError(
                f"{service or safe_url}: HTTP {response.status_code}", permanent=permanent, status=response.status_code
            )
            cause = error
            if permanent:
                raise error
        logger.warning("%s %s failed (attempt %s): %s", method, safe_url, attempt, error)
        if attempt > retries:
            raise error from cause
        time.sleep(min(2.0, 0.1 * 2**attempt) * random.uniform(0.5, 1.0))  # noqa: S311  # nosec B311  # jitter, not crypto


def http_post_json(url: str, payload: Any, **kwargs: Any) -> Any:
    """POST JSON and return the decoded JSON answer (a non-JSON answer is a transient error)."""
    response = http_request("POST", url, json=payload, **kwargs)
    try:
        return response.json()
    except ValueError as exc:
        raise HttpError(f"{kwargs.get('service') or url}: answer is not JSON", permanent=False) from exc


def http_get_json(url: str, **kwargs: Any) -> Any:
    """GET and return the decoded JSON answer."""
    response = http_request("GET", url, **kwargs)
    try:
        return response.json()
    except ValueError as exc:
        raise HttpError(f"{kwargs.get('service') or url}: answer is not JSON", permanent=False) from exc
