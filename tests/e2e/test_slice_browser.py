"""The walking skeleton in a real browser: VNeID sign-in, apply, receive, national portal, status."""

from __future__ import annotations

import re
import shutil
import subprocess

import pytest
from playwright.sync_api import expect

from procedures.models import Dossier
from tests.conftest import MINIMAL_PDF
from tests.e2e.sign_in import staff_sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_citizen_applies_clerk_receives_portal_is_told_and_citizen_sees_it(
    page, browser, live_server, vneid_simulator, national_portal_simulator, procedure, clerk_lan, tmp_path
):
    # 2. The citizen signs in with VNeID (the simulator's consent page, a real OIDC code flow with PKCE).
    page.goto(f"{live_server.url}/")
    page.get_by_role("link", name="Đăng nhập").first.click()
    page.get_by_role("button", name="Đăng nhập bằng VNeID").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(vneid_simulator.url)}/authorize"))
    page.locator(".citizen", has_text="Nguyễn Thị Hồng Nhung").get_by_role("button").click()
    expect(page).to_have_url(re.compile(rf"^{re.escape(live_server.url)}/"))
    expect(page.get_by_text("Nguyễn Thị Hồng Nhung").first).to_be_visible()

    # 3. She opens the procedure, fills the short form, uploads one PDF and submits.
    page.goto(f"{live_server.url}/procedures/{procedure.pk}/")
    expect(page.locator("#applicant-name")).to_have_value("Nguyễn Thị Hồng Nhung")
    page.get_by_label("Địa chỉ thường trú").fill("Số 1 Phố Huế, Phường Hai Bà Trưng, Hà Nội")
    page.get_by_label("Số điện thoại").fill("0912 345 678")
    page.get_by_label("Nội dung yêu cầu giải quyết").fill("Đề nghị xét tặng giải thưởng Hải Thượng Lãn Ông")
    pdf = tmp_path / "đơn đề nghị.pdf"
    pdf.write_bytes(MINIMAL_PDF)
    page.get_by_label("Tệp đơn đề nghị (PDF)").set_input_files(str(pdf))
    page.get_by_role("button", name="Nộp hồ sơ").click()
    expect(page.locator("#dossier-status")).to_have_text("Đã nộp trực tuyến")
    reference = page.locator("#dossier-reference").inner_text()
    assert re.fullmatch(r"TN\d{6}-[A-Z2-9]{6}", reference)

    # 4. A reception clerk, in another browser session, sees it in the queue and receives it.
    clerk_context = browser.new_context(locale="vi-VN")
    clerk = clerk_context.new_page()
    staff_sign_in(clerk, live_server, "clerk")
    # The clerk lands on the workspace: the new online dossier is in the queue to receive.
    expect(clerk.locator("#queue-table tbody tr", has_text=reference)).to_be_visible()
    clerk.get_by_role("link", name=reference).click()
    clerk.locator("#action-receive").get_by_role("button", name="Tiếp nhận").click()
    expect(clerk.locator("#dossier-status")).to_have_text("Đã tiếp nhận")
    clerk_context.close()
    dossier = Dossier.objects.get(reference=reference)
    assert dossier.state == Dossier.State.RECEIVED

    # 5. The status change went through the outbox to the national portal, exactly once.
    synced = [
        record
        for request in national_portal_simulator.requests(service="DongBoHoSoMC")
        for record in request["body"]["data"]
        if record["MaHoSo"] == dossier.code
    ]
    assert len(synced) == 1
    assert str(synced[0]["TrangThaiHoSo"]) == "2"

    # 6. The citizen sees the new status, the official code, and downloads the receipt (form 01).
    page.reload()
    expect(page.locator("#dossier-status")).to_have_text("Đã tiếp nhận")
    expect(page.locator("#dossier-code")).to_have_text(dossier.code)
    receipt = page.request.get(live_server.url + page.locator("#receipt-link").get_attribute("href"))
    assert receipt.ok
    assert receipt.headers["content-type"] == "application/pdf"
    if shutil.which("pdftotext"):
        path = tmp_path / "receipt.pdf"
        path.write_bytes(receipt.body())
        text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True).stdout.decode()
        assert "Nguyễn Thị Hồng Nhung" in text
        assert dossier.code in text
    page.screenshot(path=str(tmp_path / "citizen-dossier.png"), full_page=True)
