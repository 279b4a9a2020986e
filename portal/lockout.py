"""Sign-in lockout (security.md T01) on django-axes, and the audit records of sign-in events.

Axes counts failures per [username, IP] (AXES_FAILURE_LIMIT). This handler adds two limits over the same
cool-off window, counted from the same AccessAttempt rows: per IP whatever usernames are tried
(AXES_IP_FAILURE_LIMIT, password spraying) and per username whatever addresses try it
(AXES_USERNAME_FAILURE_LIMIT, caps the failures per account and hour against credential stuffing).
Every lockout ends AXES_COOLOFF_TIME after it began.
"""

from __future__ import annotations

import logging
import time

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_client_username
from axes.models import AccessAttempt
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_logged_out, user_login_failed
from django.db import transaction
from django.db.models import Sum
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

from portal.audit import audit_record
from portal.crypto import pii_hash
from portal.middleware import SESSION_AUTH_AT, SESSION_SEEN_AT, client_ip

logger = logging.getLogger("portal.auth")


class PortalAxesHandler(AxesDatabaseHandler):
    """Axes' database handler plus a per-IP and a per-username limit."""

    def _failures(self, request: HttpRequest, **filters) -> int:
        recent = AccessAttempt.objects.filter(attempt_time__gte=get_cool_off_threshold(request), **filters)
        return recent.aggregate(n=Sum("failures_since_start"))["n"] or 0

    def _over_extra_limits(self, request: HttpRequest, credentials: dict | None) -> bool:
        ip = getattr(request, "axes_ip_address", None)
        if ip and self._failures(request, ip_address=ip) >= settings.AXES_IP_FAILURE_LIMIT:
            return True
        username = get_client_username(request, credentials)
        return bool(username) and self._failures(request, username=username) >= settings.AXES_USERNAME_FAILURE_LIMIT

    def is_locked(self, request, credentials: dict | None = None) -> bool:
        return super().is_locked(request, credentials) or self._over_extra_limits(request, credentials)

    def user_login_failed(self, sender, credentials: dict, request=None, **kwargs):
        super().user_login_failed(sender, credentials, request, **kwargs)
        if request is None or getattr(request, "axes_locked_out", False):
            return
        if self._over_extra_limits(request, credentials):
            request.axes_locked_out = True
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes",
                request=request,
                username=get_client_username(request, credentials),
                ip_address=request.axes_ip_address,
            )


def client_ip_for_axes(request: HttpRequest) -> str | None:
    """The address axes counts: the one the audit trail records (AUDIT_IP_HEADER behind a proxy)."""
    return client_ip(request)


def lockout_response(request: HttpRequest, credentials: dict | None = None, *args, **kwargs) -> HttpResponse:
    """The same answer whoever the account is (known or not): no username echoed, status 429."""
    minutes = int(settings.AXES_COOLOFF_TIME.total_seconds() // 60)
    if request.headers.get("Accept", "").startswith("application/json"):
        return JsonResponse({"detail": _("Too many failed sign-in attempts. Try again later.")}, status=429)
    return render(request, "portal/locked_out.html", {"cooloff_minutes": minutes}, status=429)


def _login_key(credentials: dict | None) -> str:
    """A keyed hash of what was typed as the login: comparable between records, not readable."""
    typed = (credentials or {}).get("username") or (credentials or {}).get("login") or ""
    return pii_hash(str(typed).strip().lower())[:16] if typed else ""


@receiver(user_login_failed, dispatch_uid="portal.audit_login_failed")
def audit_login_failed(sender, credentials=None, request=None, **kwargs) -> None:
    with transaction.atomic():
        audit_record(
            action="auth.login_failed",
            object_type="auth.user",
            data={
                "login_key": _login_key(credentials),
                "user_agent": (request.headers.get("User-Agent", "")[:200] if request is not None else ""),
            },
        )


@receiver(user_locked_out, dispatch_uid="portal.audit_locked_out")
def audit_locked_out(sender, request=None, username=None, ip_address=None, **kwargs) -> None:
    with transaction.atomic():
        audit_record(
            action="auth.locked_out",
            object_type="auth.user",
            data={"login_key": _login_key({"username": username}), "cooloff_seconds": _cooloff_seconds()},
        )


def _cooloff_seconds() -> int:
    return int(settings.AXES_COOLOFF_TIME.total_seconds())


@receiver(user_logged_in, dispatch_uid="portal.audit_logged_in")
def audit_logged_in(sender, request=None, user=None, **kwargs) -> None:
    if request is not None and hasattr(request, "session"):
        now = time.time()  # the session's absolute and idle clocks start at sign-in (SessionTimeoutMiddleware)
        request.session[SESSION_AUTH_AT] = now
        request.session[SESSION_SEEN_AT] = now
    with transaction.atomic():
        audit_record(
            action="auth.login",
            actor=user,
            obj=user,
            data={"user_agent": (request.headers.get("User-Agent", "")[:200] if request is not None else "")},
        )


@receiver(user_logged_out, dispatch_uid="portal.audit_logged_out")
def audit_logged_out(sender, request=None, user=None, **kwargs) -> None:
    if user is None:
        return
    reason = getattr(request, "session_end_reason", "") if request is not None else ""
    with transaction.atomic():
        audit_record(action="auth.logout", actor=user, obj=user, reason=reason)
