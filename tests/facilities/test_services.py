"""Issuing, numbering, twins, surrogacy, re-issue, newborn death, identity checks."""

from __future__ import annotations

import hashlib

import pytest
from django.utils import translation

from facilities.models import BookCounter, HealthDocument
from facilities.services import (
    DocumentInvalid,
    birth_certificates_issue,
    death_notice_issue,
    document_reissue,
    documents_reverify,
)
from integrations.models import OutboxMessage
from portal.crypto import pii_hash
from portal.models import AuditRecord
from portal.signing import verify_pdf
from tests.facilities.conftest import MOTHER_ID, birth_data, child, death_data, full_name, living_mother, pdf_text

pytestmark = pytest.mark.django_db


def test_a_birth_certificate_is_numbered_signed_stored_queued_and_audited(issuer, facility, tmp_path):
    (document,) = birth_certificates_issue(issuer=issuer, data=birth_data(), children=[child()])
    document.refresh_from_db()
    assert document.number == "00001.GCS.99001.26"
    assert len(document.number) == 18
    assert document.revision == 1 and document.is_current
    assert document.standard_version == "BYT-GCS-2025"
    assert document.delivery_status == HealthDocument.Delivery.ISSUED
    assert document.holder_hash == pii_hash(MOTHER_ID)
    # The data is encrypted at rest: the ID number is not in the stored column.
    raw = HealthDocument.objects.filter(pk=document.pk).values_list("data_encrypted", flat=True).query
    assert MOTHER_ID not in str(raw)
    pdf = document.pdf.read()
    assert hashlib.sha256(pdf).hexdigest() == document.sha256
    result = verify_pdf(pdf, trusted_certificates_pem=[facility.certificate_pem.encode()])
    assert result.ok, result
    text = pdf_text(pdf, tmp_path)
    assert "GIẤY CHỨNG SINH" in text
    assert "00001.GCS.99001.26" in text
    assert "Nguyễn Thị Hồng Nhung" in text
    assert "3100 gam" in text
    message = OutboxMessage.objects.get(topic="interlinking.document")
    assert message.payload["document_id"] == document.pk
    assert message.key == "99001:00001.GCS.99001.26"
    assert AuditRecord.objects.filter(action="facilities.document.issue", object_id=str(document.pk)).exists()


def test_a_document_signed_with_another_facilitys_key_does_not_verify(issuer, other_facility):
    (document,) = birth_certificates_issue(issuer=issuer, data=birth_data(), children=[child()])
    result = verify_pdf(document.pdf.read(), trusted_certificates_pem=[other_facility.certificate_pem.encode()])
    assert not result.ok


def test_twins_get_one_certificate_each_with_distinct_consecutive_numbers(issuer):
    documents = birth_certificates_issue(
        issuer=issuer,
        data=birth_data(children_count=2),
        children=[
            child(child_sex="1", birth_at="2026-11-20T08:15"),
            child(child_sex="2", birth_at="2026-11-20T08:19", child_weight_g=2650),
        ],
    )
    assert [d.number for d in documents] == ["00001.GCS.99001.26", "00002.GCS.99001.26"]
    assert documents[0].birth_group == documents[1].birth_group is not None
    assert [d.data["child_weight_g"] for d in documents] == [3100, 2650]
    assert OutboxMessage.objects.filter(topic="interlinking.document").count() == 2
    assert BookCounter.objects.get(book="GCS").last_sequence == 2


def test_children_count_must_match_the_children_described(issuer):
    with translation.override("en"), pytest.raises(DocumentInvalid) as caught:
        birth_certificates_issue(issuer=issuer, data=birth_data(children_count=2), children=[child()])
    assert "give one set of details per child" in caught.value.errors["children_count"][0]
    assert not HealthDocument.objects.exists()
    assert not BookCounter.objects.filter(last_sequence__gt=0).exists()


