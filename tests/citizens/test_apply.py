"""The step-by-step application through the real views: consent and prefill through the gateway, drafts,
uploads with per-file errors, contact codes, idempotent submission."""

from __future__ import annotations

import logging
import re
import threading

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.urls import reverse

from citizens.models import Consent, Draft, IdentityPrefill
from integrations.gateway_models import GatewayMessage
from procedures.models import Dossier, DossierDocument
from tests.conftest import MINIMAL_PDF, PNG_BYTES, pdf_upload

pytestmark = pytest.mark.django_db


@pytest.fixture
def client(client):
    """The applicant's browser in English (the catalogue merge by the lead brings the Vietnamese)."""
    client.cookies["portal_language"] = "en"
    return client


def step(draft, name):
    return reverse("citizens:draft-step", args=[draft.token, name])


def start_draft(client, procedure) -> Draft:
    response = client.post(reverse("citizens:apply", args=[procedure.pk]))
    assert response.status_code == 302
    return Draft.objects.get(token=response["Location"].split("/")[3])


def confirm_contact(client, user, draft, channel, caplog=None):
    client.post(reverse("citizens:contact-code", args=[draft.token]), {"channel": channel})
    if channel == "email":
        code = re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)
    else:
        sent = [r.getMessage() for r in caplog.records if r.name in ("procedures.sms", "citizens.applicant")]
        code = re.search(r"\b(\d{6})\b", sent[-1]).group(1)
    response = client.post(reverse("citizens:contact-code", args=[draft.token]), {"channel": channel, "code": code})
    assert response.status_code == 302


def fill_until_review(client, draft, *, on_behalf=False, caplog=None, user=None, upload_id=True):
    data = {"address": "Số 1 Phố Huế, Hà Nội", "phone": "0912 345 678", "email": "Nhung@Example.vn"}
    if on_behalf:
        data |= {
            "on_behalf": "on",
            "principal_name": "Trần Văn Ba",
            "principal_id_number": "001060001234",
            "principal_address": "Số 2 Hàng Bài, Hà Nội",
        }
    assert client.post(step(draft, "applicant"), data).status_code == 302
    confirm_contact(client, user, draft, "email")
    confirm_contact(client, user, draft, "phone", caplog)
    response = client.post(step(draft, "form"), {"request_summary": "Đề nghị xét tặng", "f_title": "Thầy thuốc"})
    assert response.status_code == 302
    files = {"item": "1", "files-1": pdf_upload("don.pdf")}
    assert client.post(step(draft, "documents"), files).status_code == 302
    if upload_id:
        png = SimpleUploadedFile("cccd.png", PNG_BYTES, content_type="image/png")
        assert client.post(step(draft, "documents"), {"item": "2", "files-2": png}).status_code == 302
    if on_behalf:
        assert (
            client.post(step(draft, "documents"), {"item": "0", "files-0": pdf_upload("uy-quyen.pdf")}).status_code
            == 302
        )


@pytest.fixture
def sms_log(caplog):
    caplog.set_level(logging.INFO, logger="procedures.sms")  # the console SMS backend of development and tests
    return caplog


def test_consent_screen_says_what_why_and_which_law_then_prefills_from_the_population_database(
    client, population_citizen
):
    client.force_login(population_citizen)
    page = client.get(reverse("citizens:identity")).content.decode()
    assert "91/2025/QH15" in page
    assert "national population database" in page
    assert "To verify your identity and prefill your online applications" in page
    response = client.post(reverse("citizens:identity"), {"action": "consent"})
    assert response.status_code == 302
    consent = Consent.objects.get(user=population_citizen)
    assert "91/2025/QH15" in consent.text and consent.text_version
    prefill = IdentityPrefill.objects.get(user=population_citizen)
    assert prefill.status == IdentityPrefill.Status.VERIFIED
    # The gateway was called with the consent reference and a purpose; its log holds no personal data.
    message = GatewayMessage.objects.get(request_id=prefill.request_id)
    assert message.consent_reference == consent.reference
    assert message.purpose
    record = population_citizen.population_record
    page = client.get(reverse("citizens:identity")).content.decode()
    assert record.residence in page
    assert 'data-source="population_db"' in page
    # Prefilled fields are read-only.
    assert re.search(r'id="applicant-residence"[^>]*readonly', page)


