"""Signing of the national portal's inbound calls (OUR design, docs/national-portal-inbound.md).

The national portal (or its LGSP) POSTs JSON to /api/v1/national-portal/... with four headers:

    X-DVCQG-Sender     the sender code we issued, e.g. "DVCQG"
    X-DVCQG-Timestamp  Unix time in seconds when the request was signed
    X-DVCQG-Nonce      16-64 characters [A-Za-z0-9_-], never reused by the sender
    X-DVCQG-Signature  "v1=" + hex HMAC-SHA256(secret, canonical string)

canonical string = "v1\\n{sender}\\n{timestamp}\\n{nonce}\\n{METHOD}\\n{path}\\n{hex SHA-256 of the raw body}"

Standard library only: the simulator signs with it and the portal verifies with it.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time

VERSION = "v1"
HEADER_SENDER = "X-DVCQG-Sender"
HEADER_TIMESTAMP = "X-DVCQG-Timestamp"
HEADER_NONCE = "X-DVCQG-Nonce"
HEADER_SIGNATURE = "X-DVCQG-Signature"
NONCE_RE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")
SENDER_RE = re.compile(r"^[A-Za-z0-9_.-]{1,40}$")


def body_digest(body: bytes) -> str:
    """Return the hex SHA-256 of the raw request body."""
    return hashlib.sha256(body).hexdigest()


def canonical_string(*, sender: str, timestamp: str, nonce: str, method: str, path: str, body: bytes) -> str:
    """Return the string that is signed."""
    return "\n".join((VERSION, sender, timestamp, nonce, method.upper(), path, body_digest(body)))


def signature(*, secret: str, sender: str, timestamp: str, nonce: str, method: str, path: str, body: bytes) -> str:
    """Return the X-DVCQG-Signature header value."""
    message = canonical_string(sender=sender, timestamp=timestamp, nonce=nonce, method=method, path=path, body=body)
    digest = hmac.new(secret.encode("utf-8"), message.encode("utf-8"), hashlib.sha256).hexdigest()
    return f"{VERSION}={digest}"


def signature_matches(*, given: str, secrets_: list[str], **parts: object) -> bool:
    """Whether GIVEN is the signature of PARTS under any of SECRETS_ (key rotation), in constant time."""
    found = False
    for secret in secrets_:
        expected = signature(secret=secret, **parts)  # type: ignore[arg-type]
        found = hmac.compare_digest(expected, given) or found
    return found


def signed_headers(
    *, secret: str, sender: str, method: str, path: str, body: bytes, timestamp: int | None = None, nonce: str = ""
) -> dict[str, str]:
    """Return the four headers (plus Content-Type) for a signed JSON request."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_urlsafe(24)
    return {
        "Content-Type": "application/json; charset=utf-8",
        HEADER_SENDER: sender,
        HEADER_TIMESTAMP: stamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: signature(
            secret=secret, sender=sender, timestamp=stamp, nonce=nonce, method=method, path=path, body=body
        ),
    }
