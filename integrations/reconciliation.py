"""Batch identity reconciliation: import a file of records, verify it in chunks through the
gateway, classify each record (domain.md §7), report per category and facility, export the
mismatches for the population-database operator and re-verify the corrected list.

A chunk is the unit of work any worker can take. Its results and its counts commit in one
transaction guarded by the chunk's row lock and state, so a chunk run twice (a redelivered task,
a resumed job) counts once. The input records live encrypted inside their chunk; result rows hold
no personal data (the ID is a keyed hash).
"""

from __future__ import annotations

import csv
import io
import itertools
import json
import logging
import os
import socket
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import PurePath
from typing import IO, Any

from django.conf import settings
from django.core.files.base import File
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.gateway import Caller, gateway_lookup_many
from integrations.gateway_models import ReconciliationChunk, ReconciliationJob, ReconciliationResult
from integrations.population_registry.base import RegistryUnavailable
from integrations.reconciliation_matching import (
    CATEGORIES,
    MATCHED,
    OTHER,
    SERVICE_ERROR,
    SUB_REASONS,
    Verdict,
    classify,
    clean_personal_id,
    id_problem,
)
from portal.crypto import pii_hash

logger = logging.getLogger("integrations.reconciliation")

COLUMN_ALIASES = {
    "personal_id": ("personal_id", "so_dinh_danh", "sodinhdanh", "so_cccd", "cccd", "cmnd_cccd", "id_number"),
    "full_name": ("full_name", "ho_ten", "ho_va_ten", "hovaten", "name"),
    "birth_date": ("birth_date", "ngay_sinh", "ngaysinh", "dob", "date_of_birth"),
    "facility": ("facility", "co_so", "don_vi", "co_so_tiem", "facility_name"),
    "reference": ("reference", "ma_ban_ghi", "ma", "record_id", "ref", "stt"),
    "row_no": ("row_no",),
    "corrected_full_name": ("corrected_full_name", "ho_ten_dung"),
    "corrected_birth_date": ("corrected_birth_date", "ngay_sinh_dung"),
}
REQUIRED = ("personal_id", "full_name", "birth_date")
EXPORT_COLUMNS = (
    "row_no",
    "reference",
    "personal_id",
    "full_name",
    "birth_date",
    "facility",
    "category",
    "sub_reason",
    "corrected_full_name",
    "corrected_birth_date",
)


class ImportProblem(ValueError):
    """The file cannot be read as a list of records (missing columns, unknown format)."""


@dataclass(frozen=True)
class InputRecord:
    row_no: int
    reference: str
    personal_id: str
    full_name: str
    birth_date: str
    facility: str

    def as_list(self) -> list[Any]:
        return [self.row_no, self.reference, self.personal_id, self.full_name, self.birth_date, self.facility]


# --- reading files -------------------------------------------------------------------------------


def _header_key(value: Any) -> str:
    text = unicodedata.normalize("NFD", str(value or "")).replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in text if not unicodedata.combining(c)).strip().lower()
    return "_".join(text.replace("-", " ").split())


def _columns(header: Iterable[Any], *, required: tuple[str, ...]) -> dict[str, int]:
    keys = [_header_key(h) for h in header]
    found = {}
    for field, aliases in COLUMN_ALIASES.items():
        for position, key in enumerate(keys):
            if key in aliases:
                found[field] = position
                break
    missing = [f for f in required if f not in found]
    if missing:
        raise ImportProblem(_("Missing column(s): %(columns)s") % {"columns": ", ".join(missing)})
    return found


def _cell(value: Any, *, is_id: bool = False) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        text = str(value)
        # A spreadsheet that stored the ID as a number dropped its leading zeros (province 001..096).
        return text.zfill(12) if is_id and 10 <= len(text) <= 11 else text
    return str(value)


def _csv_rows(stream: IO[bytes]) -> Iterator[list[str]]:
    text = io.TextIOWrapper(stream, encoding="utf-8-sig", errors="replace", newline="")
    first = text.readline()
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        yield from csv.reader(io.StringIO(first), delimiter=delimiter)
        yield from csv.reader(text, delimiter=delimiter)
    except csv.Error as exc:  # e.g. a field over the csv module's limit (T19: only ImportProblem leaves)
        raise ImportProblem(_("The file is not a readable CSV table.")) from exc


