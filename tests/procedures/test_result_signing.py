"""The result: rendered after the records clerk numbers it, signed PAdES with the agency's key, verifiable."""

from __future__ import annotations

import hashlib

import pytest
from django.urls import reverse
from django.utils import timezone

from portal.signing import demo_signing_key_create, get_signer, verify_pdf
from procedures.documents import dossier_result_get_or_render, official_documents_for_event
from procedures.lifecycle import dossier_transition
from procedures.models import Dossier, DossierEvent, OfficialDocument, ProcedureStage
from tests.procedures.test_slips import NATIONAL_ID, assert_only_liberation_serif, pdf_text

K = OfficialDocument.Kind


def act(dossier, action, actor, **kw):
    return dossier_transition(dossier_id=dossier.pk, action=action, actor=actor, **kw)


@pytest.fixture(scope="module")
def agency_key(tmp_path_factory):
    path = tmp_path_factory.mktemp("keys") / "agency.p12"
    demo_signing_key_create(
        path=path,
        common_name="Cục Quản lý Y, Dược cổ truyền (kiểm thử)",
        organisation="Bộ Y tế",
        passphrase="khóa-bí-mật",
    )
    return path


@pytest.fixture
def signing_key(agency_key, settings):
    settings.DOCUMENT_SIGNING_BACKEND = "portal.signing.Pkcs12Signer"
    settings.DOCUMENT_SIGNING_PKCS12_PATH = str(agency_key)
    settings.DOCUMENT_SIGNING_PKCS12_PASSPHRASE = "khóa-bí-mật"
    get_signer.cache_clear()
    yield get_signer()
    get_signer.cache_clear()


@pytest.fixture
def no_signing_key(settings, tmp_path):
    settings.DOCUMENT_SIGNING_BACKEND = "portal.signing.Pkcs12Signer"
    settings.DOCUMENT_SIGNING_PKCS12_PATH = str(tmp_path / "missing.p12")
    get_signer.cache_clear()
    yield
    get_signer.cache_clear()


@pytest.fixture
def licence_procedure(procedure):
    procedure.result_kind = "certificate"
    procedure.result_name = "Bằng chứng nhận Giải thưởng Hải Thượng Lãn Ông"
    procedure.save()
    for order, (name, role, budget) in enumerate(
        [
            ("Tiếp nhận, kiểm tra", ProcedureStage.Role.RECEPTION, 1),
            ("Thẩm định", ProcedureStage.Role.SPECIALIST, 140),
            ("Lãnh đạo phê duyệt", ProcedureStage.Role.LEADER_APPROVAL, 4),
            ("Ký duyệt", ProcedureStage.Role.SIGNING, 2),
            ("Văn thư vào số", ProcedureStage.Role.RECORDS, 1),
        ],
        start=1,
    ):
        procedure.stages.create(order=order, name=name, role=role, budget=budget)
    return procedure


@pytest.fixture
def to_signature(
    licence_procedure, submitted_dossier, clerk_lan, leader_hai, officer_minh, django_capture_on_commit_callbacks
):
    """Drive a dossier to 'awaiting issue' (signed by the signing authority); returns a function for the decision."""

    def run(*, decision: str, signer, reason: str = ""):
        with django_capture_on_commit_callbacks(execute=False):
            d = act(submitted_dossier, "receive", clerk_lan)
            d = act(d, "assign", leader_hai, officer=officer_minh.pk)
            d = act(d, "forward_for_approval", officer_minh)
            d = act(d, decision, leader_hai, reason=reason)
            return act(d, "sign", signer)

    return run


def issue(dossier, records, capture):
    with capture(execute=True):
        return act(dossier, "issue", records)


@pytest.mark.django_db
def test_an_approved_result_is_rendered_numbered_signed_and_stored_after_issue(
    to_signature, signer_tuan, records_thu, signing_key, django_capture_on_commit_callbacks, tmp_path
):
    d = to_signature(decision="approve", signer=signer_tuan)
    d = issue(d, records_thu, django_capture_on_commit_callbacks)
    d.refresh_from_db()
    assert d.state == Dossier.State.RESULT_READY  # the follow-up never touches the state
    document = OfficialDocument.objects.get(dossier=d, kind=K.RESULT)
    assert document.number == d.result_number and d.result_number
    assert d.result_file.name == document.file.name
    signed = d.result_file.read()
    assert hashlib.sha256(signed).hexdigest() == d.result_sha256 == document.sha256

    result = verify_pdf(signed, trusted_certificates_pem=[signing_key.certificate_pem()])
    assert result.ok, result
    assert "Cục Quản lý Y, Dược cổ truyền" in result.signer

    text = pdf_text(signed, tmp_path)
    assert "Bằng chứng nhận Giải thưởng Hải Thượng Lãn Ông".upper() in text.upper()  # the title, in capitals
    for value in (
        d.result_number,
        d.code,
        "Nguyễn Thị Hồng Nhung",
        NATIONAL_ID,
        "Xét tặng giải thưởng Hải Thượng Lãn Ông",
        "Đỗ Anh Tuấn",  # the signing authority
        timezone.localtime(d.result_issued_at).strftime("%d"),
    ):
        assert value in text, value
    assert_only_liberation_serif(signed, tmp_path)


@pytest.mark.django_db
def test_a_modified_result_does_not_verify(
    to_signature, signer_tuan, records_thu, signing_key, django_capture_on_commit_callbacks
):
    d = issue(to_signature(decision="approve", signer=signer_tuan), records_thu, django_capture_on_commit_callbacks)
    signed = OfficialDocument.objects.get(dossier=d, kind=K.RESULT).file.read()
    assert verify_pdf(signed, trusted_certificates_pem=[signing_key.certificate_pem()]).ok
    # One byte changed inside the signed range (not in the signature value itself).
    position = signed.index(b"/MediaBox")
    tampered = signed[:position] + b"/MediaBoy" + signed[position + len(b"/MediaBox") :]
    result = verify_pdf(tampered, trusted_certificates_pem=[signing_key.certificate_pem()])
    assert not result.ok and not result.intact


