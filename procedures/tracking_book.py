"""The dossier tracking book (Sổ theo dõi hồ sơ): BM.06 of MoH Decision 3621 / Mẫu 07 of Circular 03/2025.

Columns (domain.md §1.7.2): STT | Mã hồ sơ | Tên TTHC | Tên tổ chức, cá nhân | Địa chỉ/SĐT | Cơ quan chủ
trì giải quyết | Nhận và trả kết quả: Nhận hồ sơ, Hẹn trả kết quả, Trả kết quả, Phương thức nhận kết quả,
Ký nhận. One book per sector (lĩnh vực): the XLSX has one sheet per sector; the PDF is one sector and
one month. Built by a worker (`tracking_book_export_run`) with progress saved as it goes.
"""

from __future__ import annotations

import datetime as dt
import io
import logging
from collections.abc import Iterator
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext

from portal.audit import audit_record
from portal.errors import ApplicationError
from portal.spreadsheets import cell_neutralise, row_neutralise
from procedures.models import Dossier, ExportJob, StaffProfile

logger = logging.getLogger(__name__)

TEMPLATE = "pdf/tracking_book.html"
TEMPLATE_VERSION = "TT03-2025/M07 (BYT BM.06)"
PROGRESS_EVERY = 200
MAX_PERIOD_DAYS = 366 * 5
NO_SECTOR = ""


COLUMN = "tracking book column"


def columns() -> list[str]:
    """The column headings, in the current language (the book is written in the requester's language)."""
    return [
        pgettext(COLUMN, "No."),
        pgettext(COLUMN, "Dossier code"),
        pgettext(COLUMN, "Name of the administrative procedure"),
        pgettext(COLUMN, "Name of the organisation or individual"),
        pgettext(COLUMN, "Address / phone"),
        pgettext(COLUMN, "Agency in charge of the decision"),
        pgettext(COLUMN, "Dossier received"),
        pgettext(COLUMN, "Appointment for the result"),
        pgettext(COLUMN, "Result returned"),
        pgettext(COLUMN, "How the result was received"),
        pgettext(COLUMN, "Signature of receipt"),
    ]


@dataclass(frozen=True)
class BookRow:
    number: int
    code: str
    procedure: str
    applicant: str
    address_phone: str
    agency: str
    received: str
    due: str
    returned: str
    return_method: str
    signature: str

    def cells(self) -> list:
        return [
            self.number,
            self.code,
            self.procedure,
            self.applicant,
            self.address_phone,
            self.agency,
            self.received,
            self.due,
            self.returned,
            self.return_method,
            self.signature,
        ]


def _local(value) -> str:
    return timezone.localtime(value).strftime("%H:%M %d/%m/%Y") if value else ""


RETURN_METHODS = {
    "counter": gettext_lazy("at the counter"),
    "postal": gettext_lazy("by public postal service"),
    "online": gettext_lazy("online"),
}


def _return_method(value: str) -> str:
    return str(RETURN_METHODS.get(value, value))


def book_queryset(*, agency_id: int, date_from: dt.date, date_to: dt.date, sector: str | None = None) -> QuerySet:
    """The agency's received dossiers (decided or received by it) received from DATE_FROM to DATE_TO (local days)."""
    start = dt.datetime.combine(date_from, dt.time.min, tzinfo=timezone.get_current_timezone())
    end = dt.datetime.combine(date_to + dt.timedelta(days=1), dt.time.min, tzinfo=timezone.get_current_timezone())
    qs = Dossier.objects.filter(Q(agency_id=agency_id) | Q(received_by_agency_id=agency_id)).filter(
        received_at__gte=start, received_at__lt=end
    )
    if sector is not None:
        qs = qs.filter(procedure__sector=sector)
    return qs.select_related("procedure", "agency").order_by("received_at", "id")


