"""A lost database is a 503 with a retry time and the request id, never a traceback (security.md T36, T37).

The crash itself (kill -9 of the postmaster under load) is the soak run tests/soak/test_postgres_crash.py.
"""

from __future__ import annotations

from django.conf import settings
from django.test import Client, override_settings
from django.utils import translation


@override_settings(ROOT_URLCONF="tests.portal.urls_database_down")
def test_a_page_that_loses_the_database_answers_503_with_a_retry_time_and_the_request_id():
    client = Client(raise_request_exception=False)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"

    response = client.get("/test-db/down/", HTTP_X_REQUEST_ID="req-db-down-0001")

    assert response.status_code == 503
    assert response["Retry-After"] == "30"
    assert response["X-Request-ID"] == "req-db-down-0001"
    page = response.content.decode()
    with translation.override("en"):
        assert "The service is temporarily unavailable. Please try again shortly." in page
    assert "req-db-down-0001" in page
    for leak in ("OperationalError", "Traceback", "5432", "Connection refused"):
        assert leak not in page


@override_settings(ROOT_URLCONF="tests.portal.urls_database_down")
def test_an_api_call_that_loses_its_connection_answers_503_json_with_the_request_id():
    client = Client(raise_request_exception=False)

    response = client.get("/api/test-db/closed/")

    assert response.status_code == 503
    body = response.json()
    assert body["request_id"] == response["X-Request-ID"]
    assert "closed" not in response.content.decode()


@override_settings(ROOT_URLCONF="tests.portal.urls_database_down")
def test_a_bug_is_still_a_500():
    client = Client(raise_request_exception=False)

    response = client.get("/test-db/bug/")

    assert response.status_code == 500
    assert "Retry-After" not in response
