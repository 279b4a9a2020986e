"""Download one attachment announced by an inbound national-portal dossier (OUR protocol,
docs/national-portal-inbound.md), through the one outbound HTTP helper.

Only http(s) URLs whose host is in the allow-list are requested (anything else is refused before
any connection: no SSRF to internal services); redirects are not followed; the body is streamed and
reading stops as soon as it passes MAX_BYTES. Checking the hash and the type is the caller's job.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

import requests

from integrations.http import HttpError, http_request

CHUNK_BYTES = 64 * 1024


class AttachmentRefused(Exception):
    """A permanent refusal: retrying cannot help. CODE is stable, DETAIL is for the record."""

    def __init__(self, code: str, detail: str = "") -> None:
        super().__init__(f"{code}: {detail}" if detail else code)
        self.code = code
        self.detail = detail


def attachment_host_allowed(url: str, *, allowed_hosts: Iterable[str]) -> bool:
    """True if URL is http(s), carries no credentials and its host is one of ALLOWED_HOSTS (exact match)."""
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        _ = parts.port  # a malformed port raises ValueError
    except ValueError:
        return False
    if parts.scheme not in ("http", "https") or not host or parts.username or parts.password:
        return False
    return host in {h.strip().lower() for h in allowed_hosts if h.strip()}


def attachment_fetch(url: str, *, allowed_hosts: Iterable[str], max_bytes: int, timeout: float) -> bytes:
    """Return the bytes at URL (at most MAX_BYTES).

    Raises AttachmentRefused (permanent: host not allowed, too large, redirect, HTTP 4xx) or
    HttpError with permanent=False (transient: connection, timeout, 5xx, cut off mid-body).
    """
    if not attachment_host_allowed(url, allowed_hosts=allowed_hosts):
        raise AttachmentRefused("host_not_allowed", urlsplit(url).hostname or "")
    try:
        response = http_request(
            "GET",
            url,
            timeout=timeout,
            retries=0,  # the Celery task retries with backoff; a worker never sleeps here
            stream=True,
            allow_redirects=False,
            service="national_portal.attachment",
        )
    except HttpError as exc:
        if exc.permanent:
            raise AttachmentRefused("unavailable", f"HTTP {exc.status}") from exc
        raise
    with response:
        if response.is_redirect or 300 <= response.status_code < 400:
            raise AttachmentRefused("redirect", f"HTTP {response.status_code}")
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > max_bytes:
            raise AttachmentRefused("too_large", f"{declared} bytes announced")
        body = bytearray()
        try:
            for chunk in response.iter_content(CHUNK_BYTES):
                body.extend(chunk)
                if len(body) > max_bytes:
                    raise AttachmentRefused("too_large", f"more than {max_bytes} bytes")
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError) as exc:
            raise HttpError("national_portal.attachment: cut off while reading", permanent=False) from exc
    if declared.isdigit() and len(body) != int(declared):
        raise HttpError("national_portal.attachment: body shorter than announced", permanent=False)
    return bytes(body)
