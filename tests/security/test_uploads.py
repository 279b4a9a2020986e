"""T12–T16: every upload goes through portal.uploads (decisions 0054, 0055).

Each bad input is built here (no fixture files) and tried against the service and, for documents, through the
applicant's upload step and the counter intake; staff imports through the reconciliation view. The antivirus is
a clamd-protocol simulator (INSTREAM) started on a loopback port, or a closed port for "clamd is down".
"""

from __future__ import annotations

import contextlib
import io
import socket
import struct
import threading
import tracemalloc
import zipfile
import zlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import RequestFactory
from django.urls import reverse
from PIL import ExifTags, Image
from pyhanko.pdf_utils import generic
from pyhanko.pdf_utils.writer import PdfFileWriter

from citizens.models import Draft, DraftDocument
from portal.models import AuditRecord
from portal.uploads import (
    OversizedUpload,
    ScanStatus,
    check_table_upload,
    check_upload,
    upload_name_clean,
    upload_scan_pending,
)
from procedures.models import Dossier, DossierDocument, ProcedureDocument
from tests.conftest import MINIMAL_PDF, pdf_bytes, png_bytes

pytestmark = pytest.mark.django_db

EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
CATALOG = b"<</Type/Catalog/Pages 2 0 R>>"
PAGES = b"<</Type/Pages/Kids[3 0 R]/Count 1>>"
PAGE = b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>"


# --- bad inputs, built here ------------------------------------------------------------------------------


def pdf_with(catalog: bytes, *extra: bytes) -> bytes:
    return pdf_bytes(catalog, PAGES, PAGE, *extra)


def pdf_js_in_object_stream() -> bytes:
    """JavaScript as the open action, inside a compressed object stream: invisible to a byte scan."""
    writer = PdfFileWriter(stream_xrefs=True)
    stream = writer.prepare_object_stream()
    action = generic.DictionaryObject(
        {
            generic.NameObject("/S"): generic.NameObject("/JavaScript"),
            generic.NameObject("/JS"): generic.TextStringObject("app.alert(1)"),
        }
    )
    writer.root[generic.NameObject("/OpenAction")] = writer.add_object(action, obj_stream=stream)
    out = io.BytesIO()
    writer.write(out)
    assert b"JavaScript" not in out.getvalue()
    return out.getvalue()


def pdf_encrypted() -> bytes:
    writer = PdfFileWriter()
    writer.encrypt("owner-password", "user-password")
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def zip_bytes(entries: dict[str, bytes], *, symlink: str | None = None) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in entries.items():
            archive.writestr(name, content)
        if symlink:
            info = zipfile.ZipInfo(symlink)
            info.external_attr = (0o120777 << 16) | 0
            archive.writestr(info, "/etc/passwd")
    return out.getvalue()


def xlsx_parts(**extra: bytes) -> dict[str, bytes]:
    return {"[Content_Types].xml": b"<Types/>", "xl/workbook.xml": b"<workbook/>", **extra}


def png_declaring(width: int, height: int) -> bytes:
    """A PNG whose header declares WIDTH × HEIGHT pixels (with a few bytes of data): a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack("!I", len(data)) + kind + data + struct.pack("!I", zlib.crc32(kind + data))

    header = struct.pack("!IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 1024)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def jpeg_with_gps() -> bytes:
    image = Image.new("RGB", (32, 24), (200, 30, 30))
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Phone"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = (21.0, 1.0, 30.0)
    gps[ExifTags.GPS.GPSLongitudeRef] = "E"
    gps[ExifTags.GPS.GPSLongitude] = (105.0, 51.0, 0.0)
    out = io.BytesIO()
    image.save(out, format="JPEG", exif=exif)
    data = out.getvalue()
    assert Image.open(io.BytesIO(data)).getexif().get_ifd(ExifTags.IFD.GPSInfo)  # the GPS is really there
    return data


def jpeg_with_php() -> bytes:
    """A valid JPEG whose comment segment is a PHP program (the classic image/script polyglot)."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8)).save(out, format="JPEG", comment=b"<?php system($_GET['c']); ?>")
    assert b"<?php" in out.getvalue()
    return out.getvalue()


ELF = b"\x7fELF\x02\x01\x01" + b"\x00" * 300
PE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00" + b"\x00" * 300