def book_rows(qs: QuerySet, *, language: str = "vi") -> Iterator[tuple[str, BookRow]]:
    """Yield (sector, row) in order; numbers restart for each sector (one book per sector)."""
    numbers: dict[str, int] = {}
    for dossier in qs.iterator(chunk_size=500):
        sector = dossier.procedure.sector or NO_SECTOR
        numbers[sector] = numbers.get(sector, 0) + 1
        procedure = dossier.procedure.display_name(language)
        yield (
            sector,
            BookRow(
                number=numbers[sector],
                code=dossier.code or dossier.reference,
                procedure=f"{procedure} ({dossier.procedure.code})",
                applicant=dossier.applicant_name,
                address_phone=" / ".join(p for p in (dossier.applicant_address, dossier.applicant_phone) if p),
                agency=dossier.agency.name,
                received=_local(dossier.received_at),
                due=_local(dossier.due_at),
                returned=_local(dossier.returned_at),
                return_method=_return_method(dossier.return_method) if dossier.returned_at else "",
                signature="",
            ),
        )


# --- jobs ------------------------------------------------------------------------------------------


def tracking_book_export_request(
    *, actor, kind: str, date_from: dt.date, date_to: dt.date, sector: str = "", language: str = "vi"
) -> ExportJob:
    """Record an export job for the actor's agency and queue it after commit."""
    profile = StaffProfile.objects.select_related("agency").filter(user=actor).first()
    if profile is None:
        raise ApplicationError(_("Only staff of an agency can export its tracking book."), status=403)
    if kind not in ExportJob.Kind.values:
        raise ApplicationError(_("Choose XLSX or PDF."), extra={"field": "kind"})
    if date_to < date_from:
        raise ApplicationError(_("The end of the period is before its start."), extra={"field": "date_to"})
    if (date_to - date_from).days > MAX_PERIOD_DAYS:
        raise ApplicationError(_("Choose a period of at most five years."), extra={"field": "date_from"})
    if kind == ExportJob.Kind.PDF and (
        date_from.day != 1
        or (date_to + dt.timedelta(days=1)).day != 1
        or (date_from.year, date_from.month) != (date_to.year, date_to.month)
    ):
        raise ApplicationError(_("A PDF book covers one calendar month."), extra={"field": "month"})
    with transaction.atomic():
        job = ExportJob.objects.create(
            agency=profile.agency,
            created_by=actor,
            kind=kind,
            date_from=date_from,
            date_to=date_to,
            sector=sector if kind == ExportJob.Kind.PDF else "",
            language=language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE,
        )
        audit_record(
            action="tracking_book.export_request",
            actor=actor,
            obj=job,
            data={"kind": kind, "from": date_from, "to": date_to, "sector": job.sector},
        )
        job_id = job.pk
        transaction.on_commit(lambda: _queue(job_id))
    return job


def _queue(job_id: int) -> None:
    from procedures.tasks_counter import tracking_book_export_task

    tracking_book_export_task.delay(job_id)


def _progress(job_id: int, done: int) -> None:
    ExportJob.objects.filter(pk=job_id).update(done=done)


def tracking_book_export_run(*, job_id: int) -> ExportJob:
    """Build the job's file (idempotent: a finished job is left alone; a re-run starts over)."""
    claimed = ExportJob.objects.filter(
        pk=job_id, status__in=[ExportJob.Status.PENDING, ExportJob.Status.RUNNING]
    ).update(status=ExportJob.Status.RUNNING, done=0)
    job = ExportJob.objects.select_related("agency").get(pk=job_id)
    if not claimed:
        return job
    try:
        with translation.override(job.language):
            sector = job.sector if job.kind == ExportJob.Kind.PDF else None
            qs = book_queryset(agency_id=job.agency_id, date_from=job.date_from, date_to=job.date_to, sector=sector)
            total = qs.count()
            ExportJob.objects.filter(pk=job_id).update(total=total)
            if job.kind == ExportJob.Kind.XLSX:
                name = f"so-theo-doi-ho-so-{job.date_from:%Y%m%d}-{job.date_to:%Y%m%d}.xlsx"
                content = _xlsx(job, qs, total)
            else:
                content, name = _pdf(job, qs, total), f"so-theo-doi-ho-so-{job.date_from:%Y-%m}.pdf"
    except Exception as exc:  # recorded on the job for the page; the worker log has the trace
        logger.exception("tracking book export %s failed", job_id)
        ExportJob.objects.filter(pk=job_id).update(
            status=ExportJob.Status.FAILED, error=str(exc)[:2000], finished_at=timezone.now()
        )
        return ExportJob.objects.get(pk=job_id)
    job.refresh_from_db()
    job.file.save(name, ContentFile(content), save=False)
    ExportJob.objects.filter(pk=job_id).update(
        file=job.file.name, status=ExportJob.Status.DONE, done=total, finished_at=timezone.now()
    )
    job.refresh_from_db()
    return job