def test_gateway_unavailable_the_applicant_goes_on_and_the_dossier_is_marked_unverified(
    client, population_citizen, population_registry_simulator, procedure_with_checklist, sms_log, settings
):
    settings.GATEWAY_CACHE_SECONDS = 0
    population_registry_simulator.faults(fail_next=5, status=503)
    client.force_login(population_citizen)
    client.post(reverse("citizens:identity"), {"action": "consent"})
    prefill = IdentityPrefill.objects.get(user=population_citizen)
    assert prefill.status == IdentityPrefill.Status.UNVERIFIED
    draft = start_draft(client, procedure_with_checklist)
    page = client.get(step(draft, "documents")).content.decode()
    assert 'data-held="1"' not in page  # unverified data does not replace the ID copy
    fill_until_review(client, draft, caplog=sms_log, user=population_citizen)
    response = client.post(reverse("citizens:draft-submit", args=[draft.token]))
    dossier = Dossier.objects.get()
    assert response.status_code == 302
    assert dossier.identity_status == Dossier.IdentityStatus.UNVERIFIED
    assert dossier.form_data["sources"]["full_name"]["source"] == "vneid"


def test_whole_application_with_held_data_fee_due_and_one_dossier_however_often_submitted(
    client, population_citizen, procedure_with_checklist, sms_log
):
    client.force_login(population_citizen)
    client.post(reverse("citizens:identity"), {"action": "consent"})
    draft = start_draft(client, procedure_with_checklist)
    # The verified population data replaces the ID copy (checklist item 2).
    assert 'data-held="1"' in client.get(step(draft, "documents")).content.decode()
    fill_until_review(client, draft, caplog=sms_log, user=population_citizen, upload_id=False)
    review = client.get(step(draft, "review")).content.decode()
    assert 'id="submit-dossier"' in review, review
    responses = [client.post(reverse("citizens:draft-submit", args=[draft.token])) for _ in range(3)]
    assert Dossier.objects.count() == 1
    dossier = Dossier.objects.get()
    assert {r["Location"] for r in responses} == {reverse("citizens:dossier", args=[dossier.reference])}
    assert dossier.state == Dossier.State.FEE_DUE and dossier.national_status == 6
    assert dossier.identity_status == Dossier.IdentityStatus.VERIFIED
    assert dossier.applicant_address == population_citizen.population_record.residence
    assert dossier.applicant_email == "nhung@example.vn"
    assert dossier.form_data["answers"] == {"title": "Thầy thuốc"}
    assert dossier.form_data["reused_checklist_items"] == [2]
    assert list(dossier.documents.values_list("checklist_item", flat=True)) == [1]
    page = client.get(reverse("citizens:dossier", args=[dossier.reference])).content.decode()
    assert ('id="pay-online"' in page and "150.000" in page) or "150,000" in page


@pytest.mark.django_db(transaction=True)
def test_concurrent_submissions_of_one_draft_create_one_dossier(population_citizen, procedure_with_checklist, sms_log):
    from django.test import Client

    client = Client()
    client.force_login(population_citizen)
    client.post(reverse("citizens:identity"), {"action": "consent"})
    draft = start_draft(client, procedure_with_checklist)
    fill_until_review(client, draft, caplog=sms_log, user=population_citizen, upload_id=False)
    results = []

    def submit():
        c = Client()
        c.force_login(population_citizen)
        results.append(c.post(reverse("citizens:draft-submit", args=[draft.token])).status_code)
        connection.close()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [302] * 4
    assert Dossier.objects.count() == 1


