"""Attachments of dossiers pushed by the national portal (OUR protocol, docs/decisions/0045): the simulator
pushes a dossier over real HTTP and serves the announced files; the portal fetches them in a Celery task
(eager here), checks host, size, SHA-256 and type, and stores each once."""

from __future__ import annotations

import base64
import hashlib
import threading

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import translation

from portal.models import AuditRecord
from portal.uploads import image_reencode
from procedures.inbound import national_attachments_fetch
from procedures.models import DossierDocument, DossierEvent
from procedures.models_national import NationalInboundSubmission
from procedures.tasks_national import national_attachments_fetch_task
from tests.conftest import pdf_bytes, png_bytes

SECRET = "test-inbound-secret-0123456789"
SENDER = "DVCQG"
PDF = pdf_bytes(b"<</Type/Catalog/Pages 2 0 R>>", b"<</Type/Pages/Kids[]/Count 0>>")  # parseable (portal.uploads)
PNG = png_bytes()
STORED_PNG = image_reencode(PNG, "image/png")  # images are stored re-encoded, without metadata


@pytest.fixture(autouse=True)
def _inbound_settings(settings):
    settings.NATIONAL_PORTAL_INBOUND_SENDER = SENDER
    settings.NATIONAL_PORTAL_INBOUND_SECRETS = [SECRET]


@pytest.fixture
def sim(national_portal_simulator, live_server):
    national_portal_simulator._call(
        "POST", "/_sim/inbound", {"url": live_server.url, "sender": SENDER, "secret": SECRET}
    )
    return national_portal_simulator


def serve(sim, file_id, content, **options):
    """Have the simulator serve CONTENT at /files/FILE_ID; return its URL, SHA-256 and size."""
    spec = {"id": file_id, "content_b64": base64.b64encode(content).decode(), **options}
    return sim._call("POST", "/_sim/files", spec)


def announce(name, served, *, item="TP1", url=None):
    return {
        "TenTepDinhKem": name,
        "DuongDanTaiTepTin": url or served["url"],
        "MaThanhPhanHoSo": item,
        "HashTepTin": served["sha256"],
    }


def push_dossier(sim, procedure, attachments, reference="DVCQG-2026-000101"):
    body = {
        "MaHoSoQuocGia": reference,
        "MaTTHC": procedure.code,
        "ChuHoSo": "Trần Văn Hoàng",
        "MaDoiTuong": "079088001234",
        "DiaChi": "Số 5 Lê Lợi, Phường Sài Gòn, TP. Hồ Chí Minh",
        "SoDienThoai": "0912345678",
        "TrichYeuHoSo": "Đề nghị xét tặng giải thưởng Hải Thượng Lãn Ông",
        "NgayNop": "20260315093000",
        "TaiLieuNop": attachments,
    }
    answer = sim._call("POST", "/_sim/push", {"kind": "dossier", "data": body})
    assert answer["status"] == 201, answer
    return NationalInboundSubmission.objects.select_related("dossier").get(national_reference=reference)


def downloads(sim):
    return sim._call("GET", "/_sim/files")


@pytest.fixture
def eager_retries():
    """Let Celery's eager mode run a task's retries in-process (countdown not waited) instead of raising."""
    from portal.celery import app

    propagates = app.conf.task_eager_propagates
    app.conf.task_eager_propagates = False
    yield
    app.conf.task_eager_propagates = propagates


@pytest.mark.django_db(transaction=True)
def test_two_attachments_arrive_once_even_when_the_task_runs_again_or_races(sim, procedure, clerk_lan, client):
    procedure.documents.create(order=1, name="Đơn đề nghị")
    pdf, png = serve(sim, "don", PDF), serve(sim, "anh", PNG)
    submission = push_dossier(sim, procedure, [announce("don-de-nghi.pdf", pdf), announce("anh.png", png, item="9")])

    docs = list(DossierDocument.objects.filter(dossier=submission.dossier).order_by("id"))
    assert [(d.title, d.sha256, d.size, d.source, d.checklist_item) for d in docs] == [
        ("don-de-nghi.pdf", hashlib.sha256(PDF).hexdigest(), len(PDF), "upload", 1),
        ("anh.png", hashlib.sha256(STORED_PNG).hexdigest(), len(STORED_PNG), "upload", None),  # no item 9
    ]
    assert [d.content_type for d in docs] == ["application/pdf", "image/png"]
    with docs[0].file.open("rb") as stored:
        assert stored.read() == PDF
    assert submission.files_status == "complete" and submission.files_problems() == []
    assert AuditRecord.objects.filter(action="dossier.national_attachment_stored").count() == 2
    event = DossierEvent.objects.get(dossier=submission.dossier, kind="submitted")
    assert event.data["attachments_announced"] == 2

    # The task again: everything is settled, nothing is fetched or stored.
    national_attachments_fetch_task.apply(args=[submission.pk]).get()
    assert len(downloads(sim)) == 2 and DossierDocument.objects.count() == 2

    # Two workers that both think nothing is settled: each downloads, only one stores per hash.
    NationalInboundSubmission.objects.filter(pk=submission.pk).update(files_report={}, files_status="pending")
    barrier, errors = threading.Barrier(2), []

    def worker():
        try:
            barrier.wait(timeout=10)
            national_attachments_fetch(submission_id=submission.pk)
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert errors == []
    assert DossierDocument.objects.count() == 2
    submission.refresh_from_db()
    assert submission.files_status == "complete"
    assert sorted(e["document"] for e in submission.files_report.values()) == [d.pk for d in docs]

    client.force_login(clerk_lan)
    page = client.get(reverse("workspace:dossier", args=[submission.dossier.pk]), HTTP_ACCEPT_LANGUAGE="en")
    assert 'data-files-status="complete"' in page.content.decode()


