"""Small pure parts (numbers in words, numbering, rule versions) and the demo data and commands."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.management import call_command

from facilities.documents import moment_in_words, vietnamese_number_words
from facilities.rules import rule_version_on
from facilities.services import document_number


@pytest.mark.parametrize(
    ("n", "words"),
    [
        (0, "không"),
        (5, "năm"),
        (10, "mười"),
        (15, "mười lăm"),
        (21, "hai mươi mốt"),
        (24, "hai mươi tư"),
        (35, "ba mươi lăm"),
        (105, "một trăm lẻ năm"),
        (2026, "hai nghìn không trăm hai mươi sáu"),
        (1999, "một nghìn chín trăm chín mươi chín"),
    ],
)
def test_vietnamese_number_words(n, words):
    assert vietnamese_number_words(n) == words


def test_a_moment_in_words_and_blank_when_unknown():
    assert (
        moment_in_words("2026-11-21T14:05+07:00")
        == "Mười bốn giờ năm phút, ngày hai mươi mốt tháng mười một năm hai nghìn không trăm hai mươi sáu"
    )
    assert moment_in_words(None) == ""


def test_number_format_is_18_characters():
    number = document_number(sequence=7, book="GCS", facility_code="99001", year=2026)
    assert number == "00007.GCS.99001.26" and len(number) == 18


def test_rule_version_by_issue_date(settings):
    assert rule_version_on(dt.date(2026, 8, 31)).code == "ND63-2024"
    assert rule_version_on(dt.date(2026, 9, 1)).code == "ND301-2026"
    settings.FACILITIES_RULE_VERSIONS = {
        **settings.FACILITIES_RULE_VERSIONS,
        "TEST-2027": {
            **settings.FACILITIES_RULE_VERSIONS["ND301-2026"],
            "valid_from": "2027-01-01",
            "ack_working_hours": 1,
        },
    }
    assert rule_version_on(dt.date(2027, 1, 2)).ack_working_hours == 1


@pytest.mark.django_db
def test_the_demo_facility_loads_twice_signs_and_its_user_signs_in(client, places_loaded, settings, tmp_path):
    from facilities.demo import DEMO_PASSWORD, load_facility_demo
    from facilities.models import FacilityCredential
    from facilities.services import Issuer, birth_certificates_issue
    from portal.signing import verify_pdf
    from tests.conftest import totp_enrol
    from tests.facilities.conftest import birth_data, child

    settings.VAR_DIR = tmp_path
    first = load_facility_demo()
    second = load_facility_demo()
    assert first.pk == second.pk and first.is_illustrative
    from django.contrib.auth import get_user_model

    user = get_user_model().objects.get(username="facility")
    assert user.check_password(DEMO_PASSWORD)
    client.force_login(totp_enrol(user))  # outside DEBUG the demo loader sets no two-factor seed
    assert client.get("/facilities/").status_code == 200
    (document,) = birth_certificates_issue(issuer=Issuer(facility=second), data=birth_data(), children=[child()])
    assert verify_pdf(document.pdf.read(), trusted_certificates_pem=[second.certificate_pem.encode()]).ok
    out = io.StringIO()
    call_command("facility_signing_key", "99001", "--force", stdout=out)
    assert "demo key written" in out.getvalue()
    out = io.StringIO()
    call_command("facility_api_key", "99001", "--label", "HIS", stdout=out)
    assert out.getvalue().startswith("Authorization: Api-Key ")
    assert FacilityCredential.objects.filter(facility=second, label="HIS").count() == 1


class KeyringSigner:
    """A stand-in for an HSM/remote signer: a signer class built per facility (signing_backend)."""

    keys: dict = {}

    def __init__(self, *, facility):
        from portal.signing import Pkcs12Signer

        path, passphrase = self.keys[facility.code]
        self._inner = Pkcs12Signer(path=path, passphrase=passphrase.encode())

    def sign_pdf(self, pdf, *, field_name, reason, location=""):
        return self._inner.sign_pdf(pdf, field_name=field_name, reason=reason, location=location)

    def certificate_pem(self):
        return self._inner.certificate_pem()


@pytest.mark.django_db
def test_a_facility_can_sign_through_another_backend_class(places_loaded, tmp_path):
    from facilities.models import Facility
    from facilities.services import Issuer, death_notice_issue
    from portal.signing import demo_signing_key_create, verify_pdf
    from tests.facilities.conftest import death_data

    path = tmp_path / "hsm.p12"
    demo_signing_key_create(path=path, common_name="HSM key", organisation="Phòng khám HSM", passphrase="pw-hsm")
    KeyringSigner.keys["99003"] = (path, "pw-hsm")
    facility = Facility.objects.create(
        code="99003", name="Phòng khám HSM", signing_backend="tests.facilities.test_units.KeyringSigner"
    )
    facility.certificate_pem = KeyringSigner(facility=facility).certificate_pem().decode()
    facility.save()
    notice = death_notice_issue(issuer=Issuer(facility=facility), data=death_data())
    result = verify_pdf(notice.pdf.read(), trusted_certificates_pem=[facility.certificate_pem.encode()])
    assert result.ok and "HSM key" in result.signer
