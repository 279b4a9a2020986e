"""The HTTP client of the interlinking software, over integrations/http.py (our protocol, v1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from integrations.http import HttpError, http_post_json

PROTOCOL_VERSION = "motcua-interlinking/1"


class InterlinkingError(Exception):
    """A call failed; `permanent` says whether retrying can help (the outbox reads it)."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


@dataclass(frozen=True)
class SubmitResult:
    message_id: str
    status: str  # accepted | duplicate | rejected
    receipt_id: str = ""
    code: str = ""
    message: str = ""

    @property
    def ok(self) -> bool:
        return self.status in ("accepted", "duplicate")


@dataclass(frozen=True)
class DocumentState:
    receipt_id: str
    state: str  # received | acknowledged | used | unknown
    acknowledged_at: str | None = None
    used_at: str | None = None
    registration_reference: str = ""


class InterlinkingClient:
    """Submit signed documents and ask for their state."""

    def __init__(
        self, *, url: str, token: str, sender: str, timeout: float | None = None, retries: int | None = None
    ) -> None:
        self.url = url.rstrip("/")
        self.token = token
        self.sender = sender
        self.timeout = timeout
        self.retries = retries

    @classmethod
    def from_settings(cls) -> InterlinkingClient:
        from django.conf import settings

        return cls(
            url=settings.INTERLINKING_URL,
            token=settings.INTERLINKING_TOKEN,
            sender=settings.INTERLINKING_SENDER_CODE,
            timeout=settings.INTERLINKING_TIMEOUT,
            retries=settings.INTERLINKING_RETRIES,
        )

    def _post(self, path: str, body: dict[str, Any], *, service: str) -> dict[str, Any]:
        try:
            answer = http_post_json(
                self.url + path,
                body,
                headers={"Authorization": f"Bearer {self.token}", "X-Protocol": PROTOCOL_VERSION},
                timeout=self.timeout,
                retries=self.retries,
                service=f"interlinking {service}",
            )
        except HttpError as exc:
            # 401: our credentials are wrong; fixing them lets the same message through, so retry.
            permanent = exc.permanent and exc.status not in (401, 403)
            raise InterlinkingError(str(exc), permanent=permanent) from exc
        if not isinstance(answer, dict) or not isinstance(answer.get("results"), list):
            raise InterlinkingError(f"interlinking {service}: unexpected answer", permanent=False)
        return answer

    def submit(self, documents: Sequence[dict[str, Any]]) -> list[SubmitResult]:
        """Send DOCUMENTS (wire form); return one result per document, in order."""
        answer = self._post(
            "/api/v1/documents", {"sender": self.sender, "documents": list(documents)}, service="submit"
        )
        by_id = {str(r.get("message_id")): r for r in answer["results"] if isinstance(r, dict)}
        results = []
        for doc in documents:
            raw = by_id.get(doc["message_id"])
            if raw is None:
                raise InterlinkingError("interlinking submit: a document has no result", permanent=False)
            results.append(
                SubmitResult(
                    message_id=doc["message_id"],
                    status=str(raw.get("status", "")),
                    receipt_id=str(raw.get("receipt_id") or ""),
                    code=str(raw.get("code") or ""),
                    message=str(raw.get("message") or "")[:500],
                )
            )
        return results

    def status(self, receipt_ids: Sequence[str]) -> list[DocumentState]:
        """Return the state of each received document."""
        if not receipt_ids:
            return []
        answer = self._post("/api/v1/status", {"receipt_ids": list(receipt_ids)}, service="status")
        return [
            DocumentState(
                receipt_id=str(r.get("receipt_id")),
                state=str(r.get("state") or "unknown"),
                acknowledged_at=r.get("acknowledged_at"),
                used_at=r.get("used_at"),
                registration_reference=str(r.get("registration_reference") or ""),
            )
            for r in answer["results"]
            if isinstance(r, dict)
        ]


def get_interlinking_client() -> InterlinkingClient:
    """Return a client configured from the INTERLINKING_* settings."""
    return InterlinkingClient.from_settings()
