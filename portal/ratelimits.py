"""Request rate limits on the public and costly routes (django-ratelimit; decision 0063).

Rates are settings (`RATE_LIMITS`, one entry per group) so an operator can tune them without code; keys
are the client address (the same one the audit trail records, `portal.middleware.client_ip`), the
signed-in user, or a field of the request (the dossier code of a public look-up, so a distributed guess
at one dossier's secret is capped too). Counters live in the default cache: in production that is a
shared cache (`CACHE_URL`, Redis), which the deploy check `portal.E006` requires; one process (the demo,
tests) may use the local memory cache.

A request over the limit gets a translated 429 page (JSON under /api/) and nothing of it is processed;
the first refusal per client and route in a minute is audited (`security.rate_limited`), every one is logged.
"""

from __future__ import annotations

import logging

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django_ratelimit.decorators import ratelimit

from portal.middleware import client_ip

logger = logging.getLogger("portal.security")


def ip_key(group: str, request: HttpRequest) -> str:
    return client_ip(request) or "-"


def user_or_ip_key(group: str, request: HttpRequest) -> str:
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return f"user:{user.pk}"
    return f"ip:{ip_key(group, request)}"


def lookup_code_key(group: str, request: HttpRequest) -> str:
    """The dossier code typed in the public look-up, normalised the way the look-up reads it."""
    return (request.POST.get("code") or "").strip()[:64].upper() or "-"


def _rate(name: str):
    def rate(group: str, request: HttpRequest) -> str:
        return settings.RATE_LIMITS[name]

    rate.__name__ = f"rate_{name.replace('-', '_')}"
    return rate


def limit(name: str, *, key=ip_key, method=ratelimit.ALL):
    """Decorate a view with the limit NAME of settings.RATE_LIMITS (blocking: 429 when exceeded)."""
    return ratelimit(group=f"portal.{name}", key=key, rate=_rate(name), method=method, block=True)


def rate_limited(request: HttpRequest, exception=None) -> HttpResponse:
    """RATELIMIT_VIEW: the answer to a request over its limit, audited."""
    from django.core.cache import cache
    from django.db import transaction
    from django.utils.translation import gettext as _

    from portal.audit import audit_record
    from portal.error_views import answer

    user = getattr(request, "user", None)
    actor = user if user is not None and user.is_authenticated else None
    # One audit record per client and route a minute: a flood must not become a flood of audit writes.
    if cache.add(f"portal.rate_limited:{ip_key('', request)}:{request.path[:200]}", 1, 60):
        with transaction.atomic():
            audit_record(
                action="security.rate_limited", actor=actor, data={"path": request.path[:200], "method": request.method}
            )
    logger.warning("rate limited", extra={"path": request.path[:200], "method": request.method})
    response = answer(request, 429, "429.html", _("Too many requests. Please wait a few minutes and try again."))
    response["Retry-After"] = "60"
    return response
