"""Batch reconciliation: comparison rules, import (CSV and XLSX, streamed), chunks, reports, corrections."""

from __future__ import annotations

import csv
import io
import unicodedata
from collections import Counter

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.core.files.base import ContentFile
from django.db import connection

from integrations.gateway_models import GatewayMessage, ReconciliationChunk, ReconciliationJob, ReconciliationResult
from integrations.reconciliation import (
    before_after,
    iter_mismatch_export,
    job_counts,
    job_report,
    reconciliation_corrections_import,
    reconciliation_job_create,
    reconciliation_pause,
    reconciliation_process_chunk,
    reconciliation_resume,
    reconciliation_store_chunk,
)
from integrations.reconciliation_matching import (
    InvalidInput,
    compare_birth_dates,
    name_key,
    parse_birth_date,
)
from integrations.reconciliation_synthetic import expected_counts, synthetic_rows
from tests.conftest import totp_enrol

# --- the comparison rules (docs/identity-matching.md) ----------------------------------------------


@pytest.mark.parametrize(
    ("typed", "registered"),
    [
        ("Nguyễn Thị Hòa", "Nguyễn Thị Hòa"),
        ("NGUYỄN THỊ HÒA", "Nguyễn Thị Hòa"),  # case
        ("  Nguyễn   Thị\u00a0Hòa ", "Nguyễn Thị Hòa"),  # spacing, no-break space
        (unicodedata.normalize("NFD", "Nguyễn Thị Hòa"), "Nguyễn Thị Hòa"),  # Unicode form
        ("Nguyễn Thị Hoà", "Nguyễn Thị Hòa"),  # tone placement
        ("Trần Thuỷ", "Trần Thủy"),
        ("Lê Khoẻ", "Lê Khỏe"),
        ("Ngu\u200byễn Văn An", "Nguyễn Văn An"),  # an invisible character
        ("\u00d0ặng Văn An", "Đặng Văn An"),  # Icelandic eth typed for Đ
    ],
)
def test_names_that_are_the_same_name_match(typed, registered):
    assert name_key(typed) == name_key(registered)


@pytest.mark.parametrize(
    ("typed", "registered"),
    [
        ("Nguyen Thi Hoa", "Nguyễn Thị Hòa"),  # diacritics count
        ("Nguyễn Thị Hóa", "Nguyễn Thị Hòa"),  # another tone
        ("Dặng Văn An", "Đặng Văn An"),  # D is not Đ
        ("Nguyễn Hòa", "Nguyễn Thị Hòa"),  # a missing part
        ("Hoàng Văn An", "Hòang Văn An".replace("Hòang", "Hoang")),
    ],
)
def test_names_that_differ_do_not_match(typed, registered):
    assert name_key(typed) != name_key(registered)


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("1995-03-12", "1995-03-12"),
        ("12/03/1995", "1995-03-12"),
        ("12-03-1995", "1995-03-12"),
        ("12.03.1995", "1995-03-12"),
        ("2/3/1995", "1995-03-02"),
        ("03/1995", "1995-03"),
        ("1995-03", "1995-03"),
        ("1995", "1995"),
        ("19950312", "1995-03-12"),
        ("12031995", "1995-03-12"),
    ],
)
def test_dates_of_birth_are_read_in_the_forms_people_type(text, iso):
    assert parse_birth_date(text).iso() == iso


@pytest.mark.parametrize("text", ["", "31/02/1990", "1990-13-01", "abc", "12/1990/03", "0000", "1/2/3"])
def test_unreadable_dates_are_invalid_input(text):
    with pytest.raises(InvalidInput):
        parse_birth_date(text)


@pytest.mark.parametrize(
    ("given", "known", "expected"),
    [
        ("1995-03-12", "1995-03-12", (True, False)),
        ("1995-03-12", "1995", (True, True)),  # the registry knows only the year
        ("1995-03-12", "1995-03", (True, True)),
        ("1995", "1995-03-12", (True, True)),
        ("1995-03-12", "1996", (False, True)),
        ("1995-03-12", "1995-04", (False, True)),
        ("1995-03-12", "1995-03-13", (False, False)),
    ],
)
def test_partial_dates_match_on_the_parts_both_know(given, known, expected):
    assert compare_birth_dates(parse_birth_date(given), parse_birth_date(known)) == expected


