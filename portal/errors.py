"""The one error type that services raise for a rule the user broke."""

from __future__ import annotations


class ApplicationError(Exception):
    """A business rule refused the action; the message is shown to the user as is."""

    def __init__(self, message: str, *, extra: dict | None = None, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra or {}
        self.status = status
