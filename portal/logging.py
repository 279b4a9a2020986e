"""Logging: the request id on every record, personal data scrubbed from every record, JSON lines.

Configured in settings (LOGGING, the SECURITY BASELINE block): the console handler carries both filters,
so whatever a library or our code logs passes through the scrubber before it is written (security.md T22).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime

from portal import context

REDACTED = "[redacted]"

# Values under these keys are dropped whatever they look like (key=value, "key": value).
_SENSITIVE_KEYS = (
    r"password|passwd|pwd|secret|token|api_key|authorization|cookie|sessionid|csrftoken|"
    r"national_id|so_dinh_danh|cccd|cmnd|id_number|birth_?date|date_of_birth|dob|ngay_sinh|phone|email"
)
_PATTERNS: list[tuple[re.Pattern[str], str]] = [
    # key=value and "key": "value" pairs whose key names personal data or a secret
    (
        re.compile(rf"""(?i)(["']?\b(?:{_SENSITIVE_KEYS})\b["']?\s*[:=]\s*)("[^"]*"|'[^']*'|[^\s,;&}}]+)"""),
        rf"\1{REDACTED}",
    ),
    # e-mail addresses
    (re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}"), "[email]"),
    # Vietnamese phone numbers: 0 or +84/84, then 9 or 10 digits, optionally grouped by spaces, dots, dashes
    # (not inside a dossier code such as G18.001.02-261126-180001: no dot or dash right before or after)
    (re.compile(r"(?<![\d\w.-])(?:\+84|84|0)[\s.-]?\d(?:[\s.-]?\d){8,9}(?![\d\w-])"), "[phone]"),
    # personal ID numbers: 12 digits (CCCD / personal identification number), 9 digits (old CMND)
    (re.compile(r"(?<!\d)(?:\d{12}|\d{9})(?!\d)"), "[id-number]"),
    # calendar dates as a date of birth is written: dd/mm/yyyy, dd-mm-yyyy, dd.mm.yyyy, and yyyy-mm-dd
    # without a time after it (ISO timestamps of events stay readable)
    (re.compile(r"(?<!\d)(?:0?[1-9]|[12]\d|3[01])[/.-](?:0?[1-9]|1[0-2])[/.-](?:19|20)\d\d(?!\d)"), "[date]"),
    (re.compile(r"(?<!\d)(?:19|20)\d\d-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12]\d|3[01])(?![\dT:])(?!\s\d{1,2}:)"), "[date]"),
]


def scrub(text: str) -> str:
    """Replace personal data and secrets in free text by placeholders."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class PersonalDataScrubFilter(logging.Filter):
    """Render each record's message (and traceback) once, scrubbed; never drops a record."""

    _formatter = logging.Formatter()

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = f"{record.msg!r} {record.args!r}"
        record.msg = scrub(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = self._formatter.formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = scrub(record.exc_text)
        if record.stack_info:
            record.stack_info = scrub(record.stack_info)
        return True


class RequestContextFilter(logging.Filter):
    """Put the correlation id of the request being served (or '-') on every record, and inside a Celery
    task the task's id (the request id is then the one of the request that queued the task)."""

    def filter(self, record: logging.LogRecord) -> bool:
        current = context.current()
        if not getattr(record, "request_id", None):
            record.request_id = current.request_id or "-"
        if not getattr(record, "task_id", None):
            record.task_id = current.task_id or "-"
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request id, task id, traceback."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", "-"),
            "process": record.process,
        }
        if getattr(record, "task_id", "-") != "-":
            entry["task_id"] = record.task_id
        if record.exc_info and not record.exc_text:
            record.exc_text = self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = record.exc_text
        if record.stack_info:
            entry["stack"] = record.stack_info
        return json.dumps(entry, ensure_ascii=False)