# --- jobs -----------------------------------------------------------------------------------------


def csv_file(rows, header=("reference", "so_dinh_danh", "ho_ten", "ngay_sinh", "co_so")) -> ContentFile:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return ContentFile(out.getvalue().encode("utf-8-sig"))


def synthetic(population_registry_simulator, count, seed=5):
    rows = list(synthetic_rows(population_registry_simulator.population, count, seed=seed))
    return rows, [(r.reference, r.personal_id, r.full_name, r.birth_date, r.facility) for r in rows]


def by_key(job) -> Counter:
    total: Counter = Counter()
    for per_key in job_counts(job).values():
        total.update(per_key)
    return total


@pytest.mark.django_db
def test_a_csv_job_classifies_every_record_against_the_ground_truth(
    population_registry_simulator, settings, django_capture_on_commit_callbacks
):
    settings.RECONCILIATION_CHUNK_SIZE = 1000
    rows, table = synthetic(population_registry_simulator, 3500)
    truth = expected_counts(rows)
    assert all(truth[k] for k in ("wrong_dob", "wrong_name", "wrong_name_and_dob", "id_not_found", "other:deceased"))
    with django_capture_on_commit_callbacks(execute=True):
        job = reconciliation_job_create(
            name="Tiêm chủng Q1", purpose="Làm sạch dữ liệu", file=csv_file(table), filename="ds.csv"
        )
    job.refresh_from_db()
    assert (job.status, job.total_records, job.chunks.count()) == ("done", 3500, 4)
    assert by_key(job) == truth
    assert ReconciliationResult.objects.filter(job=job).count() == 3500
    # one bulk message per chunk in the message log, with no personal data
    assert GatewayMessage.objects.filter(operation="lookup-bulk").count() == 4
    # per facility: each facility's row equals its records' ground truth
    rows_report, total = job_report(job)
    per_facility = Counter(r.facility for r in rows)
    assert {r.facility: r.total for r in rows_report} == dict(per_facility)
    assert total.total == 3500
    assert total.percent("matched") == round(100 * truth["matched"] / 3500, 2)


@pytest.mark.django_db
def test_an_xlsx_file_is_read_streamed_with_dates_and_numeric_ids(
    population_registry_simulator, settings, django_capture_on_commit_callbacks
):
    from openpyxl import Workbook

    person = population_registry_simulator.living(1)  # province 002: a numeric cell loses the zeros
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet()
    sheet.append(["Số định danh", "Họ và tên", "Ngày sinh", "Cơ sở"])
    from datetime import date

    y, m, d = (int(p) for p in person.birth_date.split("-"))
    sheet.append([int(person.personal_id), person.full_name, date(y, m, d), "Trạm Y tế"])
    sheet.append(["bad id", person.full_name, "1990", "Trạm Y tế"])
    buffer = io.BytesIO()
    workbook.save(buffer)
    with django_capture_on_commit_callbacks(execute=True):
        job = reconciliation_job_create(
            name="xlsx", purpose="Làm sạch", file=ContentFile(buffer.getvalue()), filename="ds.xlsx"
        )
    job.refresh_from_db()
    assert job.status == "done"
    assert by_key(job) == Counter({"matched": 1, "other:invalid_input": 1})


