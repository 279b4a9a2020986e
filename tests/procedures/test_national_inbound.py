"""Dossiers and ratings pushed by the national portal (OUR signed protocol): the simulator, acting as
the national portal, POSTs to the live portal over real HTTP; validation, duplicates, replay, ratings."""

from __future__ import annotations

import json
import threading
import time

import pytest
from django.db import connection
from django.utils import translation
from rest_framework.test import APIClient

from citizens.models import CitizenProfile
from integrations.national_portal.inbound_signing import signed_headers
from portal.crypto import pii_hash
from portal.errors import ApplicationError
from portal.models import AuditRecord
from procedures.inbound import InboundDossier, dossier_rating_record, national_dossier_accept
from procedures.models import Dossier, DossierEvent
from procedures.models_national import DossierRating, NationalInboundSubmission

SECRET = "test-inbound-secret-0123456789"
SENDER = "DVCQG"
DOSSIERS = "/api/v1/national-portal/dossiers/"
RATINGS = "/api/v1/national-portal/ratings/"
NEW_PERSON = "079088001234"  # the structure of domain.md §3.1; no such person is meant


@pytest.fixture(autouse=True)
def _inbound_settings(settings):
    settings.NATIONAL_PORTAL_INBOUND_SENDER = SENDER
    settings.NATIONAL_PORTAL_INBOUND_SECRETS = ["old-secret-being-rotated-out", SECRET]


@pytest.fixture(autouse=True)
def _language():
    yield
    translation.deactivate()


def dossier_body(procedure, **overrides):
    body = {
        "MaHoSoQuocGia": "DVCQG-2026-000001",
        "MaTTHC": procedure.code,
        "MaDonVi": procedure.agency.code,
        "ChuHoSo": "Trần Văn Hoàng",
        "MaDoiTuong": NEW_PERSON,
        "NgaySinh": "19880412",
        "DiaChi": "Số 5 Lê Lợi, Phường Sài Gòn, TP. Hồ Chí Minh",
        "SoDienThoai": "0912345678",
        "Email": "hoang@example.vn",
        "TrichYeuHoSo": "Đề nghị xét tặng giải thưởng Hải Thượng Lãn Ông",
        "NgayNop": "20260315093000",
        "TaiLieuNop": [
            {
                "TenTepDinhKem": "don-de-nghi.pdf",
                "DuongDanTaiTepTin": "https://dichvucong.example.vn/files/abc",
                "MaThanhPhanHoSo": "TP1",
            }
        ],
    }
    body.update(overrides)
    return {k: v for k, v in body.items() if v is not None}


