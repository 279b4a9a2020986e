"""Signed PDFs verify; modified ones, or ones signed by another key, do not."""

from __future__ import annotations

import pytest

from portal.signing import Pkcs12Signer, SigningError, demo_signing_key_create, verify_pdf
from procedures.documents import render_pdf


@pytest.fixture(scope="module")
def agency_signer(tmp_path_factory):
    path = tmp_path_factory.mktemp("keys") / "agency.p12"
    demo_signing_key_create(
        path=path,
        common_name="Cục Quản lý Y, Dược cổ truyền (demo)",
        organisation="Bộ Y tế",
        passphrase="mật-khẩu-demo",
    )
    return Pkcs12Signer(path=path, passphrase="mật-khẩu-demo".encode())


@pytest.fixture(scope="module")
def other_signer(tmp_path_factory):
    path = tmp_path_factory.mktemp("keys") / "other.p12"
    demo_signing_key_create(path=path, common_name="Someone else", organisation="Elsewhere", passphrase=None)
    return Pkcs12Signer(path=path, passphrase=None)


@pytest.fixture(scope="module")
def result_pdf():
    return render_pdf("pdf/signing_sample.html", {"title": "Giấy chứng nhận (mẫu kiểm thử)"})


def test_a_signed_result_verifies_against_the_agency_certificate(agency_signer, result_pdf):
    signed = agency_signer.sign_pdf(result_pdf, field_name="KyDuyet", reason="Phê duyệt kết quả", location="Hà Nội")
    result = verify_pdf(signed, trusted_certificates_pem=[agency_signer.certificate_pem()])
    assert result.ok, result
    assert "Cục Quản lý Y, Dược cổ truyền" in result.signer


def test_a_modified_result_does_not_verify(agency_signer, result_pdf):
    signed = agency_signer.sign_pdf(result_pdf, field_name="KyDuyet", reason="Phê duyệt kết quả")
    # Change one byte inside the signed range (not in the signature value itself).
    position = signed.index(b"/MediaBox")
    tampered = signed[:position] + b"/MediaBoy" + signed[position + len(b"/MediaBox") :]
    result = verify_pdf(tampered, trusted_certificates_pem=[agency_signer.certificate_pem()])
    assert not result.ok
    assert not result.intact


def test_content_appended_after_signing_is_detected(agency_signer, result_pdf):
    from io import BytesIO

    from pyhanko.pdf_utils import generic
    from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter

    signed = agency_signer.sign_pdf(result_pdf, field_name="KyDuyet", reason="Phê duyệt kết quả")
    writer = IncrementalPdfFileWriter(BytesIO(signed))
    page = writer.root["/Pages"]["/Kids"][0].get_object()
    page["/Rotate"] = generic.NumberObject(90)  # a visible change to the signed page
    writer.update_container(page)
    out = BytesIO()
    writer.write(out)
    result = verify_pdf(out.getvalue(), trusted_certificates_pem=[agency_signer.certificate_pem()])
    assert result.intact  # the signed revision itself is untouched ...
    assert result.modified_after_signing  # ... but the document shown is not what was signed
    assert not result.ok


def test_a_signature_by_an_untrusted_key_is_not_accepted(other_signer, agency_signer, result_pdf):
    signed = other_signer.sign_pdf(result_pdf, field_name="KyDuyet", reason="x")
    result = verify_pdf(signed, trusted_certificates_pem=[agency_signer.certificate_pem()])
    assert result.intact
    assert not result.trusted
    assert not result.ok


def test_an_unsigned_or_broken_document_is_reported_as_such(agency_signer, result_pdf):
    assert not verify_pdf(result_pdf, trusted_certificates_pem=[agency_signer.certificate_pem()]).signed
    assert not verify_pdf(b"not a pdf", trusted_certificates_pem=[agency_signer.certificate_pem()]).ok


def test_a_wrong_passphrase_or_missing_key_is_a_clear_error(tmp_path):
    path = tmp_path / "k.p12"
    demo_signing_key_create(path=path, common_name="x", organisation="y", passphrase="right")
    with pytest.raises(SigningError, match="wrong passphrase"):
        Pkcs12Signer(path=path, passphrase=b"wrong")
    with pytest.raises(SigningError, match="cannot read"):
        Pkcs12Signer(path=tmp_path / "missing.p12", passphrase=None)
