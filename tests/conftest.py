"""Personas and catalogue fixtures shared by the suite (named by role and state)."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from portal.crypto import pii_hash

MINIMAL_PDF = (
    b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
PNG_BYTES = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40


def pdf_upload(name: str = "don-de-nghi.pdf", content: bytes = MINIMAL_PDF) -> SimpleUploadedFile:
    return SimpleUploadedFile(name, content, content_type="application/pdf")


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


def make_staff(username, agency, role, *, first="Lan", last="Trần Thị"):
    from django.contrib.auth import get_user_model

    from procedures.models import StaffProfile

    user = get_user_model().objects.create_user(
        username=username, password="staff-password-2026", first_name=first, last_name=last, is_staff=True
    )
    StaffProfile.objects.create(user=user, agency=agency, role=role, title="Chuyên viên")
    return user


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