def test_every_invalid_field_is_named(issuer):
    with translation.override("en"), pytest.raises(DocumentInvalid) as caught:
        birth_certificates_issue(
            issuer=issuer,
            data=birth_data(mother_personal_id="001196012345", mother_commune_code="26740", mother_name=None),
            children=[child(child_weight_g=50, birth_at="2099-01-01T00:00")],
        )
    errors = caught.value.errors
    assert "This field is required." in errors["mother_name"]
    assert "does not match the date of birth" in errors["mother_personal_id"][0]
    assert "Commune 26740 is not a commune of 01." in errors["mother_commune_code"]
    assert errors["child1-child_weight_g"] == ["Enter a number from 200 to 8000."]
    assert errors["child1-birth_at"] == ["The time is in the future."]


def test_the_legacy_field_set_needs_a_district_and_is_not_accepted_for_new_documents(issuer, settings):
    with pytest.raises(DocumentInvalid) as caught:
        birth_certificates_issue(issuer=issuer, data=birth_data(), children=[child()], standard_version="BYT-XML9-2024")
    assert "standard_version" in caught.value.errors
    settings.FACILITIES_ACCEPTED_STANDARDS = ["BYT-XML9-2024"]
    with pytest.raises(DocumentInvalid) as caught:
        birth_certificates_issue(issuer=issuer, data=birth_data(), children=[child()], standard_version="BYT-XML9-2024")
    assert "mother_district_code" in caught.value.errors


def test_surrogacy_uses_form_02_with_the_intended_parents_who_also_see_it(issuer, tmp_path):
    with pytest.raises(DocumentInvalid) as caught:
        birth_certificates_issue(issuer=issuer, data=birth_data(), children=[child()], form="02")
    assert {"intended_mother_name", "intended_mother_personal_id", "surrogacy_confirmation"} <= set(caught.value.errors)
    with pytest.raises(DocumentInvalid) as caught:
        birth_certificates_issue(issuer=issuer, data=birth_data(intended_mother_name="Lê Thị Nhờ"), children=[child()])
    assert "form" in caught.value.errors
    (document,) = birth_certificates_issue(
        issuer=issuer,
        data=birth_data(
            intended_mother_name="Lê Thị Nhờ",
            intended_mother_personal_id="079301001234",
            surrogacy_confirmation="XN-12/2026",
        ),
        children=[child()],
        form="02",
    )
    assert document.form == "02"
    assert document.second_holder_hash == pii_hash("079301001234")
    text = pdf_text(document.pdf.read(), tmp_path)
    assert "Mẫu 02" in text and "Lê Thị Nhờ" in text


def test_reissue_after_an_error_keeps_the_number_and_the_history(issuer, head, tmp_path):
    (original,) = birth_certificates_issue(issuer=issuer, data=birth_data(), children=[child()])
    with pytest.raises(DocumentInvalid):
        document_reissue(issuer=head, document_id=original.pk, reason="error", note="Sai cân nặng", data={})
    new = document_reissue(
        issuer=head, document_id=original.pk, reason="error", note="Sai cân nặng", data={"child_weight_g": 3150}
    )
    original.refresh_from_db()
    assert new.number == original.number
    assert (new.revision, new.supersedes_id, new.is_current) == (2, original.pk, True)
    assert not original.is_current
    assert new.data["child_weight_g"] == 3150 and original.data["child_weight_g"] == 3100
    text = pdf_text(new.pdf.read(), tmp_path)
    assert "CẤP LẠI" in text and "3150 gam" in text
    # The re-issue is delivered as well, after the original (same ordering key).
    keys = list(OutboxMessage.objects.filter(topic="interlinking.document").values_list("key", "sequence"))
    assert keys == [("99001:00001.GCS.99001.26", 1), ("99001:00001.GCS.99001.26", 2)]
    # Superseded documents cannot be re-issued again; loss copies the data unchanged.
    with translation.override("en"), pytest.raises(Exception, match="superseded"):
        document_reissue(issuer=head, document_id=original.pk, reason="loss", note="Mất")
    third = document_reissue(issuer=head, document_id=new.pk, reason="loss", note="Gia đình làm mất")
    assert third.revision == 3 and third.data == new.data


