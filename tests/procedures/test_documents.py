from __future__ import annotations

import shutil
import subprocess

import pytest
from django.urls import reverse

from procedures.documents import dossier_receipt_get_or_render
from procedures.models import OfficialDocument
from procedures.tasks import dossier_render_receipt_task

pytestmark = pytest.mark.django_db


def pdf_text(data: bytes, tmp_path) -> str:
    if not shutil.which("pdftotext"):
        pytest.skip("pdftotext not installed (apt-get install poppler-utils)")
    path = tmp_path / "doc.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdftotext", "-layout", str(path), "-"], check=True, capture_output=True).stdout.decode()


def pdf_fonts(data: bytes, tmp_path) -> str:
    path = tmp_path / "fonts.pdf"
    path.write_bytes(data)
    return subprocess.run(["pdffonts", str(path)], check=True, capture_output=True).stdout.decode()


def test_receipt_form01_renders_with_vietnamese_diacritics_in_the_declared_font(received_dossier, tmp_path):
    dossier_render_receipt_task(received_dossier.pk)
    document = OfficialDocument.objects.get(dossier=received_dossier)
    data = document.file.read()
    assert data.startswith(b"%PDF-")
    text = pdf_text(data, tmp_path)
    assert "GIẤY TIẾP NHẬN HỒ SƠ VÀ HẸN TRẢ KẾT QUẢ" in text
    assert received_dossier.code in text
    assert "Nguyễn Thị Hồng Nhung" in text
    assert "001195012345" in text
    assert "150 ngày làm việc" in text
    assert "Cộng hòa xã hội chủ nghĩa Việt Nam".upper() in text.upper()
    fonts = pdf_fonts(data, tmp_path)
    assert "Liberation-Serif" in fonts
    assert "DejaVu" not in fonts  # every Vietnamese glyph came from the declared font


def test_the_receipt_is_rendered_once_and_kept_with_its_checksum(received_dossier):
    import hashlib

    first = dossier_receipt_get_or_render(dossier_id=received_dossier.pk)
    second = dossier_receipt_get_or_render(dossier_id=received_dossier.pk)
    assert first.pk == second.pk
    assert hashlib.sha256(first.file.read()).hexdigest() == first.sha256
    assert OfficialDocument.objects.count() == 1


def test_the_citizen_downloads_their_receipt_and_a_stranger_cannot(
    client, received_dossier, citizen_nhung, citizen_outsider
):
    client.force_login(citizen_nhung)
    response = client.get(reverse("procedures:dossier-receipt", args=[received_dossier.reference]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    client.force_login(citizen_outsider)
    assert client.get(reverse("procedures:dossier-receipt", args=[received_dossier.reference])).status_code == 404
