"""Counter intake pages: scan → check → form → receive → receipt; idempotent submission; access."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from django.urls import reverse

from portal.models import AuditRecord
from procedures.models import CounterIntake, Dossier, DossierDocument
from tests.conftest import PNG_BYTES, pdf_upload
from tests.procedures.test_counter import counter_setup, create_counter_dossier, qr_text_for

pytestmark = pytest.mark.django_db


def english(client) -> None:
    """Ask for English pages (the language cookie; the site default is Vietnamese)."""
    from django.conf import settings

    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"


def start(client) -> str:
    response = client.post(reverse("counter:new"))
    assert response.status_code == 302
    return response.url


def identify(client, url, procedure, **fields):
    return client.post(url, {"step": "identify", "procedure": procedure.pk, **fields})


def application(**overrides):
    data = {
        "step": "submit",
        "address": "Số 1 Phố Huế, Hà Nội",
        "phone": "0912 345 678",
        "request_summary": "Đề nghị xét tặng giải thưởng",
        "f_title": "Công trình nghiên cứu A",
        "f_kind": "tap_the",
        "f_members__0__member_name": "Lê Văn Bình",
        "doc-1": pdf_upload("don-de-nghi.pdf"),
    }
    data.update(overrides)
    return data


def test_a_clerk_receives_a_dossier_from_the_card_qr_to_the_receipt(
    client, clerk_lan, procedure, population_registry_simulator, tmp_path
):
    counter_setup(procedure)
    person = population_registry_simulator.living(31)
    client.force_login(clerk_lan)
    url = start(client)
    # the scanner types the QR text; the page shows what the population database answered
    response = identify(client, url, procedure, qr_text=qr_text_for(person) + "\r\n")
    assert response.status_code == 302
    page = client.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert person.full_name in html and person.residence in html
    assert 'data-status="verified"' in html
    intake = CounterIntake.objects.get()
    assert AuditRecord.objects.filter(
        action="personal_data.read", object_type="procedures.counterintake", object_id=str(intake.pk)
    ).exists()
    assert 'name="doc-1"' in html and 'accept=".pdf"' in html
    # the form of the procedure (its schema) and the scanned checklist item
    response = client.post(url, application(full_name="Tên giả mạo"))
    dossier = Dossier.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("counter:done", args=[dossier.pk])
    assert dossier.applicant_name == person.full_name  # read-only from the database, not the browser
    assert dossier.channel == "counter" and dossier.state == "received"
    assert dossier.form_data == {
        "title": "Công trình nghiên cứu A",
        "kind": "tap_the",
        "members": [{"member_name": "Lê Văn Bình"}],
    }
    assert dossier.applicant_phone == "0912345678"
    doc = DossierDocument.objects.get(dossier=dossier)
    assert (doc.source, doc.checklist_item, doc.digitised_by_id) == ("scanned", 1, clerk_lan.pk)
    done = client.get(response.url)
    assert dossier.code in done.content.decode()
    # the receipt (form 01), rendered on demand if the after-commit task has not run
    receipt = client.get(reverse("counter:receipt", args=[dossier.pk]) + "?download=1")
    assert receipt.status_code == 200
    assert receipt["Content-Type"] == "application/pdf"
    assert "attachment" in receipt["Content-Disposition"]
    path = tmp_path / "receipt.pdf"
    path.write_bytes(b"".join(receipt.streaming_content))
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True).stdout.decode()
    assert dossier.code in text and person.full_name in text
    purposes = [r.data.get("purpose") for r in AuditRecord.objects.filter(action="personal_data.read")]
    assert "counter: print receipt" in purposes
    assert dossier.code in client.get(reverse("counter:home")).content.decode()
    # the intake is finished: its page now leads to the dossier
    assert client.get(url).url == reverse("counter:done", args=[dossier.pk])
    assert shutil.which("pdftotext")


def test_submitting_the_form_twice_creates_one_dossier(client, clerk_lan, procedure, population_registry_simulator):
    counter_setup(procedure)
    person = population_registry_simulator.living(32)
    client.force_login(clerk_lan)
    url = start(client)
    identify(client, url, procedure, personal_id=person.personal_id)
    first = client.post(url, application(**{"doc-1": pdf_upload()}))
    second = client.post(url, application(**{"doc-1": pdf_upload()}))
    assert first.status_code == second.status_code == 302
    assert first.url == second.url
    assert Dossier.objects.count() == 1
    assert DossierDocument.objects.count() == 1


def test_bad_qr_text_is_shown_with_a_clear_error_and_nothing_is_checked(
    client, clerk_lan, procedure, population_registry_simulator
):
    client.force_login(clerk_lan)
    url = start(client)
    english(client)
    response = identify(client, url, procedure, qr_text="001095012345|123456789|Nguyễn Văn An")
    assert response.status_code == 400
    assert "The QR text has 3 fields" in response.content.decode()
    assert CounterIntake.objects.get().identity_status == ""
    assert population_registry_simulator.requests("XacMinhThongTinNhanThanRequest") == 0
    response = identify(client, url, procedure)
    assert "Scan the QR code of the ID card or type the personal ID number." in response.content.decode()


def test_an_unavailable_gateway_lets_the_clerk_continue_with_typed_data(
    client, clerk_lan, procedure, population_registry_simulator
):
    counter_setup(procedure)
    person = population_registry_simulator.living(33)
    client.force_login(clerk_lan)
    url = start(client)
    population_registry_simulator.faults(fail_next=1, status=503)
    identify(client, url, procedure, personal_id=person.personal_id)
    page = client.get(url).content.decode()
    assert 'data-status="unverified"' in page
    # unverified: name and date of birth are typed; the ID copy (replaceable by the database) is now required
    english(client)
    missing = client.post(url, application())
    assert missing.status_code == 400
    body = missing.content.decode()
    assert "Scan and attach: Bản sao căn cước." in body
    assert "This field is required." in body
    response = client.post(
        url,
        application(
            full_name="Nguyễn Văn Gõ Tay",
            birth_date="1990-05-01",
            **{"doc-2": pdf_upload("cccd.png", PNG_BYTES)},
        ),
    )
    assert response.status_code == 302
    dossier = Dossier.objects.get()
    assert (dossier.identity_status, dossier.applicant_name) == ("unverified", "Nguyễn Văn Gõ Tay")
    assert dossier.counter_intake.birth_date == "1990-05-01"
    assert sorted(dossier.documents.values_list("checklist_item", "content_type")) == [
        (1, "application/pdf"),
        (2, "image/png"),
    ]


def test_a_file_that_is_not_what_its_checklist_item_accepts_is_refused(
    client, clerk_lan, procedure, population_registry_simulator
):
    counter_setup(procedure)
    person = population_registry_simulator.living(34)
    client.force_login(clerk_lan)
    url = start(client)
    identify(client, url, procedure, personal_id=person.personal_id)
    english(client)
    response = client.post(url, application(**{"doc-1": pdf_upload("scan.png", PNG_BYTES)}))
    assert response.status_code == 400
    assert "not an accepted type (PDF)" in response.content.decode()
    assert Dossier.objects.count() == 0


def test_another_agency_cannot_open_the_intake_the_dossier_or_its_receipt(
    client,
    clerk_lan,
    clerk_other_agency,
    officer_minh,
    procedure,
    population_registry_simulator,
    django_capture_on_commit_callbacks,
):
    person = population_registry_simulator.living(35)
    with django_capture_on_commit_callbacks(execute=False):
        dossier, _ = create_counter_dossier(clerk_lan, procedure, personal_id=person.personal_id)
    intake = dossier.counter_intake
    client.force_login(clerk_other_agency)
    assert client.get(reverse("counter:intake", args=[intake.token])).status_code == 404
    assert client.get(reverse("counter:done", args=[dossier.pk])).status_code == 404
    assert client.get(reverse("counter:receipt", args=[dossier.pk])).status_code == 404
    # a processing officer of the same agency is not a reception clerk
    client.force_login(officer_minh)
    assert client.post(reverse("counter:new")).status_code == 403
    assert client.get(reverse("counter:home")).status_code == 403
    # an anonymous visitor is sent to sign in
    client.logout()
    assert client.get(reverse("counter:home")).status_code == 302