# (id, file name, content, code of the refusal): each is one bad input, tried against the service and
# through the applicant's upload step (item accepting PDF, JPG and PNG).
BAD_DOCUMENTS = [
    ("renamed-exe", "hoa-don.pdf", PE, "program"),
    ("elf-as-pdf", "giay-to.pdf", ELF, "program"),
    ("html-as-pdf", "don.pdf", b"<!DOCTYPE html><html><script>alert(1)</script></html>", "bad_type"),
    ("svg-as-png", "anh.png", b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>', "bad_type"),
    ("php-as-jpg", "anh.jpg", b"<?php system($_GET['c']); ?>", "bad_type"),
    ("pdf-named-html", "x.pdf.html", MINIMAL_PDF, "name_mismatch"),
    ("pdf-named-png", "anh.png", MINIMAL_PDF, "name_mismatch"),
    ("empty", "trong.pdf", b"", "empty"),
    (
        "pdf-javascript",
        "js.pdf",
        pdf_with(b"<</Type/Catalog/Pages 2 0 R/OpenAction 4 0 R>>", b"<</S/JavaScript/JS(app.alert(1))>>"),
        "pdf_active",
    ),
    (
        "pdf-js-hex-escaped",
        "js2.pdf",
        pdf_with(b"<</Type/Catalog/Pages 2 0 R/OpenAction<</S/J#61vaScript/J#53(x)>>>>"),
        "pdf_active",
    ),
    ("pdf-js-in-object-stream", "js3.pdf", pdf_js_in_object_stream(), "pdf_active"),
    (
        "pdf-launch",
        "launch.pdf",
        pdf_with(b"<</Type/Catalog/Pages 2 0 R/OpenAction<</S/Launch/F(cmd.exe)>>>>"),
        "pdf_active",
    ),
    (
        "pdf-embedded-file",
        "embed.pdf",
        pdf_with(
            b"<</Type/Catalog/Pages 2 0 R/Names<</EmbeddedFiles 4 0 R>>>>",
            b"<</Names[(a.exe) 5 0 R]>>",
            b"<</Type/Filespec/F(a.exe)/EF<</F 6 0 R>>>>",
            b"<</Type/EmbeddedFile/Length 2>>stream\nMZ\nendstream",
        ),
        "pdf_active",
    ),
    (
        "pdf-additional-actions",
        "aa.pdf",
        pdf_bytes(CATALOG, PAGES, b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 9 9]/AA<</O<</S/URI/URI(http://x)>>>>>>"),
        "pdf_active",
    ),
    (
        "pdf-xfa",
        "xfa.pdf",
        pdf_with(b"<</Type/Catalog/Pages 2 0 R/AcroForm<</Fields[]/XFA 4 0 R>>>>", b"<</Length 0>>stream\n\nendstream"),
        "pdf_active",
    ),
    (
        "pdf-richmedia",
        "rm.pdf",
        pdf_bytes(CATALOG, PAGES, b"<</Type/Page/Parent 2 0 R/MediaBox[0 0 9 9]/Annots[<</Subtype/RichMedia>>]>>"),
        "pdf_active",
    ),
    ("pdf-encrypted", "khoa.pdf", pdf_encrypted(), "pdf_encrypted"),
    ("pdf-broken", "hong.pdf", b"%PDF-1.7\n1 0 obj<</Type/Catalog>>endobj\n", "pdf_broken"),
    ("pdf-truncated", "cut.pdf", MINIMAL_PDF[: len(MINIMAL_PDF) // 2], "pdf_broken"),
    ("zip-as-pdf", "ho-so.pdf", zip_bytes({"a.pdf": MINIMAL_PDF}), "archive"),
    ("zip", "ho-so.zip", zip_bytes({"a.pdf": MINIMAL_PDF}), "archive"),
    ("docx", "don.docx", zip_bytes({"[Content_Types].xml": b"<Types/>", "word/document.xml": b"<w/>"}), "archive"),
    ("gzip", "don.pdf.gz", b"\x1f\x8b\x08\x00" + b"\x00" * 60, "archive"),
    ("7z", "ho-so.7z", b"7z\xbc\xaf\x27\x1c" + b"\x00" * 60, "archive"),
    ("rar", "ho-so.rar", b"Rar!\x1a\x07\x00" + b"\x00" * 60, "archive"),
    ("png-bomb", "bom.png", png_declaring(30_000, 30_000), "image_bomb"),
    ("png-broken", "hong.png", b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 40, "image_broken"),
    ("bidi-exe", "invoice\u202efdp.exe", PE, "program"),
    ("bidi-pdf-named-exe", "invoice\u202efdp.exe", MINIMAL_PDF, "program"),
]


def refusal_code(name: str, content: bytes, **kwargs) -> str:
    with pytest.raises(ValidationError) as caught:
        check_upload(SimpleUploadedFile(name, content, content_type="application/pdf"), **kwargs)
    return caught.value.code


@pytest.mark.parametrize(("name", "content", "code"), [b[1:] for b in BAD_DOCUMENTS], ids=[b[0] for b in BAD_DOCUMENTS])
def test_the_service_refuses_each_bad_document_with_its_reason(name, content, code):
    assert refusal_code(name, content) == code


def test_a_well_formed_pdf_jpeg_and_png_are_accepted_and_a_plain_open_action_is_allowed():
    fit = pdf_with(b"<</Type/Catalog/Pages 2 0 R/OpenAction[3 0 R/Fit]>>")
    assert check_upload(SimpleUploadedFile("don.pdf", fit)).content_type == "application/pdf"
    assert check_upload(SimpleUploadedFile("anh.PNG", png_bytes(4, 4))).content_type == "image/png"
    assert check_upload(SimpleUploadedFile("anh.jpeg", jpeg_with_gps())).content_type == "image/jpeg"


def test_an_image_is_re_encoded_without_exif_gps_and_a_script_in_a_jpeg_comment_is_gone():
    checked = check_upload(SimpleUploadedFile("anh.jpg", jpeg_with_gps()))
    stored = checked.file.read()
    assert checked.size == len(stored)
    image = Image.open(io.BytesIO(stored))
    assert image.size == (32, 24)
    assert not image.getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert b"Exif" not in stored and b"Phone" not in stored
    polyglot = check_upload(SimpleUploadedFile("anh.jpg", jpeg_with_php())).file.read()
    assert b"<?php" not in polyglot


@pytest.mark.parametrize(
    ("raw", "clean"),
    [
        ("invoice\u202egpj.pdf", "invoicegpj.pdf"),  # right-to-left override
        ("don\u2066\u2069\u200b\u200e.pdf", "don.pdf"),  # isolates, zero-width, marks
        ("don\x00\x1b[31m\r\n.pdf", "don[31m.pdf"),  # NUL, escape, CR/LF
        ('"><script>alert(1)</script>.pdf', "script.pdf"),  # "</" starts a path part
        ("../../etc/passwd.pdf", "passwd.pdf"),
        ("C:\\Users\\a\\don.pdf", "don.pdf"),
        ("Gia\u0301y kha\u0301m.pdf", "Giáy khám.pdf"),  # decomposed → NFC
        ("a" * 300 + ".pdf", "a" * 96 + ".pdf"),
        ("", "document"),
    ],
)
def test_file_names_are_cleaned(raw, clean):
    assert upload_name_clean(raw) == clean


# --- antivirus: a clamd-protocol simulator --------------------------------------------------------------


class Clamd:
    """Speaks clamd's INSTREAM: answers "stream: Eicar-Test-Signature FOUND" when the EICAR string is in the
    stream, "stream: OK" otherwise. `down()` closes the port (connection refused)."""

    def __init__(self) -> None:
        self.server = socket.create_server(("127.0.0.1", 0))
        self.port = self.server.getsockname()[1]
        self.scanned = 0
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"tcp://127.0.0.1:{self.port}"

    def _serve(self) -> None:
        while True:
            try:
                conn, _addr = self.server.accept()
            except OSError:
                return
            with conn:
                reader = conn.makefile("rb")
                command = b""
                while not command.endswith(b"\0"):
                    command += reader.read(1)
                assert command == b"zINSTREAM\0"
                data = b""
                while (size := struct.unpack("!L", reader.read(4))[0]) != 0:
                    data += reader.read(size)
                self.scanned += 1
                found = EICAR in data
                conn.sendall(b"stream: Eicar-Test-Signature FOUND\0" if found else b"stream: OK\0")

    def down(self) -> None:
        with contextlib.suppress(OSError):
            self.server.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the serving thread
        self.server.close()
        self.thread.join()


@pytest.fixture
def clamd(settings) -> Iterator[Clamd]:
    simulator = Clamd()
    settings.CLAMAV_URL = simulator.url
    settings.UPLOAD_QUARANTINE_ROOT = Path(django_settings.MEDIA_ROOT).parent / "quarantine-test"
    yield simulator
    simulator.down()


@pytest.fixture
def clamd_down(settings) -> str:
    with socket.create_server(("127.0.0.1", 0)) as probe:
        port = probe.getsockname()[1]  # closed when the block ends: nothing listens there
    settings.CLAMAV_URL = f"127.0.0.1:{port}"
    return settings.CLAMAV_URL


PDF_WITH_EICAR = pdf_with(CATALOG, b"<</Length %d>>stream\n" % len(EICAR) + EICAR + b"\nendstream")


def test_eicar_is_refused_and_audited_and_clean_files_are_marked_clean(clamd):
    assert refusal_code("virus.pdf", PDF_WITH_EICAR) == "infected"
    record = AuditRecord.objects.get(action="upload.infected")
    assert record.data["signature"] == "Eicar-Test-Signature"
    assert record.data["name"] == "virus.pdf"
    assert refusal_code("eicar.pdf", EICAR) == "bad_type"  # the bare test string is not even a PDF
    assert check_upload(SimpleUploadedFile("don.pdf", MINIMAL_PDF)).scan_status == ScanStatus.CLEAN
    assert clamd.scanned == 2


def test_with_clamd_down_a_document_is_held_pending_but_a_staff_import_is_refused(clamd_down):
    assert check_upload(SimpleUploadedFile("don.pdf", MINIMAL_PDF)).scan_status == ScanStatus.PENDING
    csv = SimpleUploadedFile("list.csv", b"personal_id,full_name,birth_date\n001,A,2000-01-01\n")
    with pytest.raises(ValidationError) as caught:
        check_table_upload(csv, suffixes={".csv"})
    assert caught.value.code == "scan_unavailable"


def test_without_a_scanner_configured_files_are_marked_unscanned(settings):
    settings.CLAMAV_URL = ""
    assert check_upload(SimpleUploadedFile("don.pdf", MINIMAL_PDF)).scan_status == ScanStatus.UNSCANNED


def submit_with_documents(procedure, citizen, *contents: bytes) -> Dossier:
    from procedures.services import ApplicantData, dossier_submit

    dossier = dossier_submit(
        procedure=procedure,
        applicant_user=citizen,
        applicant=ApplicantData(
            name="Nguyễn Thị Hồng Nhung",
            national_id="001195012345",
            address="Số 1 Phố Huế, Hà Nội",
            phone="0912345678",
            email="",
        ),
        request_summary="Đề nghị",
        upload=check_upload(SimpleUploadedFile("don.pdf", contents[0])),
        document_title="Đơn",
    )
    for index, content in enumerate(contents[1:], start=2):
        checked = check_upload(SimpleUploadedFile(f"phu-luc-{index}.pdf", content))
        document = DossierDocument(
            dossier=dossier,
            title="Phụ lục",
            original_name=checked.name,
            content_type=checked.content_type,
            size=checked.size,
            sha256=checked.sha256,
            scan_status=checked.scan_status,
        )
        document.file.save(checked.name, checked.file, save=True)
    return dossier


def test_a_pending_file_is_hidden_from_staff_until_the_sweep_scans_it_and_an_infected_one_is_quarantined(
    client, settings, procedure, citizen_nhung, clerk_lan, clamd_down
):
    dossier = submit_with_documents(procedure, citizen_nhung, MINIMAL_PDF, PDF_WITH_EICAR)
    clean, infected = dossier.documents.order_by("id")
    assert {clean.scan_status, infected.scan_status} == {ScanStatus.PENDING}
    client.force_login(clerk_lan)
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("workspace:dossier", args=[dossier.pk])).content.decode()
    assert "don.pdf" not in page and "phu-luc-2.pdf" not in page
    assert "2 files are waiting for the virus scan" in page  # held, and the clerk is told so
    for document in (clean, infected):
        assert client.get(reverse("workspace:document", args=[dossier.pk, document.pk])).status_code == 404
        assert client.get(reverse("workspace:document", args=[dossier.pk, document.pk])).status_code == 404
    assert upload_scan_pending() == {"clean": 0, "infected": 0, "pending": 2}  # still down: nothing lost

    simulator = Clamd()
    settings.CLAMAV_URL = simulator.url
    settings.UPLOAD_QUARANTINE_ROOT = Path(django_settings.MEDIA_ROOT).parent / "quarantine-sweep"
    from portal.tasks_uploads import upload_scan_sweep_task

    assert upload_scan_sweep_task.apply().get() == {"clean": 1, "infected": 1, "pending": 0}
    simulator.down()
    clean.refresh_from_db()
    infected.refresh_from_db()
    assert (clean.scan_status, infected.scan_status) == (ScanStatus.CLEAN, ScanStatus.INFECTED)
    response = client.get(reverse("workspace:document", args=[dossier.pk, clean.pk]))
    assert response.status_code == 200
    assert client.get(reverse("workspace:document", args=[dossier.pk, infected.pk])).status_code == 404
    assert not Path(infected.file.path).exists()
    page = client.get(reverse("workspace:dossier", args=[dossier.pk])).content.decode()
    assert "1 file was found infected and quarantined" in page and "waiting for the virus scan" not in page
    record = AuditRecord.objects.get(action="upload.infected")
    assert record.object_id == str(dossier.pk) and record.data["signature"] == "Eicar-Test-Signature"
    quarantined = settings.UPLOAD_QUARANTINE_ROOT / record.data["quarantine"]
    assert EICAR in quarantined.read_bytes()


# --- limits and memory ------------------------------------------------------------------------------------


class CountingInput:
    """A WSGI input that counts what is read from it (the body a client is still sending)."""

    def __init__(self) -> None:
        self.read_bytes = 0

    def read(self, size: int = -1) -> bytes:
        chunk = b"x" * (65536 if size < 0 else min(size, 65536))
        self.read_bytes += len(chunk)
        return chunk

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)


def test_a_body_over_the_limit_is_answered_413_before_any_of_it_is_read(client, citizen_nhung, procedure):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(citizen_nhung)
    draft = Draft.objects.create(user=citizen_nhung, procedure=procedure, token="a" * 32)
    body = CountingInput()
    response = client.generic(
        "POST",
        reverse("citizens:draft-step", args=[draft.token, "documents"]),
        b"-",
        content_type="multipart/form-data; boundary=xyz",
        CONTENT_LENGTH=str(200 * 1024 * 1024),
        **{"wsgi.input": body},
    )
    assert response.status_code == 413
    assert "too large" in response.content.decode()
    assert body.read_bytes == 0
    assert not DraftDocument.objects.exists()


def test_a_file_over_the_per_file_limit_is_counted_not_kept_and_memory_stays_flat(settings):
    settings.FILE_UPLOAD_MAX_MEMORY_SIZE = 64 * 1024
    settings.UPLOAD_MAX_BYTES = 4 * 1024 * 1024
    big = SimpleUploadedFile("to.pdf", MINIMAL_PDF + b"0" * (6 * 1024 * 1024))
    request = RequestFactory().post("/x/", {"f": big})
    tracemalloc.start()
    try:
        upload = request.FILES["f"]
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert isinstance(upload, OversizedUpload) and upload.size > settings.UPLOAD_MAX_BYTES
    assert peak < 1024 * 1024  # the 6 MB file never sits in memory
    assert refusal_code("to.pdf", b"", max_bytes=None) == "empty"
    with pytest.raises(ValidationError) as caught:
        check_upload(upload)
    assert caught.value.code == "too_large"


# --- through the applicant's upload step ------------------------------------------------------------------


@pytest.fixture
def any_document_procedure(procedure):
    ProcedureDocument.objects.create(procedure=procedure, order=1, name="Giấy tờ", accepted_types="pdf,jpg,png")
    return procedure


@pytest.fixture
def applicant(client, citizen_nhung, any_document_procedure):
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(citizen_nhung)
    response = client.post(reverse("citizens:apply", args=[any_document_procedure.pk]))
    return Draft.objects.get(token=response["Location"].split("/")[3])


def upload(client, draft, *files):
    return client.post(reverse("citizens:draft-step", args=[draft.token, "documents"]), {"item": "1", "files-1": files})


@pytest.mark.parametrize(("name", "content", "code"), [b[1:] for b in BAD_DOCUMENTS], ids=[b[0] for b in BAD_DOCUMENTS])
def test_the_applicant_upload_step_refuses_each_bad_document_and_stores_nothing(client, applicant, name, content, code):
    response = upload(client, applicant, SimpleUploadedFile(name, content, content_type="application/pdf"))
    assert response.status_code == 400
    assert f"<strong>{upload_name_clean(name)}</strong>" in response.content.decode()
    assert not applicant.documents.exists()


def test_the_applicant_gets_a_clean_name_a_generated_storage_name_and_a_safe_download(client, applicant):
    name = "Giấy khám sức khỏe\u202e.pdf"
    assert upload(client, applicant, SimpleUploadedFile(name, MINIMAL_PDF)).status_code == 302
    document = applicant.documents.get()
    assert document.original_name == "Giấy khám sức khỏe.pdf"
    stored = Path(document.file.path)
    assert stored.is_relative_to(Path(django_settings.MEDIA_ROOT))
    assert not stored.is_relative_to(Path(django_settings.STATIC_ROOT))
    assert len(stored.stem) == 32 and stored.suffix == ".pdf" and "kh" not in stored.name  # a UUID, not the name
    response = client.get(reverse("citizens:draft-document", args=[applicant.token, document.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        "attachment; filename=\"Giay kham suc khoe.pdf\"; filename*=UTF-8''"
        "Gi%E1%BA%A5y%20kh%C3%A1m%20s%E1%BB%A9c%20kh%E1%BB%8Fe.pdf"
    )
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")
    assert response["Content-Type"] == "application/pdf"
    # Guessing the storage URL gets nothing: media is not served.
    assert client.get(django_settings.MEDIA_URL + document.file.name).status_code == 404
    assert client.get("/media/" + document.file.name).status_code == 404


def test_a_stored_image_has_no_exif_gps(client, applicant):
    assert upload(client, applicant, SimpleUploadedFile("cccd.jpg", jpeg_with_gps())).status_code == 302
    document = applicant.documents.get()
    with document.file.open("rb") as handle:
        stored = handle.read()
    assert not Image.open(io.BytesIO(stored)).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    assert b"Exif" not in stored and document.size == len(stored)


def test_more_files_than_a_request_may_carry_are_refused(client, applicant, settings):
    files = [SimpleUploadedFile(f"{i}.pdf", MINIMAL_PDF) for i in range(settings.DATA_UPLOAD_MAX_NUMBER_FILES + 1)]
    assert upload(client, applicant, *files).status_code == 400
    assert not applicant.documents.exists()


def test_the_dossier_count_and_total_size_limits_refuse_the_file_that_goes_over(client, applicant, settings):
    settings.UPLOAD_MAX_DOSSIER_FILES = 2
    settings.APPLY_MAX_FILES_PER_ITEM = 10
    response = upload(client, applicant, *(SimpleUploadedFile(f"{i}.pdf", MINIMAL_PDF) for i in range(3)))
    assert response.status_code == 400
    assert "at most 2 files" in response.content.decode()
    assert applicant.documents.count() == 2
    settings.UPLOAD_MAX_DOSSIER_FILES = 30
    settings.UPLOAD_MAX_DOSSIER_BYTES = 2 * len(MINIMAL_PDF) + 10
    response = upload(client, applicant, SimpleUploadedFile("3.pdf", MINIMAL_PDF))
    assert response.status_code == 400
    assert "exceed" in response.content.decode()
    assert applicant.documents.count() == 2


def test_the_applicant_upload_with_clamd_down_is_kept_pending_and_eicar_is_refused(client, applicant, settings):
    simulator = Clamd()
    settings.CLAMAV_URL = simulator.url
    response = upload(client, applicant, SimpleUploadedFile("virus.pdf", PDF_WITH_EICAR))
    assert response.status_code == 400 and "virus" in response.content.decode()
    assert AuditRecord.objects.filter(action="upload.infected", actor=applicant.user).count() == 1
    simulator.down()
    assert upload(client, applicant, SimpleUploadedFile("don.pdf", MINIMAL_PDF)).status_code == 302
    assert applicant.documents.get().scan_status == ScanStatus.PENDING


# --- through the counter ----------------------------------------------------------------------------------

COUNTER_BAD = ["pdf-javascript", "pdf-embedded-file", "zip-as-pdf", "renamed-exe", "pdf-encrypted"]


@pytest.mark.parametrize("case", COUNTER_BAD)
def test_the_counter_refuses_bad_scans(client, clerk_lan, procedure, population_registry_simulator, case):
    from tests.procedures.test_counter import counter_setup
    from tests.procedures.test_counter_views import application, english, identify, start

    _id, name, content, _code = next(b for b in BAD_DOCUMENTS if b[0] == case)
    counter_setup(procedure)
    person = population_registry_simulator.living(34)
    client.force_login(clerk_lan)
    url = start(client)
    identify(client, url, procedure, personal_id=person.personal_id)
    english(client)
    response = client.post(url, application(**{"doc-1": SimpleUploadedFile(name.replace(".", "-") + ".pdf", content)}))
    assert response.status_code == 400
    assert "Đơn đề nghị xét tặng" in response.content.decode()
    assert Dossier.objects.count() == 0 and DossierDocument.objects.count() == 0


def test_the_counter_strips_image_metadata_and_serves_scans_as_attachments(
    client, clerk_lan, procedure, population_registry_simulator
):
    from tests.procedures.test_counter import counter_setup
    from tests.procedures.test_counter_views import application, identify, start

    counter_setup(procedure)
    person = population_registry_simulator.living(34)
    client.force_login(clerk_lan)
    url = start(client)
    identify(client, url, procedure, personal_id=person.personal_id)
    response = client.post(url, application(**{"doc-2": SimpleUploadedFile("cccd.jpg", jpeg_with_gps())}))
    assert response.status_code == 302
    scan = DossierDocument.objects.get(checklist_item=2)
    with scan.file.open("rb") as handle:
        assert not Image.open(handle).getexif().get_ifd(ExifTags.IFD.GPSInfo)
    response = client.get(reverse("workspace:document", args=[scan.dossier_id, scan.pk]))
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Content-Security-Policy"].startswith("sandbox")


# --- staff imports: XLSX is a zip --------------------------------------------------------------------------

BAD_TABLES = [
    (
        "zip-bomb",
        "list.xlsx",
        lambda: zip_bytes(xlsx_parts(**{"xl/worksheets/sheet1.xml": b"\0" * (3 * 1024 * 1024)})),
        "archive_bomb",
    ),
    (
        "many-entries",
        "list.xlsx",
        lambda: zip_bytes(xlsx_parts(**{f"xl/p{i}.xml": b"" for i in range(2001)})),
        "archive_bomb",
    ),
    ("path-traversal", "list.xlsx", lambda: zip_bytes(xlsx_parts(**{"../../x.xml": b"x"})), "archive_unsafe"),
    ("absolute-path", "list.xlsx", lambda: zip_bytes(xlsx_parts(**{"/etc/cron.d/x": b"x"})), "archive_unsafe"),
    ("symlink", "list.xlsx", lambda: zip_bytes(xlsx_parts(), symlink="xl/link.xml"), "archive_unsafe"),
    ("not-a-workbook", "list.xlsx", lambda: zip_bytes({"a.txt": b"x"}), "archive_unsafe"),
    ("png-as-csv", "list.csv", png_bytes, "bad_type"),
    ("binary-csv", "list.csv", lambda: b"id,name\n\x00\x01\x02", "bad_type"),
    ("exe-named-xlsx", "list.xlsx", lambda: PE, "bad_type"),
    ("wrong-suffix", "list.exe", lambda: b"id,name\n", "bad_type"),
]


@pytest.mark.parametrize(("name", "build", "code"), [b[1:] for b in BAD_TABLES], ids=[b[0] for b in BAD_TABLES])
def test_staff_import_files_are_checked_before_anything_opens_them(settings, name, build, code):
    settings.UPLOAD_ZIP_MAX_EXPANDED = 2 * 1024 * 1024
    with pytest.raises(ValidationError) as caught:
        check_table_upload(SimpleUploadedFile(name, build()), suffixes={".csv", ".xlsx"})
    assert caught.value.code == code


def test_the_reconciliation_upload_refuses_a_zip_bomb_and_creates_no_job(client, admin_user, settings):
    from integrations.gateway_models import ReconciliationJob

    settings.UPLOAD_ZIP_MAX_EXPANDED = 2 * 1024 * 1024
    client.cookies[django_settings.LANGUAGE_COOKIE_NAME] = "en"
    client.force_login(admin_user)
    bomb = zip_bytes(xlsx_parts(**{"xl/worksheets/sheet1.xml": b"\0" * (3 * 1024 * 1024)}))
    response = client.post(
        reverse("reconciliation:jobs"),
        {"name": "Đối soát", "purpose": "Kiểm tra", "file": SimpleUploadedFile("list.xlsx", bomb)},
    )
    assert response.status_code == 200
    assert "zip bomb" in response.content.decode()
    assert not ReconciliationJob.objects.exists()