def test_draft_is_saved_and_resumed_from_my_dossiers(client, citizen_nhung, procedure_with_checklist):
    client.force_login(citizen_nhung)
    draft = start_draft(client, procedure_with_checklist)
    client.post(step(draft, "applicant"), {"address": "Số 1 Phố Huế, Hà Nội", "phone": "0912345678", "save": "draft"})
    assert start_draft(client, procedure_with_checklist) == draft  # applying again resumes the draft
    page = client.get(reverse("citizens:my-dossiers")).content.decode()
    assert step(draft, "applicant") in page
    page = client.get(step(draft, "applicant")).content.decode()
    assert 'value="Số 1 Phố Huế, Hà Nội"' in page and 'value="0912345678"' in page


def test_each_rejected_file_gets_its_own_clear_error(client, citizen_nhung, procedure_with_checklist, settings):
    client.force_login(citizen_nhung)
    draft = start_draft(client, procedure_with_checklist)
    settings.APPLY_MAX_FILES_PER_ITEM = 2
    files = [
        SimpleUploadedFile("anh.png", PNG_BYTES, content_type="image/png"),  # item 1 accepts PDF only
        SimpleUploadedFile("gia.pdf", b"not a pdf at all", content_type="application/pdf"),
        pdf_upload("dung.pdf"),
        pdf_upload("thu-hai.pdf"),
        pdf_upload("qua-nhieu.pdf"),
    ]
    response = client.post(step(draft, "documents"), {"item": "1", "files-1": files})
    assert response.status_code == 400
    body = response.content.decode()
    assert list(draft.documents.values_list("original_name", flat=True)) == ["dung.pdf", "thu-hai.pdf"]
    for name in ("anh.png", "gia.pdf", "qua-nhieu.pdf"):
        assert f"<strong>{name}</strong>" in body
    assert "At most 2 files" in body


def test_oversize_file_is_refused_with_the_items_limit(client, citizen_nhung, procedure_with_checklist):
    client.force_login(citizen_nhung)
    item = procedure_with_checklist.documents.get(order=1)
    item.max_size_mb = 1
    item.save()
    draft = start_draft(client, procedure_with_checklist)
    big = SimpleUploadedFile("to.pdf", MINIMAL_PDF + b"0" * (1024 * 1024 + 1), content_type="application/pdf")
    response = client.post(step(draft, "documents"), {"item": "1", "files-1": big})
    assert response.status_code == 400
    assert "1 MB" in response.content.decode()
    assert not draft.documents.exists()


def test_wrong_contact_code_is_refused_and_counts(client, citizen_nhung, procedure_with_checklist):
    client.force_login(citizen_nhung)
    draft = start_draft(client, procedure_with_checklist)
    client.post(
        step(draft, "applicant"), {"address": "Số 1 Phố Huế, Hà Nội", "phone": "0912345678", "email": "a@example.vn"}
    )
    client.post(reverse("citizens:contact-code", args=[draft.token]), {"channel": "email"})
    assert len(mail.outbox) == 1
    code = re.search(r"\b(\d{6})\b", mail.outbox[0].body).group(1)
    wrong = "000000" if code != "000000" else "111111"
    response = client.post(
        reverse("citizens:contact-code", args=[draft.token]), {"channel": "email", "code": wrong}, follow=True
    )
    assert "The code is not right" in response.content.decode()
    assert draft.user.contact_verifications.get().attempts == 1
    review = client.get(step(draft, "review")).content.decode()
    assert "Confirm your email address with the code we send." in review


def test_representative_applies_for_a_principal_with_a_power_of_attorney(
    client, population_citizen, procedure_with_checklist, sms_log
):
    client.force_login(population_citizen)
    client.post(reverse("citizens:identity"), {"action": "consent"})
    draft = start_draft(client, procedure_with_checklist)
    fill_until_review(client, draft, caplog=sms_log, user=population_citizen, on_behalf=True, upload_id=False)
    client.post(reverse("citizens:draft-submit", args=[draft.token]))
    dossier = Dossier.objects.get()
    assert dossier.principal_name == "Trần Văn Ba"
    assert dossier.principal_id == "001060001234"
    assert dossier.authorisation_document == "uy-quyen.pdf"
    assert DossierDocument.objects.filter(dossier=dossier, checklist_item=0).count() == 1
    page = client.get(reverse("citizens:dossier", args=[dossier.reference])).content.decode()
    assert "Trần Văn Ba" in page


