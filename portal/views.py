"""Pages of the project itself: home, where to go after sign-in, and the health check."""

from __future__ import annotations

import time

from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from portal.health import broker_status, simulator_status


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    from procedures.selectors import procedure_list_published

    return render(request, "portal/home.html", {"procedures": procedure_list_published()[:12]})


@require_GET
def after_login(request: HttpRequest) -> HttpResponse:
    """Send staff to their workspace and applicants to their dossiers."""
    user = request.user
    if not user.is_authenticated:
        return redirect("account_login")
    if hasattr(user, "staff_profile"):
        return redirect("workspace:home")
    if user.facility_memberships.exists():
        return redirect("facilities:list")
    if user.is_staff:
        return redirect("admin:index")
    return redirect("citizens:my-dossiers")


@never_cache
@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """Answer the state of the database, the broker and the simulators (200 only when the DB is up)."""
    started = time.monotonic()
    checks: dict[str, dict] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
            cursor.fetchone()
        checks["database"] = {"status": "ok", "vendor": connection.vendor}
    except Exception as exc:  # any failure is reported, never raised
        checks["database"] = {"status": "error", "error": exc.__class__.__name__}
    checks["broker"] = broker_status()
    if settings.HEALTHZ_CHECK_SIMULATORS:
        checks["simulators"] = simulator_status()
    ok = checks["database"]["status"] == "ok"
    body = {
        "status": "ok" if ok and checks["broker"]["status"] == "ok" else ("degraded" if ok else "error"),
        "checks": checks,
        "elapsed_ms": round((time.monotonic() - started) * 1000, 1),
    }
    return JsonResponse(body, status=200 if ok else 503)


def set_language(request: HttpRequest) -> HttpResponse:
    """Django's language switch; a signed-in user's choice is also kept for their notifications."""
    from django.views.i18n import set_language as django_set_language

    response = django_set_language(request)
    language = request.POST.get("language", "")
    if request.method == "POST" and request.user.is_authenticated and language in dict(settings.LANGUAGES):
        from procedures.notifications import notification_language_set

        notification_language_set(user=request.user, language=language)
    return response
