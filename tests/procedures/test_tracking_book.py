"""The dossier tracking book (BM.06 / Mẫu 07): XLSX for a period, PDF per sector and month, built by a
background job with progress; downloadable only by staff of the agency."""

from __future__ import annotations

import datetime as dt
import io
import re
import subprocess

import pytest
from django.urls import reverse
from django.utils import timezone, translation
from openpyxl import load_workbook

from portal.errors import ApplicationError
from portal.models import AuditRecord
from procedures import tracking_book
from procedures.models import Dossier, ExportJob, Procedure
from tests.procedures.test_counter import create_counter_dossier, rule_versions_ensure

pytestmark = pytest.mark.django_db

# BM.06 columns (domain.md §1.7.2), as their English msgids; the lead's catalogue gives the Vietnamese.
COLUMNS = [
    "No.",
    "Dossier code",
    "Name of the administrative procedure",
    "Name of the organisation or individual",
    "Address / phone",
    "Agency in charge of the decision",
    "Dossier received",
    "Appointment for the result",
    "Result returned",
    "How the result was received",
    "Signature of receipt",
]


@pytest.fixture
def book(population_registry_simulator, agency, procedure, clerk_lan, django_capture_on_commit_callbacks):
    """Three dossiers of the agency in two sectors (one returned at the counter)."""
    rule_versions_ensure()
    second = Procedure.objects.create(
        code="QT.DUOC.02",
        name="Cấp chứng chỉ hành nghề dược",
        sector="Dược phẩm",
        agency=agency,
        time_limit_days=20,
        is_published=True,
    )
    dossiers = []
    with django_capture_on_commit_callbacks(execute=False):
        for n, proc in enumerate([procedure, second, procedure]):
            person = population_registry_simulator.living(100 + 10 * n)
            dossier, _ = create_counter_dossier(clerk_lan, proc, personal_id=person.personal_id)
            dossiers.append(dossier)
    # Setup only: mark the third as handed back at the counter (the return path itself is the lifecycle's).
    returned_at = dossiers[2].received_at + dt.timedelta(hours=2)
    Dossier.objects.filter(pk=dossiers[2].pk).update(returned_at=returned_at, return_method="counter")
    return [Dossier.objects.get(pk=d.pk) for d in dossiers]


def run_job(clerk, *, kind, date_from, date_to, sector="", capture, language="en"):
    with capture(execute=True):
        job = tracking_book.tracking_book_export_request(
            actor=clerk, kind=kind, date_from=date_from, date_to=date_to, sector=sector, language=language
        )
    job.refresh_from_db()
    return job


def local(value) -> str:
    return timezone.localtime(value).strftime("%H:%M %d/%m/%Y")


def test_the_xlsx_book_has_every_column_and_one_sheet_per_sector(book, clerk_lan, django_capture_on_commit_callbacks):
    today = timezone.localdate()
    job = run_job(
        clerk_lan,
        kind="xlsx",
        date_from=today - dt.timedelta(days=3),
        date_to=today,
        capture=django_capture_on_commit_callbacks,
    )
    assert (job.status, job.total, job.done, job.percent) == ("done", 3, 3, 100)
    workbook = load_workbook(io.BytesIO(job.file.read()))
    assert workbook.sheetnames == ["Y, Dược cổ truyền", "Dược phẩm"]
    first = workbook["Y, Dược cổ truyền"]
    assert first["A1"].value == "DOSSIER TRACKING BOOK"
    assert [c.value for c in first[3]] == COLUMNS
    rows = [[c.value for c in row] for row in first.iter_rows(min_row=4)]
    a, c = book[0], book[2]
    assert rows == [
        [
            1,
            a.code,
            f"{a.procedure.name} ({a.procedure.code})",
            a.applicant_name,
            f"{a.applicant_address} / {a.applicant_phone}",
            a.agency.name,
            local(a.received_at),
            local(a.due_at),
            None,
            None,
            None,
        ],
        [
            2,
            c.code,
            f"{c.procedure.name} ({c.procedure.code})",
            c.applicant_name,
            f"{c.applicant_address} / {c.applicant_phone}",
            c.agency.name,
            local(c.received_at),
            local(c.due_at),
            local(c.returned_at),
            "at the counter",
            None,
        ],
    ]
    second = [[c.value for c in row] for row in workbook["Dược phẩm"].iter_rows(min_row=4)]
    assert [(r[0], r[1]) for r in second] == [(1, book[1].code)]


