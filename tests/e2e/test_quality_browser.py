"""The service-quality dashboard in Chromium: axe-core clean, and a drill-down list as long as its number."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import expect

from quality.facts import quality_refresh
from tests.quality.conftest import calendar_2026, dataset  # noqa: F401  (fixtures)

APPS = [app for app in settings.INSTALLED_APPS if app != "portal"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, available_apps=APPS)]

AXE = Path(__file__).resolve().parents[2] / "static" / "vendor" / "axe-core" / "axe.min.js"
SERIOUS = ("serious", "critical")


def serious_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [
        {"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:3]}
        for v in result["violations"]
        if v["impact"] in SERIOUS
    ]


@pytest.fixture
def leader_page(browser, live_server, leader_hai):
    # Signed in through Django's session (the sign-in form has its own browser test); English pages;
    # axe-core is injected as an inline script, which the portal's CSP forbids: bypassed in the test only.
    client = Client()
    client.force_login(leader_hai)
    context = browser.new_context(bypass_csp=True, viewport={"width": 1280, "height": 900})
    context.add_cookies(
        [
            {
                "name": settings.SESSION_COOKIE_NAME,
                "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                "url": live_server.url,
            },
            {"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url},
        ]
    )
    yield context.new_page()
    context.close()


def test_the_dashboard_is_accessible_and_a_number_lists_as_many_dossiers(leader_page, live_server, request):
    request.getfixturevalue("dataset")  # the hand-built dossiers of tests/quality
    quality_refresh()
    page = leader_page
    page.goto(f"{live_server.url}/quality/?start=2026-03-01&end=2026-03-31")
    expect(page.get_by_role("heading", name="Service quality (Decision 766/QĐ-TTg)")).to_be_visible()
    expect(page.locator("#score-total")).to_contain_text("/ 100")
    assert serious_violations(page) == []

    # The on-time numerator of the indicator table, then the dossiers received in March.
    on_time = page.locator("#indicator-on_time_rate a.num-link")
    expect(on_time).to_have_text("3")
    on_time.click()
    expect(page.locator("#drill-count")).to_have_text("3")
    expect(page.locator("#drill-rows tbody tr")).to_have_count(3)
    assert serious_violations(page) == []

    page.goto(f"{live_server.url}/quality/?start=2026-03-01&end=2026-03-31")
    received = page.locator("#count-received")
    number = int(received.inner_text())
    assert number == 4
    received.click()
    expect(page.locator("#drill-count")).to_have_text(str(number))
    expect(page.locator("#drill-rows tbody tr")).to_have_count(number)
