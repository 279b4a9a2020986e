"""Thin HTML views: parse a form, call one service or selector, render or redirect."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import get_language
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from portal.errors import ApplicationError
from portal.uploads import attachment_response
from procedures import selectors, services
from procedures.documents import dossier_receipt_get_or_render
from procedures.forms import DossierApplyForm
from procedures.formschema import form_schema_fields
from procedures.models import Dossier, Procedure


def _citizen_profile(request: HttpRequest):
    from citizens.selectors import citizen_profile_for

    return citizen_profile_for(user=request.user)


CATALOGUE_PAGE_SIZE = 20


@require_GET
def catalogue(request: HttpRequest) -> HttpResponse:
    """Search the published catalogue (diacritics and case ignored) with filters, paginated."""
    filters = {
        key: request.GET.get(key, "").strip()[:200]
        for key in ("q", "sector", "agency", "service_level", "applicant_type")
    }
    results = selectors.procedure_search(**filters)
    page = Paginator(results, CATALOGUE_PAGE_SIZE).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "procedures/catalogue.html",
        {
            "procedures": page.object_list,
            "page": page,
            "filters": filters,
            "facets": selectors.procedure_facets(),
            "service_levels": Procedure.ServiceLevel.choices,
            "applicant_types": [
                (Procedure.ApplicantType.CITIZEN, _("Citizens")),
                (Procedure.ApplicantType.ORGANISATION, _("Organisations")),
            ],
            "query_string": query.urlencode(),
        },
    )


@require_http_methods(["GET", "POST"])
def procedure_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """Show a procedure; a signed-in citizen applies here."""
    procedure = selectors.procedure_get_published_detail(pk=pk)
    profile = _citizen_profile(request) if request.user.is_authenticated else None
    if request.method == "POST":
        if profile is None:
            raise PermissionDenied
        form = DossierApplyForm(request.POST, request.FILES)
        if form.is_valid():
            data = form.cleaned_data
            try:
                dossier = services.dossier_submit(
                    procedure=procedure,
                    applicant_user=request.user,
                    applicant=services.ApplicantData(
                        name=profile.full_name,
                        national_id=profile.national_id,
                        address=data["address"],
                        phone=data["phone"],
                        email=data["email"],
                    ),
                    request_summary=data["request_summary"],
                    upload=data["document"],
                    document_title=_("Application"),
                )
            except ApplicationError as exc:
                form.add_error(None, exc.message)
            else:
                messages.success(
                    request,
                    _("Your dossier has been submitted. Reference: %(ref)s") % {"ref": dossier.reference},
                )
                return redirect("procedures:dossier-detail", reference=dossier.reference)
    else:
        form = DossierApplyForm()
    today = timezone.localdate()
    from citizens.applicant import applicant_for

    return render(
        request,
        "procedures/procedure_detail.html",
        {
            "procedure": procedure,
            "form": form,
            "profile": profile,
            "applicant": applicant_for(user=request.user),
            "fees": [fee for fee in procedure.fees.all() if fee.is_effective_on(today)],
            "form_fields": form_schema_fields(procedure.form_schema, get_language() or "vi"),
        },
        status=400 if request.method == "POST" else 200,
    )


def _public_file(field_file, *, name: str) -> FileResponse:
    if not field_file:
        raise Http404
    content_type = "application/pdf" if name.lower().endswith(".pdf") else "application/octet-stream"
    return attachment_response(field_file, name=name, content_type=content_type)


@require_GET
def procedure_document_template(request: HttpRequest, pk: int, doc_id: int) -> FileResponse:
    """The blank template of a checklist document of a published procedure (public, like the page)."""
    procedure = selectors.procedure_get_published(pk=pk)
    document = procedure.documents.filter(pk=doc_id).first()
    if document is None:
        raise Http404
    return _public_file(document.template, name=document.template.name.rsplit("/", 1)[-1])


@require_GET
def procedure_result_template(request: HttpRequest, pk: int) -> FileResponse:
    """The sample of the result document (PDF) of a published procedure."""
    procedure = selectors.procedure_get_published(pk=pk)
    return _public_file(procedure.result_template, name=f"{procedure.code}-result-sample.pdf")


def dossier_detail(request: HttpRequest, reference: str) -> HttpResponse:
    """The applicant's dossier page (moved to citizens/; this URL name stays for links and tests)."""
    from citizens.views import dossier_detail as applicant_dossier_detail

    return applicant_dossier_detail(request, reference)


def _receipt_response(dossier: Dossier) -> FileResponse:
    if dossier.code is None:
        raise Http404
    document = dossier_receipt_get_or_render(dossier_id=dossier.pk)
    return FileResponse(
        document.file.open("rb"),
        content_type="application/pdf",
        as_attachment=False,
        filename=f"{dossier.code}-giay-tiep-nhan.pdf",
    )


@login_required
@require_GET
def dossier_receipt(request: HttpRequest, reference: str) -> FileResponse:
    dossier = selectors.dossier_get_for_applicant(user=request.user, reference=reference)
    selectors.personal_data_read(actor=request.user, dossiers=[dossier], purpose="applicant downloads receipt")
    return _receipt_response(dossier)
