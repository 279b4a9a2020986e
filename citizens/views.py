"""The applicant's own pages."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

from procedures.selectors import dossier_list_for_applicant


@login_required
@require_GET
def my_dossiers(request: HttpRequest) -> HttpResponse:
    """List the signed-in applicant's dossiers with their status (no personal data shown)."""
    return render(request, "citizens/my_dossiers.html", {"dossiers": dossier_list_for_applicant(user=request.user)})