def post_signed(client, path, body, *, secret=SECRET, sender=SENDER, timestamp=None, nonce="", raw=None):
    raw = raw if raw is not None else json.dumps(body, ensure_ascii=False).encode()
    headers = signed_headers(
        secret=secret, sender=sender, method="POST", path=path, body=raw, timestamp=timestamp, nonce=nonce
    )
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k != "Content-Type"}
    return client.post(path, data=raw, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en", **extra)


@pytest.fixture
def api(settings):
    client = APIClient()
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"  # the portal picks the language from its cookie only
    return client


def vietnamese(message: str) -> str:
    """MESSAGE as the portal answers by default (Vietnamese once the catalogues hold it)."""
    with translation.override("vi"):
        return translation.gettext(message)


# --- end to end: the simulator pushes over real HTTP -------------------------------------------------


@pytest.fixture
def pushing_simulator(national_portal_simulator, live_server):
    national_portal_simulator._call(
        "POST", "/_sim/inbound", {"url": live_server.url, "sender": SENDER, "secret": SECRET}
    )
    return national_portal_simulator


def push(sim, kind, data=None, **spec):
    return sim._call("POST", "/_sim/push", {"kind": kind, "data": data, **spec} if data is not None else spec)


@pytest.mark.django_db(transaction=True)
def test_the_national_portal_pushes_a_dossier_that_enters_the_lifecycle_once(pushing_simulator, procedure):
    body = dossier_body(procedure)
    answer = push(pushing_simulator, "dossier", body)

    assert answer["status"] == 201, answer
    assert answer["body"]["duplicate"] is False and answer["body"]["state"] == "submitted"
    dossier = Dossier.objects.get()
    assert dossier.reference == answer["body"]["reference"]
    assert (dossier.state, dossier.channel) == ("submitted", "national_portal")
    procedure.refresh_from_db()
    assert dossier.procedure_version == procedure.current_version and dossier.procedure_version is not None
    assert dossier.applicant_national_id == NEW_PERSON
    assert dossier.applicant_national_id_hash == pii_hash(NEW_PERSON)
    assert dossier.submitted_at.isoformat() == "2026-03-15T02:30:00+00:00"  # 09:30 Vietnam time
    profile = CitizenProfile.objects.get(national_id_hash=pii_hash(NEW_PERSON))
    assert dossier.applicant == profile.user and not profile.user.has_usable_password()
    event = DossierEvent.objects.get(dossier=dossier)
    assert (event.kind, event.data["channel"]) == ("submitted", "national_portal")
    audit = AuditRecord.objects.get(action="dossier.submit")
    assert audit.data["national_reference"] == "DVCQG-2026-000001" and audit.data["sender"] == SENDER
    submission = NationalInboundSubmission.objects.get()
    assert submission.attachments[0]["TenTepDinhKem"] == "don-de-nghi.pdf"

    # The same submission again (a retry after a lost answer: new nonce) gives the same dossier.
    again = push(pushing_simulator, "dossier", body)
    assert again["status"] == 200
    assert again["body"]["duplicate"] is True and again["body"]["payload_matches"] is True
    assert again["body"]["reference"] == dossier.reference
    changed = push(pushing_simulator, "dossier", {**body, "TrichYeuHoSo": "Nội dung khác"})
    assert changed["status"] == 200 and changed["body"]["payload_matches"] is False
    assert Dossier.objects.count() == 1
    assert NationalInboundSubmission.objects.get().duplicates == 2

    # Replaying a signed request byte for byte (same nonce) is refused.
    replay = push(pushing_simulator, None, replay_last=True)
    assert replay["status"] == 401
    assert replay["body"]["detail"] == vietnamese("This request was already received (nonce used before).")


@pytest.mark.django_db(transaction=True)
def test_the_national_portal_pushes_ratings(pushing_simulator, procedure):
    push(pushing_simulator, "dossier", dossier_body(procedure))
    dossier = Dossier.objects.get()
    rating = {"MaHoSoQuocGia": "DVCQG-2026-000001", "MaDoiTuong": NEW_PERSON, "MucDoHaiLong": 3}

    first = push(pushing_simulator, "rating", {**rating, "NoiDung": "Nhanh, đúng hẹn", "NgayDanhGia": "20260320100000"})
    assert first["status"] == 201 and first["body"]["outcome"] == "created"
    same = push(pushing_simulator, "rating", {**rating, "NoiDung": "Nhanh, đúng hẹn", "NgayDanhGia": "20260320100000"})
    assert same["status"] == 200 and same["body"]["outcome"] == "unchanged"
    later = push(pushing_simulator, "rating", {**rating, "MucDoHaiLong": 1, "NgayDanhGia": "20260321100000"})
    assert later["body"]["outcome"] == "updated"
    older = push(pushing_simulator, "rating", {**rating, "MucDoHaiLong": 2, "NgayDanhGia": "20260319100000"})
    assert older["body"]["outcome"] == "unchanged"
    stored = DossierRating.objects.get()
    assert (stored.dossier, stored.source, stored.score) == (dossier, "national_portal", 1)
    assert AuditRecord.objects.filter(action__startswith="dossier.rating_").count() == 2

    stranger = push(
        pushing_simulator, "rating", {**rating, "MaDoiTuong": "001195012345", "NgayDanhGia": "20260321100000"}
    )
    assert stranger["status"] == 404  # only the dossier's own applicant rates it
    unknown = push(pushing_simulator, "rating", {**rating, "MaHoSoQuocGia": "DVCQG-X", "NgayDanhGia": "20260321100000"})
    assert unknown["status"] == 404


# --- authentication ----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_unsigned_wrongly_signed_stale_and_tampered_requests_are_refused(api, procedure):
    body = dossier_body(procedure)
    raw = json.dumps(body).encode()
    unsigned = api.post(DOSSIERS, body, format="json", HTTP_ACCEPT_LANGUAGE="en")
    assert unsigned.status_code == 401 and "not signed" in unsigned.json()["detail"]
    assert post_signed(api, DOSSIERS, body, secret="wrong-secret").status_code == 401
    assert post_signed(api, DOSSIERS, body, sender="OTHER").json()["detail"] == "Unknown sender."
    stale = post_signed(api, DOSSIERS, body, timestamp=int(time.time()) - 3600)
    assert stale.status_code == 401 and "seconds away from our clock" in stale.json()["detail"]
    headers = signed_headers(secret=SECRET, sender=SENDER, method="POST", path=DOSSIERS, body=raw)
    tampered = raw.replace(b"0912345678", b"0987654321")
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k != "Content-Type"}
    response = api.post(DOSSIERS, data=tampered, content_type="application/json", HTTP_ACCEPT_LANGUAGE="en", **extra)
    assert response.status_code == 401 and "signature does not match" in response.json()["detail"]
    bad_nonce = post_signed(api, DOSSIERS, body, nonce="short")
    assert bad_nonce.status_code == 401
    assert not Dossier.objects.exists()
    # The rotated-out secret still verifies while it is configured.
    assert post_signed(api, DOSSIERS, body, secret="old-secret-being-rotated-out").status_code == 201


