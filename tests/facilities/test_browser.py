"""In Chromium: a facility issues birth certificates for twins and a death notice; the mother signs
in with VNeID, sees their status and verifies one on the public QR page."""

from __future__ import annotations

import re

import pytest
from django.conf import settings
from playwright.sync_api import expect

from facilities.delivery import interlinking_poll
from facilities.models import HealthDocument
from tests.e2e.sign_in import staff_sign_in
from tests.facilities.conftest import birth_data, death_data, pdf_text

APPS = [app for app in settings.INSTALLED_APPS if app != "portal"]
pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True, available_apps=APPS)]


def fill(page, values: dict, *, prefix: str = "") -> None:
    for name, value in values.items():
        field = page.locator(f'[name="{prefix}{name}"]')
        tag = field.evaluate("e => e.tagName")
        if tag == "SELECT":
            field.select_option(str(value))
        elif field.get_attribute("type") == "checkbox":
            field.set_checked(bool(value))
        else:
            field.fill(str(value))


def test_twins_and_a_death_notice_are_issued_and_the_mother_follows_and_verifies_them(
    page, browser, live_server, vneid_simulator, interlinking_simulator, facility, head_user, tmp_path
):
    # 1. The facility's head signs in with a local account and opens the birth-certificate form.
    staff_sign_in(page, live_server, "facility", password="demo-password-2026", next_url="/facilities/")
    expect(page.locator("#facility-name")).to_contain_text("99001")
    page.locator("#issue-birth-link").click()

    # 2. Twins: the shared part once, one block per child.
    fill(page, birth_data(children_count=2, father_name="Trần Văn Nam"))
    fill(
        page,
        {"child_sex": "1", "child_weight_g": 2700, "birth_at": "2026-11-20T08:15", "child_condition": "Khỏe mạnh"},
        prefix="child1-",
    )
    fill(
        page,
        {"child_sex": "2", "child_weight_g": 2550, "birth_at": "2026-11-20T08:21", "child_condition": "Khỏe mạnh"},
        prefix="child2-",
    )
    page.locator("#issue-submit").click()
    expect(page.locator("#document-number")).to_have_text("00001.GCS.99001.26")
    expect(page.locator("#siblings")).to_contain_text("00002.GCS.99001.26")
    # Delivered at once through the outbox (tasks run inline in tests) to the interlinking simulator.
    expect(page.locator("#document-status")).to_have_class(re.compile("status-sent"))

    # 3. A death notice (the mother is the declaring relative).
    page.locator("#issue-death-link").click()
    fill(page, death_data())
    page.locator("#issue-submit").click()
    expect(page.locator("#document-number")).to_have_text("00001.GBT.99001.26")
    pdf = page.request.get(live_server.url + page.locator("#pdf-link").get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(pdf.body(), tmp_path)
    assert "GIẤY BÁO TỬ" in text and "00001.GBT.99001.26" in text

    received = {d["number"] for d in interlinking_simulator.documents()}
    assert received == {"00001.GCS.99001.26", "00002.GCS.99001.26", "00001.GBT.99001.26"}
    # The receiving agency acknowledges (the beat's poll), and the registration uses one twin's certificate.
    assert interlinking_poll() == 3
    interlinking_simulator.use("00001.GCS.99001.26", "KS-2026-000777")
    assert interlinking_poll() == 1

    # 4. The mother signs in with VNeID and sees the three documents with their status.
    mother = browser.new_context(locale="vi-VN")
    citizen = mother.new_page()
    citizen.goto(f"{live_server.url}/accounts/login/")
    citizen.get_by_role("button", name="Đăng nhập bằng VNeID").click()
    citizen.locator(".citizen", has_text="Nguyễn Thị Hồng Nhung").get_by_role("button").click()
    expect(citizen).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/"))
    citizen.goto(f"{live_server.url}/facilities/me/")
    rows = citizen.locator("#my-facility-documents tbody tr")
    expect(rows).to_have_count(3)
    expect(citizen.locator('tr[data-number="00001.GCS.99001.26"] .status')).to_have_class(re.compile("status-used"))
    expect(citizen.locator('tr[data-number="00002.GCS.99001.26"] .status')).to_have_class(
        re.compile("status-acknowledged")
    )
    expect(citizen.locator('tr[data-number="00001.GBT.99001.26"] .status')).to_have_class(
        re.compile("status-acknowledged")
    )

    # 5. She verifies the second twin's certificate on the QR page: number, facility, valid signature.
    citizen.locator('tr[data-number="00002.GCS.99001.26"] .verify-link').click()
    expect(citizen.locator("#v-number")).to_have_text("00002.GCS.99001.26")
    expect(citizen.locator("#v-facility")).to_contain_text("Bệnh viện Phụ sản Minh họa")
    expect(citizen.locator("#v-signature")).to_have_text(re.compile("Valid signature|Chữ ký số hợp lệ"))
    assert "Nguyễn Thị Hồng Nhung" not in citizen.locator("#verification").inner_text()
    # The QR code printed on the PDF points at the same page.
    twin = HealthDocument.objects.get(number="00002.GCS.99001.26")
    assert twin.verify_token in citizen.url
    citizen.screenshot(path=str(tmp_path / "verify.png"), full_page=True)
    mother.close()