def test_representative_without_power_of_attorney_cannot_submit(client, citizen_nhung, procedure_with_checklist):
    client.force_login(citizen_nhung)
    draft = start_draft(client, procedure_with_checklist)
    response = client.post(
        step(draft, "applicant"),
        {
            "address": "Số 1 Phố Huế, Hà Nội",
            "phone": "0912345678",
            "on_behalf": "on",
            "principal_name": "B",
            "principal_id_number": "12",
        },
    )
    assert response.status_code == 400
    assert "Enter a 12-digit personal ID number or a 10-digit (or 13-character) tax code." in response.content.decode()
    client.post(reverse("citizens:draft-submit", args=[draft.token]))
    assert not Dossier.objects.exists()


def test_organisation_applies_with_its_tax_code_and_legal_representative(
    client, organisation_minh_an, procedure_with_checklist, sms_log
):
    client.force_login(organisation_minh_an)
    draft = start_draft(client, procedure_with_checklist)
    fill_until_review(client, draft, caplog=sms_log, user=organisation_minh_an)
    client.post(reverse("citizens:draft-submit", args=[draft.token]))
    dossier = Dossier.objects.get()
    assert dossier.applicant_kind == Dossier.ApplicantKind.ORGANISATION
    assert dossier.organisation_tax_code == "0109998877"
    assert dossier.applicant_name == "Công ty TNHH Thiết bị Y tế Minh An (demo)"
    assert dossier.form_data["legal_representative"] == "Đỗ Mạnh Hùng"
    assert dossier.identity_status == Dossier.IdentityStatus.UNVERIFIED  # no consent given: to be verified


def test_staff_and_anonymous_cannot_apply(client, clerk_lan, procedure_with_checklist):
    url = reverse("citizens:apply", args=[procedure_with_checklist.pk])
    assert client.post(url).status_code == 302  # to sign-in
    client.force_login(clerk_lan)
    assert client.post(url).status_code == 404
    assert not Draft.objects.exists()


def test_unverified_online_dossier_is_verified_again_when_the_gateway_is_back(
    client, population_citizen, population_registry_simulator, procedure_with_checklist, sms_log, settings
):
    from citizens.tasks import online_identity_reverify
    from portal.models import AuditRecord

    settings.GATEWAY_CACHE_SECONDS = 0
    population_registry_simulator.faults(fail_next=100, status=503)
    client.force_login(population_citizen)
    client.post(reverse("citizens:identity"), {"action": "consent"})
    draft = start_draft(client, procedure_with_checklist)
    fill_until_review(client, draft, caplog=sms_log, user=population_citizen)
    client.post(reverse("citizens:draft-submit", args=[draft.token]))
    assert online_identity_reverify() == {"verified": 0, "mismatch": 0, "unavailable": 1}  # still down
    population_registry_simulator.reset()
    from integrations.gateway import gateway_reset

    gateway_reset()
    assert online_identity_reverify() == {"verified": 1, "mismatch": 0, "unavailable": 0}
    dossier = Dossier.objects.get()
    assert dossier.identity_status == Dossier.IdentityStatus.VERIFIED and dossier.identity_checked_at
    assert AuditRecord.objects.filter(action="citizens.identity_reverified").count() == 1
    assert online_identity_reverify() == {"verified": 0, "mismatch": 0, "unavailable": 0}  # nothing left