@pytest.mark.django_db(transaction=True)
def test_wrong_bytes_are_refused_with_the_reason_recorded_and_nothing_stored(
    sim, procedure, clerk_lan, client, settings
):
    pdf = serve(sim, "don", PDF)
    sim.faults(files_wrong_bytes=True)
    submission = push_dossier(sim, procedure, [announce("don-de-nghi.pdf", pdf)])

    assert DossierDocument.objects.count() == 0
    assert submission.files_status == "problem"
    assert submission.files_report["0"]["status"] == "refused"
    assert submission.files_report["0"]["reason"] == "hash_mismatch"
    audit = AuditRecord.objects.get(action="dossier.national_attachment_refused")
    assert audit.data["reason"] == "hash_mismatch"
    with translation.override("en"):
        assert submission.files_problems() == [
            f"File “don-de-nghi.pdf” was not received: its content does not match the announced SHA-256. "
            f"({submission.files_report['0']['detail']})"
        ]
    client.force_login(clerk_lan)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    page = client.get(reverse("workspace:dossier", args=[submission.dossier.pk])).content.decode()
    assert 'data-files-status="problem"' in page
    assert "File “don-de-nghi.pdf” was not received: its content does not match the announced SHA-256." in page

    # A later run does not retry a permanent refusal.
    sim.faults(clear=True)
    national_attachments_fetch_task.apply(args=[submission.pk]).get()
    assert len(downloads(sim)) == 1 and DossierDocument.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_host_not_in_the_allow_list_is_refused_without_any_request(sim, procedure, settings):
    assert settings.NATIONAL_PORTAL_ATTACHMENT_HOSTS == ["127.0.0.1"]  # the simulator's host by default
    pdf = serve(sim, "don", PDF)
    # The same simulator, named by another host name: still not on the list.
    elsewhere = pdf["url"].replace("127.0.0.1", "localhost")
    submission = push_dossier(sim, procedure, [announce("don-de-nghi.pdf", pdf, url=elsewhere)])

    assert downloads(sim) == []
    assert DossierDocument.objects.count() == 0
    assert submission.files_report["0"]["reason"] == "host_not_allowed"
    assert submission.files_status == "problem"


@pytest.mark.django_db(transaction=True)
def test_an_oversized_file_is_refused_without_reading_it_all(sim, procedure, settings):
    settings.NATIONAL_PORTAL_ATTACHMENT_MAX_BYTES = 256 * 1024
    # 64 MiB without Content-Length (the stream is cut) and 64 MiB with it (refused before reading).
    big = serve(sim, "big", PDF, filler_bytes=64 * 1024 * 1024, no_length=True)
    declared = serve(sim, "declared", PDF, filler_bytes=64 * 1024 * 1024)
    submission = push_dossier(sim, procedure, [announce("big.pdf", big), announce("declared.pdf", declared)])

    assert DossierDocument.objects.count() == 0
    assert [submission.files_report[i]["reason"] for i in ("0", "1")] == ["too_large", "too_large"]
    served = {d["id"]: d for d in downloads(sim)}
    assert served["big"]["complete"] is False and served["big"]["bytes_sent"] < big["size"]
    assert served["declared"]["complete"] is False and served["declared"]["bytes_sent"] < declared["size"]


@pytest.mark.django_db(transaction=True)
def test_the_simulator_down_is_retried_then_fetched_once_it_is_back(sim, procedure, eager_retries):
    pdf = serve(sim, "don", PDF)
    sim.faults(files_down_next=2)  # down for two attempts, then back
    submission = push_dossier(sim, procedure, [announce("don-de-nghi.pdf", pdf)])

    assert [d["status"] for d in downloads(sim)] == [503, 503, 200]
    assert DossierDocument.objects.filter(dossier=submission.dossier, sha256=pdf["sha256"]).count() == 1
    assert submission.files_status == "complete"


@pytest.mark.django_db(transaction=True)
def test_still_down_after_the_last_retry_is_recorded_as_unreachable(sim, procedure, settings, eager_retries):
    settings.NATIONAL_PORTAL_ATTACHMENT_MAX_RETRIES = 2
    pdf = serve(sim, "don", PDF)
    sim.faults(files_down=True)
    submission = push_dossier(sim, procedure, [announce("don-de-nghi.pdf", pdf)])

    assert [d["status"] for d in downloads(sim)] == [503, 503, 503]
    assert submission.files_report["0"]["reason"] == "unreachable"
    assert submission.files_status == "problem" and DossierDocument.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_an_attachment_without_hash_or_of_a_forbidden_type_is_refused(sim, procedure):
    text = serve(sim, "note", b"just some text, not a PDF\n")
    pdf = serve(sim, "don", PDF)
    no_hash = {**announce("don-de-nghi.pdf", pdf), "HashTepTin": ""}
    submission = push_dossier(sim, procedure, [announce("note.pdf", text), no_hash])

    assert [submission.files_report[i]["reason"] for i in ("0", "1")] == ["bad_file", "no_hash"]
    assert [d["id"] for d in downloads(sim)] == ["note"]  # nothing unverifiable is downloaded
    assert DossierDocument.objects.count() == 0