@pytest.mark.django_db
def test_a_file_without_the_needed_columns_fails_the_job_not_the_worker(
    population_registry_simulator, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job = reconciliation_job_create(name="bad", purpose="p", file=ContentFile(b"a,b\n1,2\n"), filename="bad.csv")
    job.refresh_from_db()
    assert job.status == "failed"
    assert "personal_id" in job.error
    with django_capture_on_commit_callbacks(execute=True):
        broken = reconciliation_job_create(
            name="x", purpose="p", file=ContentFile(b"PK\x03\x04junk"), filename="x.xlsx"
        )
    broken.refresh_from_db()
    assert broken.status == "failed"


@pytest.mark.django_db
def test_running_a_chunk_twice_never_double_counts(
    population_registry_simulator, settings, django_capture_on_commit_callbacks
):
    settings.RECONCILIATION_CHUNK_SIZE = 500
    rows, table = synthetic(population_registry_simulator, 1000)
    with django_capture_on_commit_callbacks(execute=True):
        job = reconciliation_job_create(name="twice", purpose="p", file=csv_file(table), filename="a.csv")
    first = job.chunks.order_by("number").first()
    before = by_key(job)
    # a redelivered task, and a late duplicate that lost the race
    assert reconciliation_process_chunk(chunk_id=first.pk) == "already done"
    assert reconciliation_store_chunk(chunk_id=first.pk, verdicts=[]) == "duplicate discarded"
    assert by_key(job) == before == expected_counts(rows)
    assert ReconciliationResult.objects.filter(job=job).count() == 1000


@pytest.mark.django_db
def test_pause_keeps_chunks_pending_and_resume_finishes_them(
    population_registry_simulator, settings, django_capture_on_commit_callbacks
):
    settings.RECONCILIATION_CHUNK_SIZE = 100
    settings.CELERY_TASK_ALWAYS_EAGER = True
    rows, table = synthetic(population_registry_simulator, 300)
    # the job is created and paused before its chunks run (the queue is stopped for the import)
    from unittest import mock

    with (
        mock.patch("integrations.reconciliation._queue_chunks"),
        mock.patch("integrations.reconciliation.reconciliation_queue_pending", return_value=0),
        django_capture_on_commit_callbacks(execute=True),
    ):
        job = reconciliation_job_create(name="pause", purpose="p", file=csv_file(table), filename="a.csv")
    assert reconciliation_pause(job_id=job.pk)
    chunk = job.chunks.first()
    assert reconciliation_process_chunk(chunk_id=chunk.pk) == "job paused"
    assert job.chunks.filter(state="pending").count() == 3
    with django_capture_on_commit_callbacks(execute=True):
        assert reconciliation_resume(job_id=job.pk)
    job.refresh_from_db()
    assert job.status == "done"
    assert by_key(job) == expected_counts(rows)


@pytest.mark.django_db
def test_an_unavailable_registry_classifies_the_chunk_as_service_errors(
    population_registry_simulator, settings, django_capture_on_commit_callbacks
):
    settings.RECONCILIATION_CHUNK_SIZE = 1000
    person = population_registry_simulator.living(5)
    population_registry_simulator.faults(fail_next=10, status=503)  # every attempt fails
    table = [("1", person.personal_id, person.full_name, person.birth_date, "A"), ("2", "123", "X", "1990", "A")]
    with django_capture_on_commit_callbacks(execute=True):
        job = reconciliation_job_create(name="down", purpose="p", file=csv_file(table), filename="a.csv")
    job.refresh_from_db()
    assert job.status == "done"
    assert by_key(job) == Counter({"other:service_error": 1, "other:invalid_input": 1})


@pytest.mark.django_db
def test_export_corrections_reverify_and_before_after(
    population_registry_simulator, settings, django_capture_on_commit_callbacks
):
    settings.RECONCILIATION_CHUNK_SIZE = 200
    rows, table = synthetic(population_registry_simulator, 600, seed=9)
    with django_capture_on_commit_callbacks(execute=True):
        job = reconciliation_job_create(name="vòng 1", purpose="p", file=csv_file(table), filename="a.csv")
    exported = list(iter_mismatch_export(job))
    header, body = exported[0], exported[1:]
    assert header[:3] == ["row_no", "reference", "personal_id"]
    assert len(body) == sum(1 for r in rows if r.expected != "matched")
    # the operator corrects the wrong names and dates (the truth is the registry's record)
    population = population_registry_simulator.population
    corrected = io.StringIO()
    writer = csv.writer(corrected)
    writer.writerow(header)
    fixed = 0
    for line in body:
        record = population.find(line[2])
        if line[6] in ("wrong_dob", "wrong_name", "wrong_name_and_dob") and record is not None:
            line[8], line[9] = record.full_name, record.birth_date
            fixed += 1
        writer.writerow(line)
    with django_capture_on_commit_callbacks(execute=True):
        correction = reconciliation_corrections_import(
            job=job, stream=io.BytesIO(corrected.getvalue().encode()), name="fixed.csv"
        )
    correction.refresh_from_db()
    assert correction.status == "done"
    assert correction.total_records == len(body)
    reports = before_after(job, correction)
    before_total, after_total = reports["before"][1], reports["after"][1]
    assert before_total.total == after_total.total == 600
    assert after_total.counts["matched"] == before_total.counts["matched"] + fixed
    assert "wrong_name" not in after_total.counts
    assert "wrong_dob" not in after_total.counts


@pytest.mark.django_db
def test_results_are_stored_with_copy_on_postgresql(
    population_registry_simulator, settings, django_capture_on_commit_callbacks
):
    if connection.vendor != "postgresql":
        pytest.skip("COPY is PostgreSQL's; CI runs this on PostgreSQL")
    settings.RECONCILIATION_CHUNK_SIZE = 2000
    rows, table = synthetic(population_registry_simulator, 2000)
    with django_capture_on_commit_callbacks(execute=True):
        job = reconciliation_job_create(name="copy", purpose="p", file=csv_file(table), filename="a.csv")
    counted = Counter(ReconciliationResult.objects.filter(job=job).values_list("category", flat=True))
    assert sum(counted.values()) == 2000
    assert counted["matched"] == expected_counts(rows)["matched"]


@pytest.mark.django_db
def test_the_job_pages_show_progress_report_and_export(
    client, population_registry_simulator, settings, django_capture_on_commit_callbacks
):
    settings.RECONCILIATION_CHUNK_SIZE = 100
    user = totp_enrol(get_user_model().objects.create_user("analyst", password="analyst-password-2026", is_staff=True))
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_reconciliationjob", "change_reconciliationjob"])
    )
    client.force_login(user)
    rows, table = synthetic(population_registry_simulator, 250)
    upload = csv_file(table)
    upload.name = "danh-sach.csv"
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/reconciliation/", {"name": "Đợt 1", "purpose": "Làm sạch", "file": upload})
    assert response.status_code == 302
    job = ReconciliationJob.objects.get()
    page = client.get(f"/reconciliation/{job.pk}/")
    assert page.status_code == 200
    assert b"<progress" in page.content
    progress = client.get(f"/reconciliation/{job.pk}/progress/")
    assert progress.status_code == 200
    assert str(sum(1 for r in rows if r.expected == "matched")).encode() in progress.content
    export = client.get(f"/reconciliation/{job.pk}/mismatches.csv")
    assert export.status_code == 200
    assert export["Cache-Control"] == "no-store"
    lines = b"".join(export.streaming_content).decode("utf-8-sig").splitlines()
    assert len(lines) == 1 + sum(1 for r in rows if r.expected != "matched")
    # without the permission the pages are closed
    client.force_login(get_user_model().objects.create_user("clerk2", password="clerk-password-2026"))
    assert client.get(f"/reconciliation/{job.pk}/").status_code == 403
    assert ReconciliationChunk.objects.filter(job=job, state="pending").count() == 0


@pytest.mark.django_db
def test_an_interrupted_import_resumes_after_the_chunks_already_stored(
    population_registry_simulator, settings, django_capture_on_commit_callbacks
):
    from unittest import mock

    from integrations.reconciliation import reconciliation_import

    settings.RECONCILIATION_CHUNK_SIZE = 100
    rows, table = synthetic(population_registry_simulator, 450)
    with (
        mock.patch("integrations.reconciliation._queue_chunks"),
        django_capture_on_commit_callbacks(execute=True),
    ):
        job = reconciliation_job_create(name="crash", purpose="p", file=csv_file(table), filename="a.csv")
    first_payloads = dict(job.chunks.values_list("number", "payload"))
    # the import "crashed" after two chunks: the rest was never stored
    job.chunks.filter(number__gte=2).delete()
    ReconciliationJob.objects.filter(pk=job.pk).update(status="importing", total_records=0)
    with django_capture_on_commit_callbacks(execute=True):
        assert reconciliation_import(job_id=job.pk) == "imported"
    job.refresh_from_db()
    assert (job.status, job.total_records, job.chunks.count()) == ("done", 450, 5)
    assert dict(job.chunks.values_list("number", "payload")) == first_payloads
    assert by_key(job) == expected_counts(rows)
