"""TOTP two-factor sign-in for staff and health-facility accounts (security.md T06; decisions 0050, 0051).

allauth.mfa asks for the code after the password (its login stage). This module adds what the portal needs
on top of it:

- who must have a second factor (``two_factor_required``) and the middleware that sends such an account
  without an authenticator to the enrolment page and lets nothing else through;
- TOTP secrets encrypted at rest with the personal-data keys (``PortalMFAAdapter``);
- a code is accepted once: the last accepted time step is kept on the authenticator row, under a row lock
  (allauth's own replay guard lives in the cache, per process);
- a wrong code counts as a failed sign-in in django-axes (database, same limits and cool-off as passwords);
- audit records ``auth.mfa_*`` for every step, and the administrator's reset.
"""

from __future__ import annotations

import time

from allauth.account.adapter import get_adapter as get_account_adapter
from allauth.core import context as allauth_context
from allauth.core.internal.cryptokit import compare_user_code
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa import signals as mfa_signals
from allauth.mfa.adapter import DefaultMFAAdapter
from allauth.mfa.base import forms as mfa_forms
from allauth.mfa.models import Authenticator
from allauth.mfa.totp import forms as totp_forms
from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value, yield_hotp_counters_from_time
from axes.handlers.proxy import AxesProxyHandler
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import resolve_url
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal import crypto
from portal.audit import audit_record
from portal.middleware import SESSION_AUTH_AT, is_staff_user

TOTP = Authenticator.Type.TOTP


# --- who needs a second factor --------------------------------------------------------------------------


def two_factor_required(user) -> bool:
    """Staff (and administrators) and members of a health facility: every account that signs in by password."""
    if not getattr(user, "is_authenticated", False):
        return False
    if is_staff_user(user):
        return True
    memberships = getattr(user, "facility_memberships", None)
    return bool(memberships is not None and memberships.filter(is_active=True).exists())


def totp_enrolled(user) -> bool:
    return Authenticator.objects.filter(user_id=user.pk, type=TOTP).exists()


# --- services ---------------------------------------------------------------------------------------------


def totp_enrol(*, user, secret: str) -> Authenticator:
    """Activate a TOTP authenticator with a known base32 secret (demo loader, tests); the secret is encrypted."""
    from allauth.mfa.totp.internal.auth import TOTP as AllauthTOTP

    return AllauthTOTP.activate(user, secret).instance


def totp_counter_match(secret: str, code: str) -> int | None:
    """The time step whose code CODE is (within MFA_TOTP_TOLERANCE of now), or None."""
    code = (code or "").strip().replace(" ", "")
    for counter in yield_hotp_counters_from_time():
        if compare_user_code(actual=code, expected=format_hotp_value(hotp_value(secret, counter))):
            return counter
    return None


