"""SMS behind an interface: the setting SMS_BACKEND selects the class (console for development, HTTP for production).

A backend has one method, `send(*, to, text, reference) -> str`, returning the provider's message id;
it raises SmsError (permanent or not) when the message was not accepted. `reference` is our idempotency
key: an HTTP gateway that honours it never delivers twice.
"""

from __future__ import annotations

import logging
import unicodedata
from typing import Protocol

from django.conf import settings
from django.utils.module_loading import import_string

logger = logging.getLogger("procedures.sms")


class SmsError(Exception):
    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.permanent = permanent


class SmsBackend(Protocol):
    def send(self, *, to: str, text: str, reference: str) -> str: ...


class ConsoleSmsBackend:
    """Development: write the message to the log (the number masked) instead of sending it."""

    def send(self, *, to: str, text: str, reference: str) -> str:
        logger.info("SMS %s to %s: %s", reference, mask_phone(to), text)
        return f"console-{reference}"


class HttpSmsBackend:
    """Production: POST {to, text, reference} as JSON to SMS_HTTP_URL (bearer SMS_HTTP_TOKEN); answer {id}."""

    def send(self, *, to: str, text: str, reference: str) -> str:
        from integrations.http import HttpError, http_post_json

        url = settings.SMS_HTTP_URL
        if not url:
            raise SmsError("SMS_HTTP_URL is not set", permanent=True)
        headers = {"Idempotency-Key": reference}
        if settings.SMS_HTTP_TOKEN:
            headers["Authorization"] = f"Bearer {settings.SMS_HTTP_TOKEN}"
        try:
            answer = http_post_json(
                url, {"to": to, "text": text, "reference": reference}, headers=headers, service="sms"
            )
        except HttpError as exc:
            raise SmsError(str(exc), permanent=exc.permanent) from exc
        if not isinstance(answer, dict) or not answer.get("id"):
            raise SmsError("sms: the gateway's answer has no message id", permanent=False)
        return str(answer["id"])


def sms_backend() -> SmsBackend:
    return import_string(settings.SMS_BACKEND)()


def sms_text(text: str) -> str:
    """Strip diacritics (đ -> d) so the message fits the 160-character GSM alphabet when SMS_ASCII is on."""
    if not settings.SMS_ASCII:
        return text
    text = text.replace("đ", "d").replace("Đ", "D")
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(c for c in decomposed if unicodedata.category(c) != "Mn")


def mask_phone(number: str) -> str:
    digits = "".join(c for c in number if c.isdigit() or c == "+")
    if len(digits) <= 6:
        return "*" * len(digits)
    return digits[:3] + "*" * (len(digits) - 6) + digits[-3:]


def mask_email(address: str) -> str:
    local, _at, domain = address.partition("@")
    if not domain:
        return "***"
    return f"{local[:1]}***@{domain}"
