"""The catalogue in Chromium: search without diacritics by keyboard, the procedure page, axe-core, a phone."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from playwright.sync_api import expect

from procedures.models import Procedure

# The audit chain's head row (portal app) is made by a migration; leaving the portal app out of
# available_apps keeps the flush after these tests from deleting it for the tests that follow.
APPS = [app for app in settings.INSTALLED_APPS if app != "portal"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, available_apps=APPS)]

AXE = Path(__file__).resolve().parents[2] / "static" / "vendor" / "axe-core" / "axe.min.js"


def axe_violations(page) -> list[dict]:
    page.add_script_tag(path=str(AXE))
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "nodes": [n["target"] for n in v["nodes"]][:3]} for v in result["violations"]]


@pytest.fixture
def shipped_catalogue(db, procedure):
    call_command("load_catalogue")
    return Procedure.objects.count()


def english_context(browser, live_server, **viewport):
    # axe-core is injected as an inline script, which the portal's CSP rightly forbids: bypass it
    # in the test only. English pages, so the assertions do not depend on translations in progress.
    context = browser.new_context(bypass_csp=True, viewport=viewport or {"width": 1280, "height": 800})
    context.add_cookies([{"name": settings.LANGUAGE_COOKIE_NAME, "value": "en", "url": live_server.url}])
    return context


@pytest.fixture
def csp_free_page(browser, live_server):
    context = english_context(browser, live_server)
    yield context.new_page()
    context.close()


def test_a_citizen_finds_a_procedure_without_diacritics_and_reads_it(csp_free_page, live_server, shipped_catalogue):
    page = csp_free_page
    page.goto(f"{live_server.url}/procedures/")
    assert axe_violations(page) == []
    search = page.get_by_label("Search by name or code")
    search.focus()
    page.keyboard.type("dang ky luu hanh")
    page.keyboard.press("Enter")
    expect(page.locator("#result-count")).to_contain_text("6")
    rows = page.locator("table.catalogue-table tbody tr")
    expect(rows).to_have_count(6)
    expect(rows.first).to_contain_text("Đăng ký lưu hành")
    assert axe_violations(page) == []

    page.get_by_label("Search by name or code").fill("công bố đủ điều kiện sản xuất")
    page.get_by_role("button", name="Search", exact=True).click()
    page.get_by_role("link", name="Công bố đủ điều kiện sản xuất TBYT").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Công bố đủ điều kiện sản xuất TBYT")
    expect(page.get_by_role("heading", name="Fees and charges")).to_be_visible()
    expect(page.get_by_text("1,500,000 VND")).to_be_visible()
    expect(page.locator(".tag", has_text="illustrative").first).to_be_visible()
    expect(page.get_by_role("heading", name="Apply online")).to_be_visible()
    assert axe_violations(page) == []


def test_filters_and_pages_work_and_the_catalogue_reads_on_a_phone(browser, live_server, shipped_catalogue):
    context = english_context(browser, live_server, width=375, height=740)
    page = context.new_page()
    try:
        page.goto(f"{live_server.url}/procedures/")
        page.get_by_label("Sector").select_option("Thiết bị y tế")
        page.get_by_role("button", name="Search", exact=True).click()
        expect(page.locator("#result-count")).to_contain_text("14")
        page.goto(f"{live_server.url}/procedures/")
        expect(page.locator("nav.pagination")).to_be_visible()
        page.get_by_role("link", name="Next").click()
        expect(page.locator("nav.pagination [aria-current=page]")).to_contain_text("2")
        overflow = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"page scrolls sideways by {overflow}px on a phone"
        violations = axe_violations(page)
        assert violations == [], json.dumps(violations, ensure_ascii=False)
    finally:
        context.close()
