"""Project middleware: the language choice and the per-request audit context."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.utils import translation

from portal import context


class LanguageMiddleware:
    """Activate the language the user chose (cookie), else Vietnamese; Accept-Language is ignored."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.supported = {code for code, _name in settings.LANGUAGES}

    def __call__(self, request):
        lang = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        if lang not in self.supported:
            lang = settings.LANGUAGE_CODE
        translation.activate(lang)
        request.LANGUAGE_CODE = lang
        response = self.get_response(request)
        response.headers.setdefault("Content-Language", lang)
        return response


def client_ip(request) -> str | None:
    """Return the client address; behind a proxy, the first hop of the configured header."""
    header = settings.AUDIT_IP_HEADER
    if header and request.META.get(header):
        return request.META[header].split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


class RequestContextMiddleware:
    """Bind the client IP and a request id for the audit trail while the request runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.headers.get("X-Request-ID", "")[:64] or uuid.uuid4().hex
        token = context.bind(context.RequestContext(ip=client_ip(request), request_id=request_id))
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = request_id
        return response
