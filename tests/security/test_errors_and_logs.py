"""T22 personal data out of logs and task arguments, T23 generic errors with a correlation id, T25 JSON only."""

from __future__ import annotations

import inspect
import io
import json
import logging

import pytest
from django.conf import settings
from django.test import Client, override_settings
from django.utils import translation

from portal.logging import JsonFormatter, PersonalDataScrubFilter, RequestContextFilter, scrub

pytestmark = pytest.mark.django_db


@pytest.fixture
def console_log():
    """The configured console handler (with its filters and formatter), writing into a buffer."""
    handlers = [
        h for h in logging.getLogger().handlers if any(isinstance(f, PersonalDataScrubFilter) for f in h.filters)
    ]
    assert handlers, "LOGGING must put the scrub filter on the console handler"
    buffer = io.StringIO()
    old = handlers[0].setStream(buffer)
    yield buffer
    handlers[0].setStream(old)


@override_settings(ROOT_URLCONF="tests.security.urls_errors")
def test_a_failing_view_shows_a_generic_page_with_the_request_id_that_the_log_carries(console_log):
    client = Client(raise_request_exception=False)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get("/test-errors/boom/")

    assert response.status_code == 500
    request_id = response["X-Request-ID"]
    page = response.content.decode()
    with translation.override("en"):
        assert "Something went wrong on our side." in page
    assert request_id in page
    for leak in ("RuntimeError", "Traceback", "001195012345", "failing_view", "lookup failed"):
        assert leak not in page
    lines = [json.loads(line) for line in console_log.getvalue().splitlines() if line.strip()]
    errors = [entry for entry in lines if entry["level"] == "ERROR"]
    assert errors, console_log.getvalue()
    entry = errors[-1]
    assert entry["request_id"] == request_id
    assert "RuntimeError" in entry["exception"] and "Traceback" in entry["exception"]
    for leak in ("001195012345", "nhung@example.vn", "0912345678", "12/03/1995"):
        assert leak not in console_log.getvalue()


@override_settings(ROOT_URLCONF="tests.security.urls_errors")
def test_api_errors_are_json_with_the_request_id():
    client = Client(raise_request_exception=False)
    response = client.get("/api/test-errors/boom/")
    assert response.status_code == 500
    body = response.json()
    assert body["request_id"] == response["X-Request-ID"]
    assert "api failure" not in response.content.decode()


def test_a_missing_page_is_generic_translated_and_carries_the_request_id(client):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="req-abcdef123456")
    assert response.status_code == 404
    assert response["X-Request-ID"] == "req-abcdef123456"
    page = response.content.decode()
    with translation.override("en"):
        assert "The page was not found." in page
    assert "req-abcdef123456" in page
    assert "Using the URLconf" not in page  # Django's technical 404


def test_a_request_id_from_the_client_that_is_not_a_plain_token_is_replaced(client):
    response = client.get("/no-such-page/", HTTP_X_REQUEST_ID="<script>alert(1)</script>")
    assert response["X-Request-ID"] != "<script>alert(1)</script>"
    assert "<script>alert(1)</script>" not in response.content.decode()


def test_a_csrf_failure_gets_the_generic_403_page(clerk_lan):
    client = Client(enforce_csrf_checks=True)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    response = client.post("/accounts/login/", {"login": "clerk", "password": "staff-password-2026"})
    assert response.status_code == 403
    with translation.override("en"):
        assert "The form has expired or was sent from another site." in response.content.decode()
    assert "CSRF verification failed" not in response.content.decode()


@pytest.mark.parametrize(
    ("text", "gone"),
    [
        ("citizen 001195012345 asked", "001195012345"),
        ("old card 123456789 shown", "123456789"),
        ("call 0912345678 now", "0912345678"),
        ("call 0912 345 678 now", "0912 345 678"),
        ("call +84 912345678 now", "+84 912345678"),
        ("mail nhung@example.vn", "nhung@example.vn"),
        ("born 12/03/1995", "12/03/1995"),
        ("born 1995-03-12 in Huế", "1995-03-12"),
        ("password=hunter2hunter2", "hunter2hunter2"),
        ('{"so_dinh_danh": "079088001234"}', "079088001234"),
        ("birthdate: 1988-01-02", "1988-01-02"),
    ],
)
def test_the_scrubber_removes_personal_data(text, gone):
    assert gone not in scrub(text)


def test_the_scrubber_keeps_event_timestamps_and_small_ids():
    text = "dossier 4521 event 17 at 2026-11-25T10:00:00+07:00 took 120 ms"
    assert scrub(text) == text


def test_the_scrubber_keeps_dossier_codes_readable():
    text = "outbox message 12 for G18.001.02-261126-180001 delivered"
    assert scrub(text) == text
    assert (
        scrub("G18.001.02-261126-180001 applicant phone 0912 345 678")
        == "G18.001.02-261126-180001 applicant phone [phone]"
    )


def test_every_record_is_scrubbed_even_with_arguments_and_tracebacks():
    record = logging.LogRecord(
        "x", logging.ERROR, __file__, 1, "user %s phone %s", ("001195012345", "0912345678"), None
    )
    try:
        raise ValueError("bad id 079088001234")
    except ValueError:
        import sys

        record.exc_info = sys.exc_info()
    PersonalDataScrubFilter().filter(record)
    RequestContextFilter().filter(record)
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert "001195012345" not in line and "0912345678" not in line and "079088001234" not in line
    assert entry["request_id"] == "-"
    assert "ValueError" in entry["exception"]


def test_celery_accepts_json_only():
    from portal.celery import app

    assert settings.CELERY_ACCEPT_CONTENT == ["json"]
    assert app.conf.accept_content == ["json"]
    assert app.conf.task_serializer == "json"
    assert app.conf.result_serializer == "json"


# Parameters a task may take besides ids: small enums and numbers, never personal data. Adding a name here is
# a reviewed decision (procedures.tasks_national: trigger, minutes; procedures.tasks: hours — look-back windows).
ALLOWED_TASK_PARAMETERS = {"self", "trigger", "hours", "minutes"}


def test_task_arguments_are_ids_only():
    """T22: tasks carry ids (task_id, dossier_id...), never personal data; a new task must follow."""
    from portal.celery import app

    app.loader.import_default_modules()
    ours = {name: task for name, task in app.tasks.items() if name.split(".")[0] in _project_packages()}
    assert len(ours) >= 10
    offenders = []
    for name, task in ours.items():
        for parameter in inspect.signature(task.run).parameters.values():
            if parameter.name.endswith("_id") or parameter.name in ALLOWED_TASK_PARAMETERS:
                continue
            offenders.append(f"{name}({parameter.name})")
    assert offenders == []


def _project_packages() -> set[str]:
    return {"portal", "procedures", "citizens", "integrations", "facilities", "quality", "privacy", "places"}