@pytest.mark.django_db
def test_a_too_large_body_is_refused(api, procedure, settings):
    settings.NATIONAL_PORTAL_INBOUND_MAX_BODY_BYTES = 200
    response = post_signed(api, DOSSIERS, dossier_body(procedure))
    assert response.status_code == 413


# --- validation --------------------------------------------------------------------------------------


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"MaHoSoQuocGia": None}, "MaHoSoQuocGia", "This field is required."),
        ({"MaHoSoQuocGia": "bad reference!"}, "MaHoSoQuocGia", "Use 1 to 64 letters"),
        ({"MaTTHC": "not a code"}, "MaTTHC", "This is not a procedure code."),
        ({"MaDoiTuong": "12345"}, "MaDoiTuong", "exactly 12 digits"),
        ({"NgaySinh": "19990101"}, "MaDoiTuong", "does not match the date of birth"),
        ({"NgaySinh": "1988-04-12"}, "NgaySinh", "yyyyMMdd"),
        ({"NgayNop": "2026-03-15 09:30"}, "NgayNop", "yyyyMMddHHmmss"),
        ({"NgayNop": "20260231093000"}, "NgayNop", "not a real date"),
        ({"NgayNop": "20990101000000"}, "NgayNop", "in the future"),
        ({"SoDienThoai": "12"}, "SoDienThoai", "Vietnamese phone number"),
        ({"Email": "not-an-email"}, "Email", "valid email"),
        ({"TrichYeuHoSo": ""}, "TrichYeuHoSo", "may not be blank"),
        ({"MaHoSo": "x"}, "MaHoSo", "Unknown field."),
        ({"TaiLieuNop": [{"TenTepDinhKem": "a.pdf", "DuongDanTaiTepTin": "not a url"}]}, "TaiLieuNop", "URL"),
    ],
)
def test_every_field_is_checked_with_a_clear_error(api, procedure, overrides, field, message):
    response = post_signed(api, DOSSIERS, dossier_body(procedure, **overrides))
    assert response.status_code == 400, response.content
    assert message in json.dumps(response.json()[field], ensure_ascii=False)
    assert not Dossier.objects.exists()


@pytest.mark.django_db
def test_a_procedure_not_open_online_or_of_another_agency_is_refused(api, procedure, other_agency):
    response = post_signed(api, DOSSIERS, dossier_body(procedure, MaTTHC="1.003006"))
    assert response.status_code == 400
    assert response.json()["field"] == "MaTTHC" and "not open for online applications" in response.json()["detail"]
    response = post_signed(api, DOSSIERS, dossier_body(procedure, MaDonVi=other_agency.code))
    assert response.status_code == 400 and response.json()["field"] == "MaDonVi"
    assert not Dossier.objects.exists()