def _rows_with_progress(job: ExportJob, qs: QuerySet, total: int) -> Iterator[tuple[str, BookRow]]:
    for count, item in enumerate(book_rows(qs, language=job.language), start=1):
        yield item
        if count % PROGRESS_EVERY == 0:
            _progress(job.pk, count)


def _sheet_title(sector: str, used: set[str]) -> str:
    base = sector or _("No sector")
    for ch in "[]:*?/\\":
        base = base.replace(ch, " ")
    base = base.strip()[:28] or "-"
    title, n = base, 2
    while title.lower() in used:
        title = f"{base[:25]} ({n})"
        n += 1
    used.add(title.lower())
    return title


def _xlsx(job: ExportJob, qs: QuerySet, total: int) -> bytes:
    """Write-only workbook: rows stream to the file, so a book of any period fits in memory."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.styles import Alignment, Font

    workbook = Workbook(write_only=True)
    sheets: dict[str, object] = {}
    used: set[str] = set()
    heading = columns()
    period = _("from %(start)s to %(end)s") % {
        "start": job.date_from.strftime("%d/%m/%Y"),
        "end": job.date_to.strftime("%d/%m/%Y"),
    }

    def styled(sheet, value, **style):
        cell = WriteOnlyCell(sheet, value=value)
        for name, item in style.items():
            setattr(cell, name, item)
        return cell

    def sheet_for(sector: str):
        sheet = sheets.get(sector)
        if sheet is None:
            sheet = workbook.create_sheet(_sheet_title(sector, used))
            for letter, width in zip("ABCDEFGHIJK", (6, 30, 40, 26, 36, 30, 17, 17, 17, 18, 14), strict=True):
                sheet.column_dimensions[letter].width = width
            sheet.freeze_panes = "A4"
            sheet.append([styled(sheet, _("DOSSIER TRACKING BOOK"), font=Font(bold=True, size=13))])
            sheet.append([cell_neutralise(f"{job.agency.name} — {_('Sector')}: {sector or _('No sector')} — {period}")])
            wrap = Alignment(wrap_text=True, vertical="top")
            sheet.append([styled(sheet, h, font=Font(bold=True), alignment=wrap) for h in heading])
            sheets[sector] = sheet
        return sheet

    for sector, row in _rows_with_progress(job, qs, total):
        sheet_for(sector).append(row_neutralise(row.cells()))  # CSV/formula injection (T17)
    if not sheets:
        sheet_for("").append([_("No dossier was received in this period.")])
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _pdf(job: ExportJob, qs: QuerySet, total: int) -> bytes:
    from django.template.loader import render_to_string
    from weasyprint import HTML  # imported here: the site boots without Pango, only PDFs need it

    rows = [row for _sector, row in _rows_with_progress(job, qs, total)]
    html = render_to_string(
        TEMPLATE,
        {
            "agency": job.agency,
            "sector": job.sector,
            "month": job.date_from,
            "columns": columns(),
            "rows": rows,
            "template_version": TEMPLATE_VERSION,
            "now_local": timezone.localtime(),
            "language": job.language,
        },
    )
    return HTML(string=html, base_url=None).write_pdf()


def export_job_get_for_staff(*, actor, pk: int) -> ExportJob:
    """The job, only for staff of its agency (404 otherwise)."""
    profile = StaffProfile.objects.filter(user=actor).first()
    job = ExportJob.objects.filter(pk=pk).first() if profile is not None else None
    if job is None or job.agency_id != profile.agency_id:
        raise ApplicationError(_("No such export."), status=404)
    return job


def export_job_download_record(*, actor, job: ExportJob) -> None:
    """Audit the read of the personal data the book holds."""
    with transaction.atomic():
        audit_record(
            action="personal_data.read",
            actor=actor,
            obj=job,
            data={"purpose": "tracking book download", "kind": job.kind, "dossiers": job.total},
        )


def sectors_for_agency(*, agency_id: int) -> list[str]:
    from procedures.models import Procedure

    return list(
        Procedure.objects.filter(Q(agency_id=agency_id) | Q(dossier__received_by_agency_id=agency_id))
        .values_list("sector", flat=True)
        .distinct()
        .order_by("sector")
    )