def test_a_newborn_who_dies_before_discharge_gets_a_birth_certificate_then_a_death_notice(issuer, tmp_path):
    (birth,) = birth_certificates_issue(
        issuer=issuer, data=birth_data(), children=[child(child_condition="Suy hô hấp")]
    )
    newborn = death_data(
        deceased_name="Trần Thị Bé",
        deceased_birth_date="2026-11-20",
        deceased_sex="2",
        admitted_at=None,
        died_at="2026-11-20T07:00",
    )
    with translation.override("en"), pytest.raises(DocumentInvalid) as caught:
        death_notice_issue(issuer=issuer, data=newborn, related_birth_id=birth.pk)
    assert caught.value.errors["died_at"] == ["The death is before the birth on the birth certificate."]
    newborn["died_at"] = "2026-11-21T02:30"
    notice = death_notice_issue(issuer=issuer, data=newborn, related_birth_id=birth.pk)
    assert notice.number == "00001.GBT.99001.26"
    assert notice.related_birth_id == birth.pk
    with pytest.raises(DocumentInvalid):
        death_notice_issue(issuer=issuer, data=newborn, related_birth_id=birth.pk)
    text = pdf_text(notice.pdf.read(), tmp_path)
    assert "GIẤY BÁO TỬ" in text
    assert "TRẦN THỊ BÉ" in text
    flat = " ".join(text.split())
    assert "Hai giờ ba mươi phút, ngày hai mươi mốt tháng mười một năm hai nghìn không trăm hai mươi sáu" in flat
    assert birth.number in text


def test_a_death_notice_without_a_cause_says_unknown(issuer):
    notice = death_notice_issue(issuer=issuer, data=death_data(cause_of_death=""))
    assert notice.data["cause_of_death"] == "Không rõ"
    assert notice.holder_hash == pii_hash(MOTHER_ID)


def test_the_mothers_identity_is_verified_through_the_gateway(issuer, population_registry_simulator):
    mother = living_mother(population_registry_simulator)
    data = birth_data(
        mother_name=full_name(mother), mother_birth_date=mother.birth_date, mother_personal_id=mother.personal_id
    )
    (document,) = birth_certificates_issue(issuer=issuer, data=data, children=[child()])
    assert document.verification_status == HealthDocument.Verification.VERIFIED
    assert document.verification_request_id
    from integrations.gateway_models import GatewayMessage

    logged = GatewayMessage.objects.get(request_id=document.verification_request_id)
    assert logged.caller == "facility:99001"
    assert "birth certificate" in logged.purpose
    assert logged.consent_reference.startswith("GCS-")
    (wrong,) = birth_certificates_issue(
        issuer=issuer, data={**data, "mother_name": "Tên Khác Hẳn"}, children=[child(birth_at="2026-11-20T09:00")]
    )
    assert wrong.verification_status == HealthDocument.Verification.MISMATCH


def test_unavailable_population_database_marks_unverified_and_a_later_task_verifies(
    issuer, population_registry_simulator, settings
):
    mother = living_mother(population_registry_simulator)
    data = birth_data(
        mother_name=full_name(mother), mother_birth_date=mother.birth_date, mother_personal_id=mother.personal_id
    )
    real_url = settings.POPULATION_REGISTRY_URL
    settings.POPULATION_REGISTRY_URL = "http://127.0.0.1:9"
    (document,) = birth_certificates_issue(issuer=issuer, data=data, children=[child()])
    assert document.verification_status == HealthDocument.Verification.UNAVAILABLE
    assert documents_reverify() == 0  # still down
    settings.POPULATION_REGISTRY_URL = real_url
    from integrations.gateway import gateway_reset

    gateway_reset()
    assert documents_reverify() == 1
    document.refresh_from_db()
    assert document.verification_status == HealthDocument.Verification.VERIFIED
    assert document.verification_attempts == 3
    assert AuditRecord.objects.filter(action="facilities.document.reverify").count() == 1