def _issued_result(user, procedure, *, content=MINIMAL_PDF):
    """A returned dossier of USER with its signed result kept by the portal (the applicant's data store)."""
    import hashlib

    from django.core.files.base import ContentFile

    from procedures.models import OfficialDocument

    dossier = Dossier.objects.create(
        procedure=procedure,
        agency=procedure.agency,
        reference="TN260101-RESULT",
        code="G18.001.02-260101-0001",
        applicant=user,
        applicant_name="Nguyễn Thị Hồng Nhung",
        state=Dossier.State.RETURNED,
    )
    official = OfficialDocument(
        dossier=dossier,
        kind=OfficialDocument.Kind.RESULT,
        number="15/QĐ-YDCT",
        template_version="illustrative",
        sha256=hashlib.sha256(content).hexdigest(),
    )
    official.file.save("ket-qua.pdf", ContentFile(content), save=True)
    return official


@pytest.fixture
def store_item(procedure_with_checklist):
    """Checklist item 3: a document that a result already issued to the applicant can replace."""
    from procedures.models import ProcedureDocument

    return ProcedureDocument.objects.create(
        procedure=procedure_with_checklist,
        order=3,
        name="Quyết định công nhận trước đây",
        accepted_types="pdf",
        replaced_by=ProcedureDocument.ReplacedBy.CITIZEN_STORE,
    )


def test_a_result_already_issued_to_the_applicant_replaces_a_document_and_is_counted_as_reused(
    client, citizen_nhung, procedure_with_checklist, store_item, sms_log
):
    from portal.models import AuditRecord

    mine = _issued_result(citizen_nhung, procedure_with_checklist)
    client.force_login(citizen_nhung)
    draft = start_draft(client, procedure_with_checklist)
    page = client.get(step(draft, "documents")).content.decode()
    assert 'id="reuse-3"' in page and "15/QĐ-YDCT" in page
    # An item that does not accept a held result, or an unknown result: 404, nothing stored.
    assert client.post(step(draft, "documents"), {"item": "1", "reuse": str(mine.pk)}).status_code == 404
    assert client.post(step(draft, "documents"), {"item": "3", "reuse": str(mine.pk + 999)}).status_code == 404
    assert not draft.documents.exists()

    assert client.post(step(draft, "documents"), {"item": "3", "reuse": str(mine.pk)}).status_code == 302
    held = draft.documents.get(checklist_item=3)
    assert held.reused_from == mine and held.sha256 == mine.sha256
    assert AuditRecord.objects.filter(action="citizens.result_reused").count() == 1
    assert "reused from your results" in client.get(step(draft, "documents")).content.decode()

    fill_until_review(client, draft, caplog=sms_log, user=citizen_nhung)
    assert client.post(reverse("citizens:draft-submit", args=[draft.token])).status_code == 302
    dossier = Dossier.objects.exclude(pk=mine.dossier_id).get()
    reused = dossier.documents.get(checklist_item=3)
    assert reused.source == DossierDocument.Source.REUSED and reused.sha256 == mine.sha256
    assert dossier.documents.get(checklist_item=1).source == DossierDocument.Source.UPLOAD
    assert 3 in dossier.form_data["reused_checklist_items"]


def test_a_result_of_another_applicant_or_a_tampered_copy_cannot_be_reused(
    client, citizen_nhung, citizen_outsider, procedure_with_checklist, store_item
):
    theirs = _issued_result(citizen_outsider, procedure_with_checklist)
    client.force_login(citizen_nhung)
    draft = start_draft(client, procedure_with_checklist)
    assert "15/QĐ-YDCT" not in client.get(step(draft, "documents")).content.decode()
    assert client.post(step(draft, "documents"), {"item": "3", "reuse": str(theirs.pk)}).status_code == 404
    # The applicant's own result whose stored copy no longer matches its checksum is refused with a reason.
    Dossier.objects.filter(pk=theirs.dossier_id).update(applicant=citizen_nhung)
    type(theirs).objects.filter(pk=theirs.pk).update(sha256="0" * 64)
    answer = client.post(step(draft, "documents"), {"item": "3", "reuse": str(theirs.pk)}, follow=True)
    assert "does not match the one issued" in answer.content.decode()
    assert not draft.documents.exists()
