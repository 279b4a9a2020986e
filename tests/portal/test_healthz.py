from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_healthz_reports_database_and_broker(client):
    response = client.get("/healthz")
    body = response.json()
    assert response.status_code == 200
    assert body["checks"]["database"]["status"] == "ok"
    assert body["checks"]["broker"]["status"] in {"ok", "error"}
    assert "simulators" not in body["checks"]  # switched off in test settings


def test_healthz_reports_simulators_when_asked(client, settings):
    settings.HEALTHZ_CHECK_SIMULATORS = True
    settings.SIMULATORS = {"nowhere": "http://127.0.0.1:9"}
    body = client.get("/healthz").json()
    assert body["checks"]["simulators"]["nowhere"]["status"] == "error"


def test_pages_are_vietnamese_by_default_and_english_on_request(client):
    assert "Trang chủ" in client.get("/").content.decode()
    client.cookies["portal_language"] = "en"
    assert "Home" in client.get("/").content.decode()


def test_the_language_switcher_sets_the_cookie(client):
    response = client.post("/i18n/setlang/", {"language": "en", "next": "/"})
    assert response.status_code == 302
    assert response.cookies["portal_language"].value == "en"