def test_a_period_without_dossiers_gives_an_empty_book_and_a_period_before_them_excludes_them(
    book, clerk_lan, django_capture_on_commit_callbacks
):
    job = run_job(
        clerk_lan,
        kind="xlsx",
        date_from=dt.date(2020, 1, 1),
        date_to=dt.date(2020, 12, 31),
        capture=django_capture_on_commit_callbacks,
    )
    sheet = load_workbook(io.BytesIO(job.file.read())).active
    assert job.total == 0
    assert sheet["A4"].value == "No dossier was received in this period."


def test_the_pdf_book_is_one_sector_and_one_month_with_every_column(
    book, clerk_lan, django_capture_on_commit_callbacks, tmp_path
):
    today = timezone.localdate()
    first = today.replace(day=1)
    last = (first + dt.timedelta(days=32)).replace(day=1) - dt.timedelta(days=1)
    job = run_job(
        clerk_lan,
        kind="pdf",
        date_from=first,
        date_to=last,
        sector="Y, Dược cổ truyền",
        capture=django_capture_on_commit_callbacks,
    )
    assert (job.status, job.total) == ("done", 2)
    path = tmp_path / "book.pdf"
    path.write_bytes(job.file.read())
    text = subprocess.run(["pdftotext", str(path), "-"], check=True, capture_output=True).stdout.decode()
    flat = re.sub(r"\s+", " ", text)
    for heading in COLUMNS:
        assert heading in flat, heading
    assert "DOSSIER TRACKING BOOK" in flat
    assert f"Month {first:%m} year {first:%Y}" in flat
    for dossier in (book[0], book[2]):
        assert dossier.code in flat
        assert dossier.applicant_name in flat
    assert book[1].code not in flat  # another sector's book
    assert "at the counter" in flat
    fonts = subprocess.run(["pdffonts", str(path)], check=True, capture_output=True).stdout.decode()
    assert "Liberation-Serif" in fonts


def test_a_pdf_book_must_cover_one_calendar_month(clerk_lan):
    with translation.override("en"), pytest.raises(ApplicationError) as error:
        tracking_book.tracking_book_export_request(
            actor=clerk_lan, kind="pdf", date_from=dt.date(2026, 1, 5), date_to=dt.date(2026, 2, 4)
        )
    assert "one calendar month" in error.value.message
    assert ExportJob.objects.count() == 0


def test_the_page_queues_the_job_shows_progress_and_lets_only_the_agency_download(
    client, book, clerk_lan, officer_minh, clerk_other_agency, django_capture_on_commit_callbacks
):
    client.force_login(clerk_lan)
    page = client.get(reverse("counter:books")).content.decode()
    assert '<option value="Dược phẩm">' in page and '<option value="Y, Dược cổ truyền">' in page
    today = timezone.localdate()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("counter:books"),
            {"kind": "xlsx", "date_from": (today - dt.timedelta(days=1)).isoformat(), "date_to": today.isoformat()},
        )
    job = ExportJob.objects.get()
    assert response.status_code == 302
    assert response.url == reverse("counter:book-job", args=[job.pk])
    partial = client.get(response.url, HTTP_HX_REQUEST="true")
    body = partial.content.decode()
    assert partial.status_code == 200
    assert body.lstrip().startswith('<section id="job-progress" data-status="done"')
    assert 'value="100"' in body
    assert "hx-trigger" not in body  # finished: the page stops polling
    download = client.get(reverse("counter:book-download", args=[job.pk]))
    assert download.status_code == 200
    assert download["Content-Type"].startswith("application/vnd.openxmlformats")
    assert AuditRecord.objects.filter(action="personal_data.read", object_id=str(job.pk)).exists()
    # any staff member of the agency may download; another agency's staff may not even see it
    client.force_login(officer_minh)
    assert client.get(reverse("counter:book-download", args=[job.pk])).status_code == 200
    client.force_login(clerk_other_agency)
    assert client.get(reverse("counter:book-job", args=[job.pk])).status_code == 404
    assert client.get(reverse("counter:book-download", args=[job.pk])).status_code == 404


