"""The data subject's pages (/privacy/): their requests, the export of their data, consent withdrawal."""

from __future__ import annotations

from functools import wraps

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from portal.errors import ApplicationError
from portal.middleware import is_staff_user
from privacy.forms import PrivacyRequestForm
from privacy.models import PrivacyRequest
from privacy.services import consent_withdrawal, privacy_request_create, subject_export


def data_subject_required(view):
    """Signed-in applicants (citizens, organisations); staff get 404, as on the applicant pages."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args, **kwargs):
        if is_staff_user(request.user):
            raise Http404
        return view(request, *args, **kwargs)

    return never_cache(wrapper)


@require_GET
@data_subject_required
def overview(request: HttpRequest) -> HttpResponse:
    from citizens.models import Consent

    return render(
        request,
        "privacy/overview.html",
        {
            "requests": PrivacyRequest.objects.filter(subject=request.user),
            "consents": Consent.objects.filter(user=request.user).order_by("-given_at"),
            "form": PrivacyRequestForm(),
        },
    )


@require_POST
@data_subject_required
def export(request: HttpRequest) -> HttpResponse:
    _row, payload = subject_export(subject=request.user)
    response = HttpResponse(payload, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="personal-data-{timezone.localdate():%Y%m%d}.zip"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@require_http_methods(["GET", "POST"])
@data_subject_required
def request_new(request: HttpRequest) -> HttpResponse:
    form = PrivacyRequestForm(request.POST or None)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                row = privacy_request_create(
                    subject=request.user, kind=form.cleaned_data["kind"], details=form.cleaned_data["details"]
                )
            except ApplicationError as exc:
                form.add_error(exc.extra.get("field"), exc.message)
            else:
                messages.success(request, _("Your request %(reference)s was received.") % {"reference": row.reference})
                return redirect("privacy:request", reference=row.reference)
        status = 400
    return render(request, "privacy/request_form.html", {"form": form}, status=status)


@require_GET
@data_subject_required
def request_detail(request: HttpRequest, reference: str) -> HttpResponse:
    row = PrivacyRequest.objects.filter(subject=request.user, reference=reference).first()
    if row is None:
        raise Http404
    return render(request, "privacy/request_detail.html", {"row": row})


@require_POST
@data_subject_required
def consent_withdraw(request: HttpRequest, reference: str) -> HttpResponse:
    try:
        row = consent_withdrawal(subject=request.user, reference=reference)
    except ApplicationError as exc:
        if exc.status == 404:
            raise Http404 from exc
        messages.error(request, exc.message)
        return redirect("privacy:overview")
    messages.success(request, _("Your consent was withdrawn."))
    return redirect("privacy:request", reference=row.reference)
