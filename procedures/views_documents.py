"""Downloads of official slips and the signed result (access-checked, audited) and the public QR page."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from portal.audit import audit_record
from portal.ratelimits import limit
from portal.signing import SigningError
from procedures.documents import (
    FILE_NAMES,
    SlipNotDue,
    documents_available,
    official_document_get_or_render,
    public_verification,
)
from procedures.models import Dossier, OfficialDocument, StaffProfile


def _dossier_for(user, reference: str) -> Dossier:
    """The dossier if USER is its applicant or staff of its deciding, receiving or consulted agency; else 404."""
    dossier = (
        Dossier.objects.select_related("agency", "procedure").filter(reference=reference[:32]).first()
        if reference
        else None
    )
    if dossier is None:
        raise Http404
    if dossier.applicant_id == user.pk:
        return dossier
    profile = StaffProfile.objects.filter(user=user).only("agency_id").first()
    if profile is not None and profile.agency_id in (
        dossier.agency_id,
        dossier.consulted_agency_id,
        dossier.received_by_agency_id,
    ):
        return dossier
    raise Http404


@login_required
@require_GET
def official_document_list(request: HttpRequest, reference: str) -> HttpResponse:
    dossier = _dossier_for(request.user, reference)
    return render(
        request,
        "documents/list.html",
        {"dossier": dossier, "items": documents_available(dossier)},
    )


@login_required
@require_GET
def official_document_download(
    request: HttpRequest, reference: str, kind: str, sequence: int | None = None
) -> HttpResponse:
    """Serve a slip or the result as an attachment; render it first if the after-commit task has not yet."""
    dossier = _dossier_for(request.user, reference)
    if kind not in OfficialDocument.Kind.values:
        raise Http404
    try:
        document = official_document_get_or_render(dossier_id=dossier.pk, kind=kind, sequence=sequence)
    except SlipNotDue:
        raise Http404 from None
    except (SigningError, ImproperlyConfigured):
        return render(request, "documents/unavailable.html", {"dossier": dossier}, status=503)
    with transaction.atomic():
        audit_record(
            action="personal_data.read",
            actor=request.user,
            obj=dossier,
            data={
                "dossiers": [dossier.pk],
                "purpose": "download official document",
                "document": document.pk,
                "kind": document.kind,
                "number": document.number,
            },
        )
    label = dossier.code or dossier.reference
    response = FileResponse(
        document.file.open("rb"),
        content_type="application/pdf",
        as_attachment=True,
        filename=f"{label}-{FILE_NAMES[document.kind]}-{document.sequence}.pdf",
    )
    response["X-Content-Type-Options"] = "nosniff"
    response["Cache-Control"] = "private, no-store"
    return response


@require_GET
@limit("verify-ip")
def verify(request: HttpRequest, token: str) -> HttpResponse:
    """The public QR page: what the document is and whether it is intact; no personal data."""
    result = public_verification(token=token)
    response = render(request, "documents/verify.html", {"result": result}, status=200 if result else 404)
    response["X-Robots-Tag"] = "noindex"
    response["Referrer-Policy"] = "no-referrer"
    response["Cache-Control"] = "no-store"
    return response
