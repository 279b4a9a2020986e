"""Generic error pages (security.md T23): nothing of the internals, the correlation id to quote.

Wired in portal/urls.py (handler400/403/404/500) and CSRF_FAILURE_VIEW. Under /api/ the answer is JSON.
The 500 page renders without context processors or the base template, so it works when the database is down.
"""

from __future__ import annotations

import sys

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.template import loader
from django.utils.translation import gettext as _
from django.views.decorators.csrf import requires_csrf_token

from portal import context


def _request_id(request: HttpRequest) -> str:
    return getattr(request, "request_id", "") or context.current().request_id or "-"


def answer(request: HttpRequest, status: int, template: str, message: str, *, plain: bool = False) -> HttpResponse:
    request_id = _request_id(request)
    if request.path.startswith("/api/"):
        response = JsonResponse({"detail": message, "request_id": request_id}, status=status)
    else:
        body = loader.get_template(template).render(
            {"request_id": request_id, "message": message, "status": status}, None if plain else request
        )
        response = HttpResponse(body, status=status, content_type="text/html; charset=utf-8")
    response["X-Request-ID"] = request_id
    response["Cache-Control"] = "no-store"
    return response


@requires_csrf_token
def bad_request(request: HttpRequest, exception=None) -> HttpResponse:
    return answer(request, 400, "400.html", _("The request could not be understood."))


@requires_csrf_token
def permission_denied(request: HttpRequest, exception=None) -> HttpResponse:
    return answer(request, 403, "403.html", _("You do not have access to this page."))


@requires_csrf_token
def page_not_found(request: HttpRequest, exception=None) -> HttpResponse:
    return answer(request, 404, "404.html", _("The page was not found."))


def database_unavailable(exc: BaseException | None) -> bool:
    """Whether EXC means the database cannot be reached (down, restarting, connection cut), not a bug."""
    from django.db import InterfaceError, OperationalError

    return isinstance(exc, (OperationalError, InterfaceError))


@requires_csrf_token
def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls the handler inside its `except` block: the exception is at hand (security.md T36).
    if database_unavailable(sys.exc_info()[1]):
        # The database is down or restarting: a temporary condition with a retry time, not a 500
        # (the page needs no database; Django's connection health checks reconnect by themselves).
        response = answer(
            request, 503, "503.html", _("The service is temporarily unavailable. Please try again shortly."), plain=True
        )
        response["Retry-After"] = "30"
        return response
    return answer(request, 500, "500.html", _("Something went wrong on our side."), plain=True)


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    return answer(
        request,
        403,
        "403_csrf.html",
        _("The form has expired or was sent from another site. Reload the page and try again."),
    )
