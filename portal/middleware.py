"""Project middleware: the language choice, the per-request audit context and the session time limits."""

from __future__ import annotations

import re
import time
import uuid

from django.conf import settings
from django.contrib.auth import SESSION_KEY, logout
from django.utils import translation
from django.utils.cache import patch_cache_control

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


_REQUEST_ID = re.compile(r"[A-Za-z0-9._-]{8,64}")


class RequestContextMiddleware:
    """Bind the client IP and a request id for the audit trail while the request runs."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        request_id = request.headers.get("X-Request-ID", "")[:64]
        if not _REQUEST_ID.fullmatch(request_id):
            request_id = uuid.uuid4().hex  # a client-chosen id must not carry anything into logs and pages
        request.request_id = request_id
        token = context.bind(context.RequestContext(ip=client_ip(request), request_id=request_id))
        try:
            response = self.get_response(request)
        finally:
            context.reset(token)
        response["X-Request-ID"] = request_id
        return response


# --- session time limits (security.md T04) ------------------------------------------------------------

SESSION_AUTH_AT = "_portal_auth_at"
SESSION_SEEN_AT = "_portal_seen_at"
SEEN_AT_RESOLUTION_SECONDS = 60  # the last-seen stamp is rewritten at most once a minute


def is_staff_user(user) -> bool:
    return bool(user.is_staff or user.is_superuser or hasattr(user, "staff_profile"))


def session_limits(user) -> tuple[int, int]:
    """(idle, absolute) seconds for this account: staff get the short idle time."""
    if is_staff_user(user):
        return settings.STAFF_SESSION_IDLE_SECONDS, settings.STAFF_SESSION_ABSOLUTE_SECONDS
    return settings.APPLICANT_SESSION_IDLE_SECONDS, settings.APPLICANT_SESSION_ABSOLUTE_SECONDS


class SessionTimeoutMiddleware:
    """End a signed-in session after the idle time or the absolute time, whatever the cookie says.

    The request then continues as anonymous: pages that need an account send the user to sign in.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            now = time.time()
            session = request.session
            auth_at = session.get(SESSION_AUTH_AT)
            seen_at = session.get(SESSION_SEEN_AT)
            if auth_at is None:  # a session from before this middleware: start counting now
                session[SESSION_AUTH_AT] = auth_at = now
            if seen_at is None:
                seen_at = now
            idle, absolute = session_limits(user)
            if now - auth_at > absolute or now - seen_at > idle:
                request.session_end_reason = "absolute_timeout" if now - auth_at > absolute else "idle_timeout"
                logout(request)
            elif now - seen_at >= SEEN_AT_RESOLUTION_SECONDS or SESSION_SEEN_AT not in session:
                session[SESSION_SEEN_AT] = now
        return self.get_response(request)


# --- no caching of pages with personal data (security.md T21) -----------------------------------------

# Pages an anonymous visitor gets that can still show a person's data (the public look-up's answer).
PRIVATE_PATH_PREFIXES = ("/me/", "/privacy/", "/official/")


class PrivateNoStoreMiddleware:
    """Every answer to a signed-in user or API caller, and the applicant paths, is `Cache-Control: private, no-store`.

    A signed-in page shows at least the user's name; most show dossiers, documents or ID numbers. Neither a
    shared cache nor the browser's back-forward cache may keep them. Public pages for anonymous visitors keep
    whatever caching their view chose.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        user = getattr(request, "user", None)
        session = getattr(request, "session", None)
        # DRF replaces request.user on views without authentication; the session still knows who is signed in.
        signed_in = bool(user is not None and user.is_authenticated) or bool(session and session.get(SESSION_KEY))
        api_caller = "HTTP_AUTHORIZATION" in request.META or "HTTP_X_DVCQG_SIGNATURE" in request.META
        private = signed_in or api_caller or request.path.startswith(PRIVATE_PATH_PREFIXES)
        if private and "no-store" not in response.get("Cache-Control", ""):
            patch_cache_control(response, private=True, no_store=True)
        return response
