"""Personas and catalogue fixtures shared by the suite (named by role and state)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.crypto import pii_hash


def pdf_bytes(*objects: bytes, trailer: bytes = b"/Root 1 0 R") -> bytes:
    """A well-formed PDF (cross-reference table included) of OBJECTS, numbered from 1: the upload checks
    (portal.uploads) parse PDFs and refuse broken ones."""
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<</Size %d " % (len(objects) + 1) + trailer + b">>\nstartxref\n%d\n%%%%EOF\n" % xref
    return out


def png_bytes(width: int = 1, height: int = 1) -> bytes:
    """A real PNG (the upload checks decode and re-encode images)."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * width for _ in range(height))
    header = struct.pack("!IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")


MINIMAL_PDF = pdf_bytes(
    b"<</Type/Catalog/Pages 2 0 R>>",
    b"<</Type/Pages/Kids[3 0 R]/Count 1>>",
    b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>",
)
PNG_BYTES = png_bytes()


def pdf_upload(name: str = "don-de-nghi.pdf", content: bytes = MINIMAL_PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


@pytest.fixture(autouse=True)
def _cache_cleared():
    """Each test starts with an empty cache: rate-limit counters and cached counts do not leak between tests."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def agency(db):
    from procedures.models import Agency

    return Agency.objects.create(code="G18.001.02", name="Cục Quản lý Y, Dược cổ truyền", is_illustrative=True)


@pytest.fixture
def other_agency(db):
    from procedures.models import Agency

    return Agency.objects.create(code="G18.002.01", name="Cục Quản lý Dược", is_illustrative=True)


@pytest.fixture
def procedure(agency):
    from procedures.models import Procedure

    return Procedure.objects.create(
        code="QT.YDCT.11",
        name="Xét tặng giải thưởng Hải Thượng Lãn Ông",
        sector="Y, Dược cổ truyền",
        sector_code="G18-YDCT",
        agency=agency,
        time_limit_days=150,
        is_published=True,
    )


# --- two-factor sign-in (security.md T06): every staff account of the suite has an authenticator ---------

TEST_TOTP_SEED = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"  # base32 (20 bytes); tests only


def totp_enrol(user, seed: str = TEST_TOTP_SEED):
    """Give USER an activated TOTP authenticator with SEED, as enrolment would; returns USER."""
    from portal.two_factor import totp_enrol as enrol

    enrol(user=user, secret=seed)
    return user


def totp_code(seed: str = TEST_TOTP_SEED, *, step: int = 0) -> str:
    """The RFC 6238 code of SEED for the current 30-second step (+ STEP), computed independently of allauth."""
    import base64
    import hashlib
    import hmac
    import struct
    import time

    counter = int(time.time()) // 30 + step
    digest = hmac.new(base64.b32decode(seed, casefold=True), struct.pack(">Q", counter), hashlib.sha1).digest()
    offset = digest[-1] & 0x0F
    value = (struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF) % 1_000_000
    return f"{value:06d}"


@pytest.fixture
def admin_user(db, django_user_model):
    """pytest-django's administrator (and so its admin_client), with an authenticator like all staff."""
    user = django_user_model.objects.filter(username="admin").first()
    if user is None:
        user = totp_enrol(django_user_model.objects.create_superuser("admin", "admin@example.com", "password"))
    return user


def make_staff(username, agency, role, *, first="Lan", last="Trần Thị"):
    from django.contrib.auth import get_user_model

    from procedures.models import StaffProfile

    user = get_user_model().objects.create_user(
        username=username, password="staff-password-2026", first_name=first, last_name=last, is_staff=True
    )
    StaffProfile.objects.create(user=user, agency=agency, role=role, title="Chuyên viên")
    return totp_enrol(user)


@pytest.fixture
def clerk_lan(agency):
    from procedures.models import StaffProfile

    return make_staff("clerk", agency, StaffProfile.Role.RECEPTION_CLERK)


@pytest.fixture
def officer_minh(agency):
    from procedures.models import StaffProfile

    return make_staff("officer", agency, StaffProfile.Role.PROCESSING_OFFICER, first="Minh", last="Lê Văn")


@pytest.fixture
def leader_hai(agency):
    from procedures.models import StaffProfile

    return make_staff("leader", agency, StaffProfile.Role.LEADER, first="Hải", last="Phạm Văn")


@pytest.fixture
def signer_tuan(agency):
    from procedures.models import StaffProfile

    return make_staff("signer", agency, StaffProfile.Role.SIGNING_AUTHORITY, first="Tuấn", last="Đỗ Anh")


@pytest.fixture
def records_thu(agency):
    from procedures.models import StaffProfile

    return make_staff("records", agency, StaffProfile.Role.RECORDS_CLERK, first="Thu", last="Hoàng Thị")


@pytest.fixture
def officer_other_agency(other_agency):
    from procedures.models import StaffProfile

    return make_staff("officer-b", other_agency, StaffProfile.Role.PROCESSING_OFFICER, first="Quang", last="Lý")


@pytest.fixture
def leader_other_agency(other_agency):
    from procedures.models import StaffProfile

    return make_staff("leader-b", other_agency, StaffProfile.Role.LEADER, first="Đức", last="Ngô")


@pytest.fixture
def clerk_other_agency(other_agency):
    from procedures.models import StaffProfile

    return make_staff("clerk-b", other_agency, StaffProfile.Role.RECEPTION_CLERK, first="Bình", last="Vũ")


def make_citizen(username: str, *, full_name: str, national_id: str):
    from django.contrib.auth import get_user_model

    from citizens.models import CitizenProfile

    user = get_user_model().objects.create_user(username=username)
    user.set_unusable_password()
    user.save()
    CitizenProfile.objects.create(
        user=user,
        vneid_subject=f"sub-{username}",
        full_name=full_name,
        national_id=national_id,
        national_id_hash=pii_hash(national_id),
        assurance_level="2",
    )
    return user


@pytest.fixture
def citizen_nhung(db):
    return make_citizen("vneid-nhung", full_name="Nguyễn Thị Hồng Nhung", national_id="001195012345")


@pytest.fixture
def citizen_outsider(db):
    return make_citizen("vneid-hoang", full_name="Trần Văn Hoàng", national_id="079088001234")


@pytest.fixture
def submitted_dossier(procedure, citizen_nhung):
    from procedures.services import ApplicantData, dossier_submit
    from procedures.uploads import check_upload

    return dossier_submit(
        procedure=procedure,
        applicant_user=citizen_nhung,
        applicant=ApplicantData(
            name="Nguyễn Thị Hồng Nhung",
            national_id="001195012345",
            address="Số 1 Phố Huế, Phường Hai Bà Trưng, Hà Nội",
            phone="0912345678",
            email="nhung@example.vn",
        ),
        request_summary="Đề nghị xét tặng giải thưởng",
        upload=check_upload(pdf_upload()),
        document_title="Đơn đề nghị",
    )


@pytest.fixture
def received_dossier(submitted_dossier, clerk_lan, django_capture_on_commit_callbacks):
    from procedures.services import dossier_receive

    with django_capture_on_commit_callbacks(execute=False):
        return dossier_receive(dossier_id=submitted_dossier.pk, actor=clerk_lan)