def totp_code_now(secret: str) -> str:
    """The current code of SECRET (for the demo accounts' command; sign-in never needs it)."""
    return format_hotp_value(hotp_value(secret, int(time.time()) // mfa_settings.TOTP_PERIOD))


def totp_code_accept(authenticator: Authenticator, code: str) -> bool:
    """True when CODE is right and its time step is later than the last one accepted (a code works once)."""
    counter = totp_counter_match(crypto.decrypt(authenticator.data["secret"]), code)
    if counter is None:
        return False
    with transaction.atomic():
        current = Authenticator.objects.select_for_update().get(pk=authenticator.pk)
        last = current.data.get("last_counter")
        if last is not None and counter <= last:
            return False  # replayed, or an older code after a newer one
        current.data = {**current.data, "last_counter": counter}
        current.save(update_fields=["data"])
    authenticator.data = current.data
    return True


def two_factor_reset(*, user, actor, reason: str = "") -> int:
    """Remove every authenticator of USER (TOTP and recovery codes); they enrol again at their next request."""
    with transaction.atomic():
        removed = [a.type for a in Authenticator.objects.select_for_update().filter(user=user)]
        Authenticator.objects.filter(user=user).delete()
        audit_record(action="auth.mfa_reset", actor=actor, obj=user, reason=reason, data={"removed": sorted(removed)})
    return len(removed)


def _reset_after_sign_in(request: HttpRequest, user) -> bool:
    """True when an administrator reset USER's second factor after this session signed in."""
    from portal.models import AuditRecord

    signed_in_at = request.session.get(SESSION_AUTH_AT)
    last_reset = (
        AuditRecord.objects.filter(action="auth.mfa_reset", object_type="auth.user", object_id=str(user.pk))
        .order_by("-at")
        .values_list("at", flat=True)
        .first()
    )
    return bool(last_reset and signed_in_at is not None and last_reset.timestamp() > signed_in_at)


# --- allauth hooks ----------------------------------------------------------------------------------------


class PortalMFAAdapter(DefaultMFAAdapter):
    """Secrets encrypted at rest; staff cannot switch their authenticator off; our own translated messages."""

    error_messages = {
        **DefaultMFAAdapter.error_messages,
        "cannot_delete_authenticator": gettext_lazy(
            "Two-factor sign-in is required for your account and cannot be switched off. "
            "An administrator can reset it if you lose your authenticator."
        ),
        "incorrect_code": gettext_lazy("Incorrect code."),
        "unverified_email": gettext_lazy("Two-factor sign-in cannot be activated for this account."),
        "add_email_blocked": gettext_lazy("An e-mail address cannot be added to this account."),
        "cannot_generate_recovery_codes": gettext_lazy(
            "Recovery codes can only be generated once an authenticator app is active."
        ),
    }

    def get_totp_issuer(self) -> str:
        return settings.MFA_TOTP_ISSUER

    def get_totp_label(self, user) -> str:
        return user.get_username()

    def encrypt(self, text: str) -> str:
        return crypto.encrypt(text)

    def decrypt(self, encrypted_text: str) -> str:
        return crypto.decrypt(encrypted_text)

    def can_delete_authenticator(self, authenticator: Authenticator) -> bool:
        if authenticator.type == TOTP and two_factor_required(authenticator.user):
            return False
        return super().can_delete_authenticator(authenticator)


class _CodeCheck:
    """clean_code of allauth's authenticate forms, with the axes lockout and the database replay guard."""

    def clean_code(self) -> str:
        request = allauth_context.request
        credentials = {"username": self.user.get_username()}
        if AxesProxyHandler.is_locked(request, credentials):
            request.axes_locked_out = True  # AxesMiddleware answers with the lockout page (429)
            request.axes_credentials = credentials
            user_locked_out.send(
                "axes", request=request, username=credentials["username"], ip_address=request.axes_ip_address
            )
            raise get_account_adapter().validation_error("too_many_login_attempts")
        code = self.cleaned_data["code"]
        main = None
        for authenticator in Authenticator.objects.filter(user=self.user).exclude(type=Authenticator.Type.WEBAUTHN):
            if main is None or authenticator.type == TOTP:
                main = authenticator
            if authenticator.type == TOTP:
                accepted = totp_code_accept(authenticator, code)
            else:
                accepted = authenticator.wrap().validate_code(code)  # recovery codes: single use in allauth
            if accepted:
                authenticator.user = self.user
                self.authenticator = authenticator
                return code
        if main is not None:
            self._emit_authentication_failed(main)
        AxesProxyHandler.user_login_failed(sender=type(self), credentials=credentials, request=request)
        raise PortalMFAAdapter().validation_error("incorrect_code")


CODE_ATTRS = {"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*", "maxlength": "12"}


def _code_field(form) -> None:
    """Our label and a numeric keypad on phones; no placeholder (allauth's is not translated)."""
    field = form.fields["code"]
    field.label = gettext_lazy("Code from the authenticator app")
    field.widget.attrs = {**CODE_ATTRS, "autofocus": True}


class AuthenticateForm(_CodeCheck, mfa_forms.AuthenticateForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _code_field(self)


class ReauthenticateForm(_CodeCheck, mfa_forms.ReauthenticateForm):
    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _code_field(self)


class ActivateTOTPForm(totp_forms.ActivateTOTPForm):
    """allauth's enrolment form (the code proves the app holds the new secret), with our field."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        _code_field(self)


# --- enrolment gate ---------------------------------------------------------------------------------------

# URL names an account that must enrol may still reach: enrolment itself, the password confirmation that
# enrolment can ask for, sign-out and the language switch. Static files are served before the middleware.
ENROLMENT_URL_NAMES = ("mfa_activate_totp", "account_reauthenticate", "account_logout", "set_language")


class TwoFactorEnrolmentMiddleware:
    """Staff and facility members without an authenticator reach only the enrolment page (and sign-out)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self._allowed: set[str] | None = None

    def allowed_paths(self) -> set[str]:
        if self._allowed is None:
            self._allowed = {reverse(name) for name in ENROLMENT_URL_NAMES}
        return self._allowed

    def __call__(self, request: HttpRequest) -> HttpResponse:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            if two_factor_required(user):
                if not totp_enrolled(user):
                    response = self.refuse(request, user)
                    if response is not None:
                        return response
            elif request.path.startswith(reverse("mfa_index")):
                return self.not_for_applicants(request)
        return self.get_response(request)

    def refuse(self, request: HttpRequest, user) -> HttpResponse | None:
        if _reset_after_sign_in(request, user):
            request.session_end_reason = "mfa_reset"
            logout(request)
            return redirect_to_login(request.get_full_path(), resolve_url(settings.LOGIN_URL))
        path = request.path
        static_url = settings.STATIC_URL or "/static/"
        if path in self.allowed_paths() or path.startswith(static_url):
            return None
        enrol_url = reverse("mfa_activate_totp")
        if path.startswith("/api/"):
            return JsonResponse(
                {
                    "detail": _("Activate two-factor sign-in before using the portal."),
                    "request_id": getattr(request, "request_id", ""),
                },
                status=403,
            )
        if request.headers.get("HX-Request") == "true":
            return HttpResponse(status=204, headers={"HX-Redirect": enrol_url})
        return HttpResponseRedirect(enrol_url)

    @staticmethod
    def not_for_applicants(request: HttpRequest) -> HttpResponse:
        """Citizens and organisations sign in with VNeID: the authenticator pages are not theirs."""
        from portal.error_views import page_not_found

        return page_not_found(request)


# --- the Django admin signs in through allauth ------------------------------------------------------------


def admin_login(request: HttpRequest, extra_context=None) -> HttpResponse:
    """Replaces admin.site.login: no password-only form; the portal's sign-in (with the code) is the way in."""
    next_url = request.GET.get("next") or reverse("admin:index")
    if not url_has_allowed_host_and_scheme(next_url, allowed_hosts={request.get_host()}):
        next_url = reverse("admin:index")
    if request.user.is_authenticated:
        if request.user.is_active and request.user.is_staff:
            return HttpResponseRedirect(next_url)
        raise PermissionDenied
    return redirect_to_login(next_url, resolve_url(settings.LOGIN_URL))


# --- audit ------------------------------------------------------------------------------------------------


def _user_agent(request) -> str:
    return request.headers.get("User-Agent", "")[:200] if request is not None else ""


@receiver(mfa_signals.authentication_failed, dispatch_uid="portal.audit_mfa_failed")
def audit_mfa_failed(sender, request=None, user=None, authenticator=None, reauthentication=False, **kwargs):
    with transaction.atomic():
        audit_record(
            action="auth.mfa_failed",
            obj=user,
            data={
                "type": getattr(authenticator, "type", ""),
                "reauthentication": bool(reauthentication),
                "user_agent": _user_agent(request),
            },
        )


@receiver(mfa_signals.authenticator_used, dispatch_uid="portal.audit_mfa_used")
def audit_mfa_used(sender, request=None, user=None, authenticator=None, reauthenticated=False, **kwargs):
    with transaction.atomic():
        audit_record(
            action="auth.mfa_passed",
            actor=user,
            obj=user,
            data={"type": authenticator.type, "reauthenticated": bool(reauthenticated)},
        )


@receiver(mfa_signals.authenticator_added, dispatch_uid="portal.audit_mfa_added")
def audit_mfa_added(sender, request=None, user=None, authenticator=None, **kwargs):
    with transaction.atomic():
        if authenticator.type == TOTP and request is not None:
            # The code typed to enrol is spent: it cannot sign in afterwards.
            counter = totp_counter_match(crypto.decrypt(authenticator.data["secret"]), request.POST.get("code", ""))
            if counter is not None:
                data = {**authenticator.data, "last_counter": counter}
                Authenticator.objects.filter(pk=authenticator.pk).update(data=data)
        audit_record(action="auth.mfa_enrolled", actor=user, obj=user, data={"type": authenticator.type})


@receiver(mfa_signals.authenticator_removed, dispatch_uid="portal.audit_mfa_removed")
def audit_mfa_removed(sender, request=None, user=None, authenticator=None, **kwargs):
    with transaction.atomic():
        audit_record(action="auth.mfa_removed", actor=user, obj=user, data={"type": authenticator.type})


@receiver(mfa_signals.authenticator_reset, dispatch_uid="portal.audit_mfa_reset_codes")
def audit_mfa_codes_regenerated(sender, request=None, user=None, authenticator=None, **kwargs):
    with transaction.atomic():
        audit_record(
            action="auth.mfa_recovery_codes_generated", actor=user, obj=user, data={"type": authenticator.type}
        )
