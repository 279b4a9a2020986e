from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import override_settings
from django.urls import reverse

from procedures.models import Dossier, DossierDocument
from tests.conftest import MINIMAL_PDF, PNG_BYTES, pdf_upload

pytestmark = pytest.mark.django_db

ZIP_BYTES = b"PK\x03\x04" + b"\x00" * 60


def apply(client, procedure, **overrides):
    data = {
        "address": "Số 1 Phố Huế, Hà Nội",
        "phone": "0912 345 678",
        "email": "nhung@example.vn",
        "request_summary": "Đề nghị xét tặng",
        "document": pdf_upload(),
    }
    data.update(overrides)
    data = {k: v for k, v in data.items() if v is not None}
    return client.post(reverse("procedures:procedure-detail", args=[procedure.pk]), data)


def test_citizen_submits_and_sees_the_reference(client, procedure, citizen_nhung):
    client.force_login(citizen_nhung)
    response = apply(client, procedure)
    dossier = Dossier.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("procedures:dossier-detail", args=[dossier.reference])
    page = client.get(response["Location"])
    assert dossier.reference in page.content.decode()
    assert "Đã nộp trực tuyến" in page.content.decode()
    assert dossier.applicant_phone == "0912345678"
    assert dossier.applicant_name == "Nguyễn Thị Hồng Nhung"


def test_identity_fields_posted_by_the_browser_are_ignored(client, procedure, citizen_nhung):
    client.force_login(citizen_nhung)
    apply(client, procedure, applicant_name="Kẻ Giả Mạo", applicant_national_id="079088001234", state="received")
    dossier = Dossier.objects.get()
    assert dossier.applicant_name == "Nguyễn Thị Hồng Nhung"
    assert dossier.applicant_national_id == "001195012345"
    assert dossier.state == Dossier.State.SUBMITTED


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"document": SimpleUploadedFile("don.pdf", ZIP_BYTES, "application/pdf")}, "ZIP, RAR, 7z"),  # archives
        (
            {"document": SimpleUploadedFile("don.pdf", b"just text", "application/pdf")},
            "không thuộc loại được chấp nhận",
        ),
        ({"document": SimpleUploadedFile("anh.pdf", PNG_BYTES, "application/pdf")}, "nhưng nội dung là image/png"),
        ({"document": SimpleUploadedFile("trong.pdf", b"", "application/pdf")}, "rỗng"),
        ({"document": SimpleUploadedFile("don.png", MINIMAL_PDF, "image/png")}, "nhưng nội dung là"),
        ({"document": None}, "Trường này là bắt buộc"),
        ({"address": ""}, "Trường này là bắt buộc"),
        ({"phone": "12345"}, "Nhập số điện thoại"),
        ({"request_summary": ""}, "Trường này là bắt buộc"),
    ],
)
def test_bad_input_gets_a_clear_message_in_vietnamese_and_creates_nothing(
    client, procedure, citizen_nhung, overrides, message
):
    client.force_login(citizen_nhung)
    response = apply(client, procedure, **overrides)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Dossier.objects.exists()
    assert not DossierDocument.objects.exists()


@override_settings(UPLOAD_MAX_BYTES=1024)
def test_an_oversize_file_is_refused_with_the_limit(client, procedure, citizen_nhung):
    client.force_login(citizen_nhung)
    big = MINIMAL_PDF + b"%" + b"x" * 2048
    response = apply(client, procedure, document=SimpleUploadedFile("lon.pdf", big, "application/pdf"))
    assert response.status_code == 400
    assert "quá lớn" in response.content.decode()
    assert not Dossier.objects.exists()


def test_the_error_is_in_english_for_an_english_speaker(client, procedure, citizen_nhung):
    client.force_login(citizen_nhung)
    client.cookies["portal_language"] = "en"
    response = apply(client, procedure, phone="12")
    assert "Enter a Vietnamese phone number" in response.content.decode()


def test_anonymous_visitor_is_asked_to_sign_in_and_cannot_post(client, procedure):
    page = client.get(reverse("procedures:procedure-detail", args=[procedure.pk]))
    assert "Đăng nhập bằng VNeID" in page.content.decode()
    response = apply(client, procedure)
    assert response.status_code == 403
    assert not Dossier.objects.exists()


def test_a_citizen_never_sees_another_citizens_dossier(client, submitted_dossier, citizen_outsider):
    client.force_login(citizen_outsider)
    for name in ("procedures:dossier-detail", "procedures:dossier-receipt"):
        response = client.get(reverse(name, args=[submitted_dossier.reference]))
        assert response.status_code == 404
        assert "Nhung" not in response.content.decode()
    mine = client.get(reverse("citizens:my-dossiers"))
    assert submitted_dossier.reference not in mine.content.decode()


def test_clerk_receives_from_the_workspace_and_the_citizen_sees_the_new_status(
    client, submitted_dossier, clerk_lan, citizen_nhung, django_capture_on_commit_callbacks
):
    client.force_login(clerk_lan)
    queue = client.get(reverse("workspace:queue", args=["to_receive"]))
    assert submitted_dossier.reference in queue.content.decode()
    with django_capture_on_commit_callbacks(execute=False):
        response = client.post(reverse("workspace:act", args=[submitted_dossier.pk, "receive"]))
    assert response.status_code == 302
    submitted_dossier.refresh_from_db()
    assert submitted_dossier.state == Dossier.State.RECEIVED
    client.force_login(citizen_nhung)
    page = client.get(reverse("procedures:dossier-detail", args=[submitted_dossier.reference]))
    assert "Đã tiếp nhận" in page.content.decode()
    assert submitted_dossier.code in page.content.decode()


def test_receive_refuses_get_and_requires_csrf(submitted_dossier, clerk_lan):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(clerk_lan)
    url = reverse("workspace:act", args=[submitted_dossier.pk, "receive"])
    assert strict.get(url).status_code == 405
    assert strict.post(url).status_code == 403
    submitted_dossier.refresh_from_db()
    assert submitted_dossier.state == Dossier.State.SUBMITTED