def _xlsx_rows(stream: IO[bytes]) -> Iterator[tuple[Any, ...]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(stream, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a damaged file (zip, XML, key errors)
        raise ImportProblem(_("The file is not a readable XLSX workbook.")) from exc
    try:
        yield from workbook.worksheets[0].iter_rows(values_only=True)
    except Exception as exc:  # a damaged sheet is found while reading its rows
        raise ImportProblem(_("The file is not a readable XLSX workbook.")) from exc
    finally:
        workbook.close()


def iter_table(stream: IO[bytes], *, name: str, required: tuple[str, ...] = REQUIRED) -> Iterator[dict[str, str]]:
    """Stream the rows of a CSV or XLSX file as dicts of the known columns (memory flat in file size)."""
    suffix = PurePath(name).suffix.lower()
    if suffix == ".xlsx":
        rows: Iterator[Any] = _xlsx_rows(stream)
    elif suffix in (".csv", ".txt"):
        rows = _csv_rows(stream)
    else:
        raise ImportProblem(_("The file must be .csv or .xlsx."))
    header = next(rows, None)
    if header is None:
        raise ImportProblem(_("The file is empty."))
    columns = _columns(header, required=required)
    for row in rows:
        if row is None or not any(v not in (None, "") for v in row):
            continue
        yield {
            field: _cell(row[pos] if pos < len(row) else None, is_id=field == "personal_id")
            for field, pos in columns.items()
        }


def iter_records(stream: IO[bytes], *, name: str) -> Iterator[InputRecord]:
    """Stream the input records of a file; row numbers count data rows from 1."""
    for row_no, row in enumerate(iter_table(stream, name=name), start=1):
        yield InputRecord(
            row_no=row_no,
            reference=row.get("reference", "")[:100],
            personal_id=row["personal_id"][:40],
            full_name=row["full_name"][:200],
            birth_date=row["birth_date"][:40],
            facility=(row.get("facility") or "")[:200],
        )


# --- jobs and chunks ------------------------------------------------------------------------------


def _caller(job: ReconciliationJob) -> Caller:
    return Caller(system=job.caller, acting_user=f"reconciliation-job:{job.pk}", purpose=job.purpose)


def reconciliation_job_create(
    *, name: str, purpose: str, file: File, filename: str, caller: str = "portal", created_by: Any = None
) -> ReconciliationJob:
    """Store the uploaded file and queue its import (the file is read by a task, streamed)."""
    suffix = PurePath(filename).suffix.lower()
    if suffix not in (".csv", ".xlsx", ".txt"):
        raise ImportProblem(_("The file must be .csv or .xlsx."))
    if not purpose.strip():
        raise ImportProblem(_("A purpose is required."))
    with transaction.atomic():
        job = ReconciliationJob.objects.create(
            name=name[:200],
            purpose=purpose[:300],
            caller=caller,
            source_name=filename[:255],
            chunk_size=settings.RECONCILIATION_CHUNK_SIZE,
            created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
        )
        job.source_file.save(f"job-{job.pk}{suffix}", file, save=True)
        transaction.on_commit(lambda: _queue_import(job.pk))
    return job


def _queue_import(job_id: int) -> None:
    from integrations.reconciliation_tasks import reconciliation_import_task

    reconciliation_import_task.delay(job_id)


def _chunks_of(records: Iterable[InputRecord], size: int) -> Iterator[list[InputRecord]]:
    batch: list[InputRecord] = []
    for record in records:
        batch.append(record)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


IMPORT_BATCH_CHUNKS = 5


def _store_chunks(
    job: ReconciliationJob,
    records: Iterable[InputRecord],
    *,
    first_number: int = 0,
    on_batch: Callable[[list[int]], None] | None = None,
) -> int:
    """Store RECORDS as chunks, a few at a time (memory stays flat in the file size); each batch
    commits on its own when ON_BATCH is given, which then receives the new chunk ids."""
    total = 0
    pending: list[ReconciliationChunk] = []

    def flush() -> None:
        if not pending:
            return
        with transaction.atomic():
            created = ReconciliationChunk.objects.bulk_create(pending)
        if on_batch is not None:
            on_batch([c.pk for c in created])
        pending.clear()

    for number, batch in enumerate(_chunks_of(records, job.chunk_size), start=first_number):
        payload = "\n".join(json.dumps(r.as_list(), ensure_ascii=False) for r in batch)
        pending.append(ReconciliationChunk(job=job, number=number, record_count=len(batch), payload=payload))
        total += len(batch)
        if len(pending) >= IMPORT_BATCH_CHUNKS:
            flush()
    flush()
    return total


def _queue_chunks(job_id: int, chunk_ids: list[int]) -> None:
    """Queue freshly stored chunks at once, so workers start while the import goes on."""
    from integrations.reconciliation_tasks import reconciliation_chunk_task

    ReconciliationChunk.objects.filter(pk__in=chunk_ids).update(queued_at=timezone.now())
    for chunk_id in chunk_ids:
        transaction.on_commit(lambda c=chunk_id: reconciliation_chunk_task.delay(c))


def reconciliation_import(*, job_id: int) -> str:
    """Stream the job's file into chunks, committing and queueing them batch by batch (workers start
    at once). Re-run after a crash, it resumes after the chunks already stored."""
    job = ReconciliationJob.objects.get(pk=job_id)
    if job.status != ReconciliationJob.Status.IMPORTING:
        return "already imported"
    stored = list(ReconciliationChunk.objects.filter(job=job).order_by("number").values_list("record_count", flat=True))
    skip = sum(stored)
    try:
        with job.source_file.open("rb") as stream:
            records = itertools.islice(iter_records(stream, name=job.source_file.name), skip, None)
            total = skip + _store_chunks(
                job, records, first_number=len(stored), on_batch=lambda ids: _queue_chunks(job.pk, ids)
            )
    except ImportProblem as exc:
        ReconciliationJob.objects.filter(pk=job.pk).update(status=ReconciliationJob.Status.FAILED, error=str(exc))
        return "failed"
    except Exception:  # a corrupt or unreadable file fails the job, never the worker
        logger.exception("reconciliation job %s: import failed", job.pk)
        ReconciliationJob.objects.filter(pk=job.pk).update(
            status=ReconciliationJob.Status.FAILED, error=_("The file could not be read.")
        )
        return "failed"
    ReconciliationJob.objects.filter(pk=job.pk, status=ReconciliationJob.Status.IMPORTING).update(
        total_records=total, status=ReconciliationJob.Status.RUNNING
    )
    ReconciliationJob.objects.filter(pk=job.pk).update(total_records=total)  # also when paused meanwhile
    reconciliation_queue_pending(job_id=job.pk, unqueued_only=True)  # chunks stored before a crash
    _finish_if_complete(job.pk)
    return "imported"


def reconciliation_job_from_records(
    *,
    name: str,
    purpose: str,
    records: Iterable[InputRecord],
    parent: ReconciliationJob | None = None,
    caller: str = "portal",
    created_by: Any = None,
    chunk_size: int | None = None,
) -> ReconciliationJob:
    """Create a running job from records already read (the corrected list, the bench)."""
    with transaction.atomic():
        job = ReconciliationJob.objects.create(
            name=name[:200],
            purpose=purpose[:300],
            caller=caller,
            parent=parent,
            chunk_size=chunk_size or settings.RECONCILIATION_CHUNK_SIZE,
            created_by=created_by if getattr(created_by, "is_authenticated", False) else None,
        )
        total = _store_chunks(job, records)
        ReconciliationJob.objects.filter(pk=job.pk).update(total_records=total, status=ReconciliationJob.Status.RUNNING)
        transaction.on_commit(lambda: reconciliation_queue_pending(job_id=job.pk))
    job.refresh_from_db()
    if total == 0:
        _finish_if_complete(job.pk)
    return job


def reconciliation_queue_pending(*, job_id: int, stale_only: bool = False, unqueued_only: bool = False) -> int:
    """Queue the job's pending chunks (all, or only those queued long ago); return how many."""
    from integrations.reconciliation_tasks import reconciliation_chunk_task

    now = timezone.now()
    pending = ReconciliationChunk.objects.filter(
        job_id=job_id, state=ReconciliationChunk.State.PENDING, job__status=ReconciliationJob.Status.RUNNING
    )
    if stale_only:
        cutoff = now - timedelta(seconds=settings.RECONCILIATION_REQUEUE_SECONDS)
        pending = pending.filter(models_q_stale(cutoff))
    if unqueued_only:
        pending = pending.filter(queued_at__isnull=True)
    ids = list(pending.values_list("pk", flat=True))
    ReconciliationChunk.objects.filter(pk__in=ids).update(queued_at=now)
    for chunk_id in ids:
        reconciliation_chunk_task.delay(chunk_id)
    return len(ids)


def models_q_stale(cutoff: datetime) -> Any:
    from django.db.models import Q

    return Q(queued_at__isnull=True) | Q(queued_at__lt=cutoff)


def reconciliation_sweep() -> int:
    """Re-queue chunks of running jobs that were queued long ago and are still pending (a lost task,
    a worker that died): the job resumes where it stopped."""
    return sum(
        reconciliation_queue_pending(job_id=job_id, stale_only=True)
        for job_id in ReconciliationJob.objects.filter(status=ReconciliationJob.Status.RUNNING).values_list(
            "pk", flat=True
        )
    )


def reconciliation_pause(*, job_id: int) -> bool:
    """Pause a running job: queued chunks return without work and stay pending."""
    return bool(
        ReconciliationJob.objects.filter(pk=job_id, status=ReconciliationJob.Status.RUNNING).update(
            status=ReconciliationJob.Status.PAUSED
        )
    )


def reconciliation_resume(*, job_id: int) -> bool:
    """Resume a paused (or stuck running) job: queue every pending chunk again."""
    ReconciliationJob.objects.filter(pk=job_id, status=ReconciliationJob.Status.PAUSED).update(
        status=ReconciliationJob.Status.RUNNING
    )
    if not ReconciliationJob.objects.filter(pk=job_id, status=ReconciliationJob.Status.RUNNING).exists():
        return False
    transaction.on_commit(lambda: reconciliation_queue_pending(job_id=job_id))
    _finish_if_complete(job_id)
    return True


def _decode(chunk: ReconciliationChunk) -> list[InputRecord]:
    return [InputRecord(*json.loads(line)) for line in chunk.payload.splitlines() if line]


def classify_records(records: list[InputRecord], found: dict[str, Any] | None) -> list[tuple[InputRecord, Verdict]]:
    """Classify RECORDS against FOUND (ID -> CitizenRecord); None means the registry was unavailable."""
    out = []
    for record in records:
        pid = clean_personal_id(record.personal_id)
        problem = id_problem(pid)
        if problem is not None:
            out.append((record, Verdict(OTHER, problem)))
        elif found is None:
            out.append((record, Verdict(OTHER, SERVICE_ERROR)))
        else:
            out.append(
                (record, classify(full_name=record.full_name, birth_date=record.birth_date, record=found.get(pid)))
            )
    return out


def count_key(verdict: Verdict) -> str:
    return f"{verdict.category}:{verdict.sub_reason}" if verdict.sub_reason else verdict.category


def reconciliation_process_chunk(*, chunk_id: int, give_up: bool = False) -> str:
    """Verify one chunk through the gateway (bulk), classify it and commit results and counts once.

    Raise RegistryUnavailable so the task retries; with GIVE_UP the well-formed records are
    classified OTHER / service_error instead (the job finishes; a later re-verification can fix them).
    """
    chunk = ReconciliationChunk.objects.select_related("job").get(pk=chunk_id)
    job = chunk.job
    if chunk.state == ReconciliationChunk.State.DONE:
        return "already done"
    if job.status not in (ReconciliationJob.Status.RUNNING, ReconciliationJob.Status.IMPORTING):
        return f"job {job.status}"
    records = _decode(chunk)
    ids = sorted({pid for pid in (clean_personal_id(r.personal_id) for r in records) if id_problem(pid) is None})
    try:
        found: dict[str, Any] | None = gateway_lookup_many(caller=_caller(job), personal_ids=ids) if ids else {}
    except RegistryUnavailable:
        ReconciliationChunk.objects.filter(pk=chunk_id).update(attempts=chunk.attempts + 1)
        if not give_up:
            raise
        found = None
    verdicts = classify_records(records, found)
    return reconciliation_store_chunk(chunk_id=chunk_id, verdicts=verdicts)


def _result_rows(job_id: int, chunk_number: int, verdicts: list[tuple[InputRecord, Verdict]]) -> Iterator[tuple]:
    for record, verdict in verdicts:
        pid = clean_personal_id(record.personal_id)
        yield (
            job_id,
            record.row_no,
            chunk_number,
            record.facility,
            verdict.category,
            verdict.sub_reason,
            verdict.name_match,
            verdict.dob_match,
            verdict.dob_partial,
            pii_hash(pid) if pid else "",
        )


RESULT_COLUMNS = (
    "job_id",
    "row_no",
    "chunk_number",
    "facility",
    "category",
    "sub_reason",
    "name_match",
    "dob_match",
    "dob_partial",
    "subject_hash",
)


def store_results(rows: Iterable[tuple]) -> None:
    """Insert result rows: COPY on PostgreSQL, bulk_create elsewhere."""
    if connection.vendor == "postgresql":
        table = ReconciliationResult._meta.db_table
        with (
            connection.cursor() as cursor,
            cursor.copy(f"COPY {table} ({', '.join(RESULT_COLUMNS)}) FROM STDIN") as copy,
        ):
            for row in rows:
                copy.write_row(row)
        return
    ReconciliationResult.objects.bulk_create(
        (ReconciliationResult(**dict(zip(RESULT_COLUMNS, row, strict=True))) for row in rows), batch_size=500
    )


def reconciliation_store_chunk(*, chunk_id: int, verdicts: list[tuple[InputRecord, Verdict]]) -> str:
    """Commit a chunk's results and counts exactly once (row lock + state guard)."""
    with transaction.atomic():
        chunk = ReconciliationChunk.objects.select_for_update().get(pk=chunk_id)
        if chunk.state == ReconciliationChunk.State.DONE:
            return "duplicate discarded"
        counts: dict[str, Counter] = defaultdict(Counter)
        for record, verdict in verdicts:
            counts[record.facility][count_key(verdict)] += 1
        ReconciliationResult.objects.filter(job_id=chunk.job_id, chunk_number=chunk.number).delete()
        store_results(_result_rows(chunk.job_id, chunk.number, verdicts))
        chunk.state = ReconciliationChunk.State.DONE
        chunk.counts = {facility: dict(c) for facility, c in counts.items()}
        chunk.processed_by = f"{socket.gethostname()}:{os.getpid()}"
        chunk.processed_at = timezone.now()
        chunk.save(update_fields=["state", "counts", "processed_by", "processed_at"])
    _finish_if_complete(chunk.job_id)
    return "done"


def _finish_if_complete(job_id: int) -> None:
    if not ReconciliationChunk.objects.filter(job_id=job_id, state=ReconciliationChunk.State.PENDING).exists():
        ReconciliationJob.objects.filter(pk=job_id, status=ReconciliationJob.Status.RUNNING).update(
            status=ReconciliationJob.Status.DONE, finished_at=timezone.now()
        )


# --- reports -------------------------------------------------------------------------------------


def job_counts(job: ReconciliationJob) -> dict[str, Counter]:
    """Return {facility: Counter(count key -> records)} over the chunks done so far."""
    totals: dict[str, Counter] = defaultdict(Counter)
    for counts in ReconciliationChunk.objects.filter(job=job, state=ReconciliationChunk.State.DONE).values_list(
        "counts", flat=True
    ):
        for facility, per_key in counts.items():
            totals[facility].update(per_key)
    return totals


@dataclass(frozen=True)
class ReportRow:
    facility: str
    total: int
    counts: dict[str, int]  # per category
    other: dict[str, int]  # per sub-reason of OTHER (and invalid input)

    def percent(self, category: str) -> float:
        return round(100.0 * self.counts.get(category, 0) / self.total, 2) if self.total else 0.0

    @property
    def cells(self) -> list[tuple[int, float]]:
        return [(self.counts.get(c, 0), self.percent(c)) for c in CATEGORIES]


def _row(facility: str, per_key: Counter) -> ReportRow:
    counts: Counter = Counter()
    other: Counter = Counter()
    for key, n in per_key.items():
        category, _sep, sub = key.partition(":")
        counts[category] += n
        if sub:
            other[sub] += n
    return ReportRow(facility, sum(counts.values()), dict(counts), {s: other.get(s, 0) for s in SUB_REASONS})


def report_from_counts(totals: dict[str, Counter]) -> tuple[list[ReportRow], ReportRow]:
    """Return the ministry-style table: one row per facility and the total row."""
    rows = [_row(facility, per_key) for facility, per_key in sorted(totals.items())]
    overall: Counter = Counter()
    for per_key in totals.values():
        overall.update(per_key)
    return rows, _row("", overall)


def job_report(job: ReconciliationJob) -> tuple[list[ReportRow], ReportRow]:
    return report_from_counts(job_counts(job))


def job_progress(job: ReconciliationJob) -> dict[str, Any]:
    done = sum(
        ReconciliationChunk.objects.filter(job=job, state=ReconciliationChunk.State.DONE).values_list(
            "record_count", flat=True
        )
    )
    percent = (
        round(100.0 * done / job.total_records, 1) if job.total_records else (100.0 if job.status == "done" else 0.0)
    )
    return {"done": done, "total": job.total_records, "percent": percent}


# --- the operator's list and the corrections ---------------------------------------------------


def iter_mismatch_export(job: ReconciliationJob) -> Iterator[list[Any]]:
    """Yield the header and one row per record not matched: the list for the population-database
    operator, with empty corrected_* columns for their answer."""
    yield list(EXPORT_COLUMNS)
    for chunk in ReconciliationChunk.objects.filter(job=job, state=ReconciliationChunk.State.DONE).order_by("number"):
        wrong = dict(
            ReconciliationResult.objects.filter(job=job, chunk_number=chunk.number)
            .exclude(category=MATCHED)
            .values_list("row_no", "category")
        )
        if not wrong:
            continue
        subs = dict(
            ReconciliationResult.objects.filter(job=job, chunk_number=chunk.number, row_no__in=list(wrong)).values_list(
                "row_no", "sub_reason"
            )
        )
        for record in _decode(chunk):
            if record.row_no in wrong:
                yield [*record.as_list(), wrong[record.row_no], subs.get(record.row_no, ""), "", ""]


def _original_records(job: ReconciliationJob, row_nos: set[int]) -> dict[int, InputRecord]:
    found = {}
    numbers = set(
        ReconciliationResult.objects.filter(job=job, row_no__in=list(row_nos)).values_list("chunk_number", flat=True)
    )
    for chunk in ReconciliationChunk.objects.filter(job=job, number__in=numbers):
        for record in _decode(chunk):
            if record.row_no in row_nos:
                found[record.row_no] = record
    return found


def reconciliation_corrections_import(
    *, job: ReconciliationJob, stream: IO[bytes], name: str, created_by: Any = None
) -> ReconciliationJob:
    """Read the operator's corrected list (row_no + corrected_full_name / corrected_birth_date; an
    empty correction re-verifies the record as it was), apply it to the job's records and re-verify
    them in a child job. The before/after report compares the two."""
    rows = list(iter_table(stream, name=name, required=("row_no",)))
    wanted: dict[int, dict[str, str]] = {}
    for row in rows:
        try:
            wanted[int(row["row_no"])] = row
        except ValueError:
            continue
    originals = _original_records(job, set(wanted))
    corrected = []
    for row_no in sorted(originals):
        original, row = originals[row_no], wanted[row_no]
        corrected.append(
            InputRecord(
                row_no=row_no,
                reference=original.reference,
                personal_id=original.personal_id,
                full_name=(row.get("corrected_full_name") or "").strip() or original.full_name,
                birth_date=(row.get("corrected_birth_date") or "").strip() or original.birth_date,
                facility=original.facility,
            )
        )
    return reconciliation_job_from_records(
        name=f"{job.name} (corrections)"[:200],
        purpose=job.purpose,
        records=corrected,
        parent=job,
        caller=job.caller,
        created_by=created_by,
        chunk_size=job.chunk_size,
    )


def before_after(job: ReconciliationJob, correction: ReconciliationJob) -> dict[str, Any]:
    """Return the report before and after the corrections (the corrected rows' new categories)."""
    before = job_counts(job)
    after: dict[str, Counter] = defaultdict(Counter, {f: Counter(c) for f, c in before.items()})
    new = {
        row_no: (facility, category, sub)
        for row_no, facility, category, sub in ReconciliationResult.objects.filter(job=correction).values_list(
            "row_no", "facility", "category", "sub_reason"
        )
    }
    for row_no, facility, category, sub in ReconciliationResult.objects.filter(
        job=job, row_no__in=list(new)
    ).values_list("row_no", "facility", "category", "sub_reason"):
        after[facility][f"{category}:{sub}" if sub else category] -= 1
        new_facility, new_category, new_sub = new[row_no]
        after[new_facility][f"{new_category}:{new_sub}" if new_sub else new_category] += 1
    for counts in after.values():
        for key in [k for k, v in counts.items() if v <= 0]:
            del counts[key]
    return {"before": report_from_counts(before), "after": report_from_counts(after)}
