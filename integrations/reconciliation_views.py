"""Reconciliation job pages: upload, live progress, pause/resume, report, export, corrections."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required, permission_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_POST

from integrations.gateway_models import ReconciliationJob
from integrations.reconciliation import (
    ImportProblem,
    before_after,
    iter_mismatch_export,
    job_progress,
    job_report,
    reconciliation_corrections_import,
    reconciliation_job_create,
    reconciliation_pause,
    reconciliation_resume,
)
from integrations.reconciliation_matching import CATEGORIES, SUB_REASONS
from portal.audit import audit_record
from portal.spreadsheets import row_neutralise
from portal.uploads import check_table_upload, table_uploads

VIEW = "integrations.view_reconciliationjob"
TABLE_SUFFIXES = {".csv", ".txt", ".xlsx"}
CHANGE = "integrations.change_reconciliationjob"

CATEGORY_LABELS = {
    "matched": gettext_lazy("Matched"),
    "wrong_dob": gettext_lazy("Wrong date of birth"),
    "wrong_name": gettext_lazy("Wrong full name"),
    "wrong_name_and_dob": gettext_lazy("Wrong name and date of birth"),
    "id_not_found": gettext_lazy("ID number not in the database"),
    "other": gettext_lazy("Other"),
}
SUB_REASON_LABELS = {
    "deceased": gettext_lazy("deceased"),
    "old_id_only": gettext_lazy("old 9-digit ID only"),
    "invalid_input": gettext_lazy("invalid input"),
    "service_error": gettext_lazy("service error"),
}


class JobForm(forms.Form):
    name = forms.CharField(label=gettext_lazy("Name"), max_length=200)
    purpose = forms.CharField(label=gettext_lazy("Purpose"), max_length=300)
    file = forms.FileField(label=gettext_lazy("File (CSV or XLSX)"))


class CorrectionsForm(forms.Form):
    file = forms.FileField(label=gettext_lazy("Corrected list (CSV or XLSX)"))


def _report_context(job: ReconciliationJob) -> dict[str, Any]:
    rows, total = job_report(job)
    return {
        "job": job,
        "progress": job_progress(job),
        "rows": rows,
        "total": total,
        "categories": [(c, CATEGORY_LABELS[c]) for c in CATEGORIES],
        "sub_reasons": [(s, SUB_REASON_LABELS[s]) for s in SUB_REASONS],
    }


@table_uploads
@login_required
@permission_required(VIEW, raise_exception=True)
@never_cache
def job_list(request: HttpRequest) -> HttpResponse:
    form = JobForm()
    if request.method == "POST":
        if not request.user.has_perm(CHANGE):
            return HttpResponse(status=403)
        form = JobForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                upload = check_table_upload(form.cleaned_data["file"], suffixes=TABLE_SUFFIXES, actor=request.user)
                job = reconciliation_job_create(
                    name=form.cleaned_data["name"],
                    purpose=form.cleaned_data["purpose"],
                    file=upload.file,
                    filename=upload.name,
                    created_by=request.user,
                )
            except ValidationError as exc:
                form.add_error("file", exc)
            except ImportProblem as exc:
                form.add_error("file", str(exc))
            else:
                messages.success(request, _("The file was received; it is being imported."))
                return redirect("reconciliation:job", pk=job.pk)
    jobs = ReconciliationJob.objects.select_related("parent")[:50]
    return render(request, "integrations/reconciliation_list.html", {"jobs": jobs, "form": form})


@login_required
@permission_required(VIEW, raise_exception=True)
@never_cache
def job_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ReconciliationJob, pk=pk)
    context = _report_context(job)
    context["corrections_form"] = CorrectionsForm()
    context["comparisons"] = []
    for correction in job.corrections.order_by("-id")[:3]:
        reports = before_after(job, correction)
        context["comparisons"].append({"correction": correction, **reports})
    return render(request, "integrations/reconciliation_job.html", context)


@login_required
@permission_required(VIEW, raise_exception=True)
@never_cache
def job_progress_partial(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ReconciliationJob, pk=pk)
    return render(request, "integrations/_reconciliation_progress.html", _report_context(job))


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def job_pause(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ReconciliationJob, pk=pk)
    if reconciliation_pause(job_id=job.pk):
        messages.success(request, _("The job is paused."))
    return redirect("reconciliation:job", pk=job.pk)


@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def job_resume(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ReconciliationJob, pk=pk)
    if reconciliation_resume(job_id=job.pk):
        messages.success(request, _("The job resumes."))
    return redirect("reconciliation:job", pk=job.pk)


class _Echo:
    def write(self, value: str) -> str:
        return value


@login_required
@permission_required(CHANGE, raise_exception=True)
def job_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The mismatches as CSV: the list handed to the population-database operator (personal data)."""
    job = get_object_or_404(ReconciliationJob, pk=pk)
    with transaction.atomic():
        audit_record(action="reconciliation.export_mismatches", actor=request.user, obj=job)
    writer = csv.writer(_Echo())

    def rows() -> Iterator[str]:
        yield "\ufeff"  # so spreadsheet programs read the Vietnamese text as UTF-8
        for row in iter_mismatch_export(job):
            yield writer.writerow(row_neutralise(row))  # names and IDs from an uploaded file: no formulas (T17)

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="reconciliation-{job.pk}-mismatches.csv"'
    response["Cache-Control"] = "no-store"
    return response


@table_uploads
@login_required
@permission_required(CHANGE, raise_exception=True)
@require_POST
def job_corrections(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(ReconciliationJob, pk=pk)
    form = CorrectionsForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, _("Choose the corrected list (CSV or XLSX)."))
        return redirect("reconciliation:job", pk=job.pk)
    try:
        upload = check_table_upload(form.cleaned_data["file"], suffixes=TABLE_SUFFIXES, actor=request.user)
        correction = reconciliation_corrections_import(
            job=job, stream=upload.file.open("rb"), name=upload.name, created_by=request.user
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("reconciliation:job", pk=job.pk)
    except ImportProblem as exc:
        messages.error(request, str(exc))
        return redirect("reconciliation:job", pk=job.pk)
    messages.success(
        request, _("%(count)s corrected record(s) are being re-verified.") % {"count": correction.total_records}
    )
    return redirect("reconciliation:job", pk=job.pk)