@pytest.mark.django_db
def test_the_errors_are_in_vietnamese_by_default(procedure):
    body = dossier_body(procedure, TrichYeuHoSo="")
    raw = json.dumps(body).encode()
    headers = signed_headers(secret=SECRET, sender=SENDER, method="POST", path=DOSSIERS, body=raw)
    extra = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items() if k != "Content-Type"}
    response = APIClient().post(DOSSIERS, data=raw, content_type="application/json", **extra)
    assert response.status_code == 400
    assert response.json()["TrichYeuHoSo"] == ["Trường này không được bỏ trống."]


@pytest.mark.django_db
def test_a_known_citizen_gets_the_dossier_on_their_own_account(api, procedure, citizen_nhung):
    response = post_signed(api, DOSSIERS, dossier_body(procedure, MaDoiTuong="001195012345", NgaySinh=None))
    assert response.status_code == 201
    assert Dossier.objects.get().applicant == citizen_nhung
    assert CitizenProfile.objects.count() == 1


@pytest.mark.django_db
def test_ratings_are_one_per_dossier_and_source(procedure, submitted_dossier, citizen_nhung):
    from django.utils import timezone

    dossier_rating_record(
        dossier=submitted_dossier, source="national_portal", score=2, comment="", rated_at=timezone.now()
    )
    _, outcome = dossier_rating_record(
        dossier=submitted_dossier, source="portal", score=3, comment="Tốt", rated_at=timezone.now(), actor=citizen_nhung
    )
    assert outcome == "created"
    assert DossierRating.objects.filter(dossier=submitted_dossier).count() == 2
    assert DossierRating.objects.get(source="portal").rated_by == citizen_nhung
    with pytest.raises(ApplicationError):
        dossier_rating_record(dossier=submitted_dossier, source="portal", score=5, comment="", rated_at=timezone.now())


@pytest.mark.django_db
def test_a_rating_names_exactly_one_dossier_reference(api):
    both = {
        "MaHoSoQuocGia": "A1",
        "MaHoSo": "B",
        "MaDoiTuong": NEW_PERSON,
        "MucDoHaiLong": 2,
        "NgayDanhGia": "20260320100000",
    }
    response = post_signed(api, RATINGS, both)
    assert response.status_code == 400 and "exactly one" in response.json()["MaHoSo"][0]
    bad = post_signed(api, RATINGS, {**both, "MaHoSo": None, "MucDoHaiLong": 7})
    assert bad.status_code == 400 and "MucDoHaiLong" in bad.json()


# --- concurrency -------------------------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_simultaneous_duplicates_make_one_dossier(procedure):
    from procedures.catalogue import procedure_version_freeze

    procedure_version_freeze(procedure=procedure)
    submission = InboundDossier(
        national_reference="DVCQG-RACE-1",
        procedure_code=procedure.code,
        agency_code="",
        applicant_name="Trần Văn Hoàng",
        national_id=NEW_PERSON,
        birth_date=None,
        address="Số 5 Lê Lợi",
        phone="0912345678",
        email="",
        summary="Đề nghị",
        submitted_at=procedure.updated_at,
    )
    barrier = threading.Barrier(4)
    results, errors = [], []

    def submit():
        try:
            barrier.wait(timeout=10)
            results.append(national_dossier_accept(sender=SENDER, submission=submission, payload_digest="d" * 64))
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=submit) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not errors, errors
    assert Dossier.objects.count() == 1 and NationalInboundSubmission.objects.count() == 1
    assert sorted(r.created for r in results) == [False, False, False, True]
    assert {r.dossier.pk for r in results} == {Dossier.objects.get().pk}
    assert CitizenProfile.objects.count() == 1


@pytest.mark.django_db
def test_the_endpoints_are_in_the_openapi_schema(client):
    schema = client.get("/api/schema/?format=json").json()
    assert "/api/v1/national-portal/dossiers/" in schema["paths"]
    assert "/api/v1/national-portal/ratings/" in schema["paths"]
    assert "NationalPortalSignature" in schema["components"]["securitySchemes"]