@pytest.mark.django_db
def test_a_denial_letter_carries_the_reasons_and_is_signed(
    to_signature, signer_tuan, records_thu, signing_key, django_capture_on_commit_callbacks, tmp_path
):
    reasons = "Thành tích chưa đáp ứng tiêu chuẩn tại Điều 5 của Quy chế xét tặng"
    d = issue(
        to_signature(decision="deny", signer=signer_tuan, reason=reasons),
        records_thu,
        django_capture_on_commit_callbacks,
    )
    document = OfficialDocument.objects.get(dossier=d, kind=K.RESULT)
    signed = document.file.read()
    assert verify_pdf(signed, trusted_certificates_pem=[signing_key.certificate_pem()]).ok
    text = pdf_text(signed, tmp_path)
    for value in (reasons, d.code, "Nguyễn Thị Hồng Nhung", d.result_number):
        assert value in text, value
    assert "Bằng chứng nhận" not in text  # a denial is not the certificate


@pytest.mark.django_db
def test_the_result_follow_up_is_idempotent(
    to_signature, signer_tuan, records_thu, signing_key, django_capture_on_commit_callbacks
):
    d = issue(to_signature(decision="approve", signer=signer_tuan), records_thu, django_capture_on_commit_callbacks)
    event = d.events.get(kind=DossierEvent.Kind.ISSUED)
    first = OfficialDocument.objects.get(dossier=d, kind=K.RESULT)
    again = official_documents_for_event(event_id=event.pk)
    assert [x.pk for x in again] == [first.pk]
    assert dossier_result_get_or_render(dossier_id=d.pk).pk == first.pk
    assert OfficialDocument.objects.filter(dossier=d, kind=K.RESULT).count() == 1


@pytest.mark.django_db
def test_the_verification_page_of_a_result_checks_its_signature(
    to_signature, signer_tuan, records_thu, signing_key, django_capture_on_commit_callbacks, client, settings
):
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    d = issue(to_signature(decision="approve", signer=signer_tuan), records_thu, django_capture_on_commit_callbacks)
    document = OfficialDocument.objects.get(dossier=d, kind=K.RESULT)
    page = client.get(reverse("documents:verify", args=[document.verify_token])).content.decode()
    for value in (d.code, d.result_number, "Cục Quản lý Y, Dược cổ truyền", "Valid signature of the agency", "matches"):
        assert value in page, value
    for secret in (NATIONAL_ID, "Phố Huế", "Nguyễn Thị Hồng Nhung"):
        assert secret not in page

    # Someone replaces the stored file with an altered copy: neither checksum nor signature holds.
    with document.file.open("rb") as handle:
        data = handle.read()
    position = data.index(b"/MediaBox")
    with document.file.storage.open(document.file.name, "wb") as handle:
        handle.write(data[:position] + b"/MediaBoy" + data[position + len(b"/MediaBox") :])
    page = client.get(reverse("documents:verify", args=[document.verify_token])).content.decode()
    assert "Signature NOT valid" in page and "does NOT match" in page


@pytest.mark.django_db
def test_without_a_signing_key_the_follow_up_continues_and_the_result_is_signed_on_first_download(
    to_signature,
    signer_tuan,
    records_thu,
    citizen_nhung,
    agency_key,
    django_capture_on_commit_callbacks,
    client,
    settings,
    tmp_path,
):
    settings.DOCUMENT_SIGNING_PKCS12_PATH = str(tmp_path / "missing.p12")
    get_signer.cache_clear()
    try:
        d = issue(to_signature(decision="approve", signer=signer_tuan), records_thu, django_capture_on_commit_callbacks)
        assert not OfficialDocument.objects.filter(dossier=d, kind=K.RESULT).exists()
        client.force_login(citizen_nhung)
        url = reverse("documents:download", args=[d.reference, "result"])
        assert client.get(url).status_code == 503  # a clear page, not a 500

        settings.DOCUMENT_SIGNING_PKCS12_PATH = str(agency_key)
        settings.DOCUMENT_SIGNING_PKCS12_PASSPHRASE = "khóa-bí-mật"
        get_signer.cache_clear()
        response = client.get(url)
        assert response.status_code == 200
        assert response["Content-Disposition"].startswith("attachment;")
        data = b"".join(response.streaming_content)
        assert verify_pdf(data, trusted_certificates_pem=[get_signer().certificate_pem()]).ok
        d.refresh_from_db()
        assert d.result_sha256 == hashlib.sha256(data).hexdigest()
    finally:
        get_signer.cache_clear()


@pytest.mark.django_db
def test_strangers_cannot_download_the_result(
    to_signature,
    signer_tuan,
    records_thu,
    signing_key,
    django_capture_on_commit_callbacks,
    client,
    citizen_outsider,
    clerk_other_agency,
    citizen_nhung,
):
    d = issue(to_signature(decision="approve", signer=signer_tuan), records_thu, django_capture_on_commit_callbacks)
    url = reverse("documents:download", args=[d.reference, "result"])
    for user in (citizen_outsider, clerk_other_agency):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 404
        assert d.code not in response.content.decode()
    client.force_login(citizen_nhung)
    assert client.get(url).status_code == 200
    client.force_login(records_thu)
    assert client.get(url).status_code == 200