def test_a_running_job_polls_and_a_pending_job_is_not_downloadable(client, clerk_lan, agency):
    job = ExportJob.objects.create(
        agency=agency,
        created_by=clerk_lan,
        kind="xlsx",
        date_from=dt.date(2026, 1, 1),
        date_to=dt.date(2026, 1, 31),
        status="running",
        total=400,
        done=100,
    )
    client.force_login(clerk_lan)
    body = client.get(reverse("counter:book-job", args=[job.pk]), HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-trigger="every 1s"' in body and 'value="25"' in body
    assert client.get(reverse("counter:book-download", args=[job.pk])).status_code == 404


def test_the_export_task_is_idempotent(book, clerk_lan, django_capture_on_commit_callbacks):
    from procedures.tasks_counter import tracking_book_export_task

    today = timezone.localdate()
    job = run_job(clerk_lan, kind="xlsx", date_from=today, date_to=today, capture=django_capture_on_commit_callbacks)
    name = job.file.name
    tracking_book_export_task.apply(args=[job.pk])
    job.refresh_from_db()
    assert (job.status, job.file.name) == ("done", name)


def test_the_book_counts_dossiers_received_for_the_agency_only(
    book, clerk_other_agency, other_agency, django_capture_on_commit_callbacks
):
    today = timezone.localdate()
    job = run_job(
        clerk_other_agency, kind="xlsx", date_from=today, date_to=today, capture=django_capture_on_commit_callbacks
    )
    assert job.total == 0


# --- a real worker ------------------------------------------------------------------------------------


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_a_celery_worker_builds_the_book_while_the_page_polls_its_progress(client, book, clerk_lan, settings, tmp_path):
    import os
    import subprocess
    import sys
    import time
    import uuid
    from unittest import mock
    from urllib.parse import urlsplit, urlunsplit

    import redis
    from kombu import Exchange, Queue

    from portal.celery import app as celery_app
    from procedures.tasks_counter import tracking_book_export_task
    from tests.integrations.test_delivery_worker import stop, worker_database_url

    broker_url = os.environ.get("CELERY_BROKER_URL", "")
    if not broker_url.startswith("redis://"):
        broker_url = urlunsplit(urlsplit("redis://127.0.0.1:6379/0")._replace(path="/10"))
    try:
        redis.Redis.from_url(broker_url, socket_connect_timeout=2).ping()
    except redis.RedisError as exc:
        pytest.skip(f"Redis is not reachable: {exc}")
    queue_name = f"book-test-{uuid.uuid4().hex[:12]}"
    log_path = tmp_path / "worker.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": os.environ.get("DJANGO_SETTINGS_MODULE", "portal.settings.test"),
        "CELERY_TASK_ALWAYS_EAGER": "false",
        "CELERY_BROKER_URL": broker_url,
        "DATABASE_URL": worker_database_url(),
        "PORTAL_VAR_DIR": str(settings.VAR_DIR),
        "MEDIA_ROOT": str(settings.MEDIA_ROOT),
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("CELERY_RESULT_BACKEND", None)
    with log_path.open("ab") as log:
        worker = subprocess.Popen(
            [
                *(sys.executable, "-m", "celery", "-A", "portal", "worker", "-P", "solo"),
                *("--without-gossip", "--without-mingle", "--without-heartbeat", "-Q", queue_name),
                *("-n", f"{queue_name}@%h", "-l", "INFO"),
            ],
            cwd=settings.BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    queue = Queue(queue_name, Exchange(queue_name, type="direct"), routing_key=queue_name)
    eager = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    try:
        with celery_app.connection_for_write(broker_url) as conn:
            queue(conn.default_channel).declare()

            def publish(job_id):
                return tracking_book_export_task.apply_async(args=[job_id], queue=queue_name, connection=conn)

            client.force_login(clerk_lan)
            today = timezone.localdate()
            with mock.patch.object(tracking_book_export_task, "delay", side_effect=publish):
                response = client.post(
                    reverse("counter:books"),
                    {"kind": "xlsx", "date_from": today.isoformat(), "date_to": today.isoformat()},
                )
            job = ExportJob.objects.get()
            assert response.url == reverse("counter:book-job", args=[job.pk])
            first = client.get(response.url).content.decode()
            assert 'id="job-progress"' in first
            # the page polls (htmx) until the worker has finished
            seen = set()
            deadline = time.monotonic() + 90
            while time.monotonic() < deadline and worker.poll() is None:
                body = client.get(response.url, HTTP_HX_REQUEST="true").content.decode()
                status = re.search(r'data-status="(\w+)"', body).group(1)
                seen.add(status)
                if status in ("done", "failed"):
                    break
                assert 'hx-trigger="every 1s"' in body
                time.sleep(0.1)
            else:
                raise AssertionError(f"the worker did not finish; log:\n{log_path.read_text(errors='replace')[-3000:]}")
    finally:
        celery_app.conf.task_always_eager = eager
        stop(worker)
    assert status == "done", log_path.read_text(errors="replace")[-3000:]
    job.refresh_from_db()
    assert (job.total, job.done) == (3, 3)
    download = client.get(reverse("counter:book-download", args=[job.pk]))
    workbook = load_workbook(io.BytesIO(b"".join(download.streaming_content)))
    codes = {row[1].value for sheet in workbook for row in sheet.iter_rows(min_row=4)}
    assert codes == {d.code for d in book}
