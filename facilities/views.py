"""Facility screens (issue, list, detail, re-issue, reports), the citizen's list and the public QR page.

Thin: parse the request, call one service or selector, render. Reads of personal data are audited.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from facilities import selectors, services
from facilities.models import HealthDocument
from facilities.standards import (
    BOOL,
    CHOICE,
    DATE,
    DATETIME,
    INT,
    PERSONAL_ID,
    PROVINCE,
    STANDARDS,
    FieldSpec,
    standard_get,
)
from portal.audit import audit_record
from portal.errors import ApplicationError
from portal.ratelimits import limit

CHILD_BLOCKS = 3


def _issuer(request: HttpRequest, *, roles: tuple[str, ...] = ()) -> services.Issuer:
    try:
        return services.issuer_for_user(user=request.user, roles=roles)
    except ApplicationError as exc:
        raise PermissionDenied(exc.message) from exc


def _provinces() -> list[tuple[str, str]]:
    from places.models import AdministrativeUnit

    return list(
        AdministrativeUnit.objects.filter(
            generation=AdministrativeUnit.Generation.REFORM_2025, level=AdministrativeUnit.Level.PROVINCE
        ).values_list("code", "name")
    )


INPUT_TYPES = {DATE: "date", DATETIME: "datetime-local", INT: "number"}


def _rows(
    specs: tuple[FieldSpec, ...],
    values: dict[str, Any],
    errors: dict[str, list[str]],
    *,
    prefix: str = "",
    provinces=None,
) -> list[dict[str, Any]]:
    rows = []
    for spec in specs:
        name = prefix + spec.name
        value = values.get(name, "")
        if spec.type == DATETIME and value and len(str(value)) > 16:
            value = str(value)[:16]
        widget = "select" if spec.type in (CHOICE, PROVINCE) else "checkbox" if spec.type == BOOL else "input"
        choices = provinces if spec.type == PROVINCE else [(c, str(label)) for c, label in spec.choices]
        rows.append(
            {
                "name": name,
                "id": "f-" + name,
                "label": spec.label,
                "help": spec.help,
                "widget": widget,
                "input_type": INPUT_TYPES.get(spec.type, "text"),
                "inputmode": "numeric" if spec.type == PERSONAL_ID else "",
                "value": value,
                "checked": value in (True, "on", "true", "1"),
                "choices": choices or [],
                "required": spec.required,
                "errors": errors.get(name, []),
            }
        )
    return rows


def _posted(request: HttpRequest, specs: tuple[FieldSpec, ...], *, prefix: str = "") -> dict[str, Any]:
    data: dict[str, Any] = {}
    for spec in specs:
        key = prefix + spec.name
        if spec.type == BOOL:
            data[spec.name] = key in request.POST
        elif key in request.POST:
            data[spec.name] = request.POST.get(key, "")
    return data


@login_required
@require_GET
def document_list(request: HttpRequest) -> HttpResponse:
    issuer = _issuer(request)
    kind = request.GET.get("kind", "") if request.GET.get("kind") in HealthDocument.Kind.values else ""
    status = request.GET.get("status", "")
    if status not in [*HealthDocument.Delivery.values, "superseded"]:
        status = ""
    page = Paginator(selectors.documents_for_facility(facility=issuer.facility, kind=kind, status=status), 50).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "facilities/list.html",
        {
            "facility": issuer.facility,
            "page": page,
            "documents": page.object_list,
            "kind": kind,
            "status": status,
            "kinds": HealthDocument.Kind.choices,
            "statuses": HealthDocument.Delivery.choices,
            "alerts": selectors.open_alerts(facility=issuer.facility)[:50],
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def issue_birth(request: HttpRequest) -> HttpResponse:
    issuer = _issuer(request)
    standard = standard_get(_settings_birth(), kind=HealthDocument.Kind.BIRTH)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    form = request.POST.get("form", "01") if request.method == "POST" else "01"
    if request.method == "POST":
        values = dict(request.POST.items())
        data = _posted(request, standard.shared_fields)
        children = []
        for i in range(1, CHILD_BLOCKS + 1):
            child = _posted(request, standard.child_fields, prefix=f"child{i}-")
            if any(v not in ("", False, None) for v in child.values()):
                children.append(child)
        try:
            documents = services.birth_certificates_issue(issuer=issuer, data=data, children=children, form=form)
        except services.DocumentInvalid as exc:
            errors = exc.errors
            messages.error(request, exc.message)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("Issued %(count)s birth certificate(s): %(numbers)s.")
                % {"count": len(documents), "numbers": ", ".join(d.number for d in documents)},
            )
            return redirect("facilities:detail", pk=documents[0].pk)
    provinces = _provinces()
    return render(
        request,
        "facilities/issue_birth.html",
        {
            "facility": issuer.facility,
            "standard": standard,
            "form_value": form,
            "shared_rows": _rows(standard.shared_fields, values, errors, provinces=provinces),
            "child_blocks": [
                (i, _rows(standard.child_fields, values, errors, prefix=f"child{i}-"))
                for i in range(1, CHILD_BLOCKS + 1)
            ],
            "general_errors": [m for k in ("children", "data", "form", "standard_version") for m in errors.get(k, [])],
        },
    )


def _settings_birth() -> str:
    from django.conf import settings

    return settings.FACILITIES_BIRTH_STANDARD


def _settings_death() -> str:
    from django.conf import settings

    return settings.FACILITIES_DEATH_STANDARD


@login_required
@require_http_methods(["GET", "POST"])
def issue_death(request: HttpRequest) -> HttpResponse:
    issuer = _issuer(request)
    standard = standard_get(_settings_death(), kind=HealthDocument.Kind.DEATH)
    errors: dict[str, list[str]] = {}
    values: dict[str, Any] = {}
    related = request.GET.get("birth") or request.POST.get("related_birth") or ""
    if request.method == "POST":
        values = dict(request.POST.items())
        data = _posted(request, standard.fields)
        try:
            document = services.death_notice_issue(
                issuer=issuer, data=data, related_birth_id=int(related) if related.isdigit() else None
            )
        except services.DocumentInvalid as exc:
            errors = exc.errors
            messages.error(request, exc.message)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(request, _("Issued death notice %(number)s.") % {"number": document.number})
            return redirect("facilities:detail", pk=document.pk)
    related_birth = (
        HealthDocument.objects.filter(pk=related, facility=issuer.facility, kind=HealthDocument.Kind.BIRTH).first()
        if related.isdigit()
        else None
    )
    return render(
        request,
        "facilities/issue_death.html",
        {
            "facility": issuer.facility,
            "standard": standard,
            "rows": _rows(standard.fields, values, errors, provinces=_provinces()),
            "related_birth": related_birth,
            "general_errors": [m for k in ("related_birth", "data", "standard_version") for m in errors.get(k, [])],
        },
    )


def _facility_document(request: HttpRequest, pk: int) -> tuple[services.Issuer, HealthDocument]:
    issuer = _issuer(request)
    document = (
        HealthDocument.objects.select_related("facility", "supersedes", "related_birth")
        .filter(pk=pk, facility=issuer.facility)
        .first()
    )
    if document is None:
        raise Http404
    return issuer, document


@login_required
@require_GET
def document_detail(request: HttpRequest, pk: int) -> HttpResponse:
    issuer, document = _facility_document(request, pk)
    with transaction.atomic():
        audit_record(
            action="facilities.document.view", actor=request.user, obj=document, data={"number": document.number}
        )
    standard = STANDARDS[document.standard_version]
    data = document.data
    return render(
        request,
        "facilities/detail.html",
        {
            "facility": issuer.facility,
            "document": document,
            "fields": [
                (spec.label, data.get(spec.name))
                for spec in standard.fields
                if data.get(spec.name) not in (None, "", False)
            ],
            "events": document.events.all(),
            "alerts": document.alerts.all(),
            "successor": HealthDocument.objects.filter(supersedes=document).first(),
            "siblings": HealthDocument.objects.filter(birth_group=document.birth_group, is_current=True).exclude(
                pk=document.pk
            )
            if document.birth_group
            else [],
            "can_reissue": document.is_current
            and issuer.facility.memberships.filter(user=request.user, role="head", is_active=True).exists(),
        },
    )


@login_required
@require_GET
def document_pdf(request: HttpRequest, pk: int) -> FileResponse:
    """The signed PDF: for the issuing facility's members and for the parent or relative it names."""
    document = HealthDocument.objects.select_related("facility").filter(pk=pk).first()
    if document is None or not document.pdf:
        raise Http404
    member = document.facility.memberships.filter(user=request.user, is_active=True).exists()
    profile = getattr(request.user, "citizen_profile", None)
    owner = profile is not None and profile.national_id_hash in (document.holder_hash, document.second_holder_hash)
    if not (member or owner):
        raise Http404
    with transaction.atomic():
        audit_record(
            action="facilities.document.download", actor=request.user, obj=document, data={"number": document.number}
        )
    response = FileResponse(document.pdf.open("rb"), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{document.number}-r{document.revision}.pdf"'
    return response


@login_required
@require_http_methods(["GET", "POST"])
def document_reissue(request: HttpRequest, pk: int) -> HttpResponse:
    issuer, document = _facility_document(request, pk)
    if not issuer.facility.memberships.filter(user=request.user, role="head", is_active=True).exists():
        raise PermissionDenied(_("Only the head of the facility re-issues documents."))
    standard = STANDARDS[document.standard_version]
    editable = standard.fields
    errors: dict[str, list[str]] = {}
    values = dict(document.data)
    if request.method == "POST":
        values = dict(request.POST.items())
        reason = request.POST.get("reason", "")
        try:
            new = services.document_reissue(
                issuer=issuer,
                document_id=document.pk,
                reason=reason,
                note=request.POST.get("note", ""),
                data=_posted(request, editable) if reason == HealthDocument.ReissueReason.ERROR else None,
            )
        except services.DocumentInvalid as exc:
            errors = exc.errors
            messages.error(request, exc.message)
        except ApplicationError as exc:
            messages.error(request, exc.message)
        else:
            messages.success(
                request,
                _("Re-issued %(number)s (revision %(revision)s).") % {"number": new.number, "revision": new.revision},
            )
            return redirect("facilities:detail", pk=new.pk)
    return render(
        request,
        "facilities/reissue.html",
        {
            "facility": issuer.facility,
            "document": document,
            "rows": _rows(editable, values, errors, provinces=_provinces()),
            "reasons": HealthDocument.ReissueReason.choices,
            "general_errors": [m for k in ("reason", "note", "data", "children") for m in errors.get(k, [])],
        },
    )


def _period(request: HttpRequest) -> tuple[dt.date, dt.date]:
    today = timezone.localdate()
    try:
        start = dt.date.fromisoformat(request.GET.get("from", ""))
    except ValueError:
        start = today.replace(day=1)
    try:
        end = dt.date.fromisoformat(request.GET.get("to", ""))
    except ValueError:
        end = today
    return start, max(start, end)


@login_required
@require_GET
def reports(request: HttpRequest) -> HttpResponse:
    issuer = _issuer(request)
    start, end = _period(request)
    return render(
        request,
        "facilities/reports.html",
        {
            "facility": issuer.facility,
            "report": selectors.facility_report(facility=issuer.facility, start=start, end=end),
        },
    )


@login_required
@require_GET
def alerts_overview(request: HttpRequest) -> HttpResponse:
    """The ministry's view: every open service-level alert of every facility (staff only)."""
    if not request.user.is_staff:
        raise PermissionDenied
    return render(request, "facilities/alerts.html", {"alerts": selectors.open_alerts()[:500]})


@login_required
@require_GET
def my_documents(request: HttpRequest) -> HttpResponse:
    """The parent's or relative's documents: type, number, facility, status (no other personal data)."""
    profile = getattr(request.user, "citizen_profile", None)
    documents = selectors.documents_for_citizen(national_id_hash=profile.national_id_hash if profile else "")
    return render(request, "facilities/my_documents.html", {"documents": documents})


@require_GET
@limit("verify-ip")
def verify(request: HttpRequest, token: str) -> HttpResponse:
    """The public QR page: what the document is and whether it stands; no personal data."""
    result = selectors.public_verification(token=token[:100])
    response = render(request, "facilities/verify.html", {"result": result}, status=200 if result else 404)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    return response
