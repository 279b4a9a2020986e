"""Counter intake in a real browser: the scanner types the card's QR text, the gateway confirms the person
(population-registry simulator over HTTP), the clerk fills the procedure's form, attaches a scan,
receives the dossier and downloads the printed receipt (form 01)."""

from __future__ import annotations

import re
import subprocess

import pytest
from playwright.sync_api import expect

from procedures.models import Dossier
from tests.conftest import MINIMAL_PDF
from tests.e2e.sign_in import staff_sign_in
from tests.procedures.test_counter import counter_setup, qr_text_for, rule_versions_ensure

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_counter_intake_from_the_card_qr_text_to_the_printed_receipt(
    page, live_server, population_registry_simulator, procedure, clerk_lan, tmp_path
):
    rule_versions_ensure()
    counter_setup(procedure)
    person = population_registry_simulator.living(41)

    # The clerk signs in and opens a new counter intake.
    staff_sign_in(page, live_server, "clerk")
    page.goto(f"{live_server.url}/workspace/counter/")
    page.locator("#new-intake").click()
    expect(page.locator("#identify-form")).to_be_visible()

    # She picks the procedure, then the barcode scanner types the QR text and its Enter into the field.
    page.locator("#id_procedure").select_option(str(procedure.pk))
    page.locator("#id_qr_text").click()
    page.keyboard.type(qr_text_for(person))
    page.keyboard.press("Enter")

    # The population database confirmed the person: name, date of birth and residence are shown.
    expect(page.locator("#identity-status")).to_have_attribute("data-status", "verified")
    expect(page.locator("#identity-name")).to_have_text(person.full_name)
    expect(page.locator("#identity-dob")).to_have_text(person.birth_date)
    expect(page.locator("#identity-residence")).to_have_text(person.residence)
    expect(page.locator("#id_full_name")).to_have_value(person.full_name)
    expect(page.locator("#id_address")).to_have_value(person.residence)

    # The procedure's own form and the scanned checklist item.
    page.locator("#id_phone").fill("0912 345 678")
    page.locator("#id_request_summary").fill("Đề nghị xét tặng giải thưởng Hải Thượng Lãn Ông")
    page.locator("#id_f_title").fill("Bài thuốc cổ truyền A")
    page.locator("#id_f_kind").select_option("ca_nhan")
    scan = tmp_path / "đơn đề nghị (bản quét).pdf"
    scan.write_bytes(MINIMAL_PDF)
    page.locator("#doc-1").set_input_files(str(scan))
    page.locator("#receive-button").click()

    # Received at once: the code and the receipt to print.
    expect(page.locator("#dossier-code")).to_have_text(re.compile(r"^G18\.001\.02-\d{6}-18\d{4}$"))
    code = page.locator("#dossier-code").inner_text()
    dossier = Dossier.objects.get(code=code)
    assert (dossier.channel, dossier.state, dossier.identity_status) == ("counter", "received", "verified")
    assert dossier.documents.get().source == "scanned"
    with page.expect_download() as download_info:
        page.locator("#receipt-download").click()
    path = tmp_path / "receipt.pdf"
    download_info.value.save_as(path)
    assert path.read_bytes().startswith(b"%PDF-")
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True).stdout.decode()
    assert code in text
    assert person.full_name in text
    printed = page.request.get(live_server.url + page.locator("#receipt-link").get_attribute("href"))
    assert printed.ok and printed.headers["content-type"] == "application/pdf"
    page.screenshot(path=str(tmp_path / "counter-receipt.png"), full_page=True)
