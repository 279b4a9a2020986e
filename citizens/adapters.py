"""allauth adapters: staff sign in with local accounts made by administrators; citizens only through VNeID."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from allauth.account.adapter import DefaultAccountAdapter
from allauth.account.utils import user_email, user_field, user_username
from allauth.core.exceptions import ImmediateHttpResponse
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from allauth.socialaccount.providers.base import AuthProcess
from django.conf import settings
from django.db import transaction
from django.shortcuts import render
from django.utils.translation import gettext_lazy as _

from citizens.selectors import citizen_profile_for_national_id
from citizens.services import (
    VneidIdentity,
    VneidLoginRefused,
    citizen_profile_upsert_from_vneid,
    is_organisation_claims,
    organisation_identity_parse,
    organisation_profile_upsert_from_vneid,
    vneid_identity_parse,
)
from portal.crypto import pii_hash

if TYPE_CHECKING:
    from allauth.socialaccount.models import SocialLogin
    from django.contrib.auth.models import AbstractBaseUser
    from django.http import HttpRequest, HttpResponse

logger = logging.getLogger("citizens.vneid")

VNEID_PROVIDER_ID = "vneid"
# Claims kept in SocialAccount.extra_data (stored in clear): enough to recognise the account, nothing more.
# The personal ID number and the other identity claims live encrypted or normalised in CitizenProfile.
_KEPT_CLAIMS = {"sub", "iss", "aud", "iat", "exp", "auth_time", "acr", "amr", "name", "given_name", "family_name"}
_KEPT_ORGANISATION_CLAIMS = ("VNEID_ACCOUNT_TYPE_CLAIM", "VNEID_TAX_CODE_CLAIM", "VNEID_ORGANISATION_NAME_CLAIM")


def _refusal_response(request: HttpRequest, refusal: VneidLoginRefused) -> HttpResponse:
    logger.warning("VNeID sign-in refused: %s", refusal.code)
    return render(request, "socialaccount/vneid_refused.html", {"refusal": refusal}, status=403)


def vneid_claims_merge(extra_data: Mapping[str, Any]) -> dict[str, Any]:
    """Return the claims of one sign-in: userinfo over the ID token, the lower identification level of the two."""
    userinfo, id_token = extra_data.get("userinfo"), extra_data.get("id_token")
    if userinfo is None and id_token is None:
        return dict(extra_data)  # the token-authentication path stores the ID token's claims as they are
    # Anything but a mapping is no claims at all (T19: a malformed answer is refused, never a 500).
    userinfo = dict(userinfo) if isinstance(userinfo, Mapping) else {}
    id_token = dict(id_token) if isinstance(id_token, Mapping) else {}
    # OpenID Connect Core §5.3.4: userinfo whose sub differs from the ID token's must not be used.
    if "sub" in userinfo and "sub" in id_token and userinfo["sub"] != id_token["sub"]:
        raise VneidLoginRefused(
            "subject_mismatch", _("VNeID answered inconsistently about which account signed in. Please try again.")
        )
    claims = {**id_token, **userinfo}
    levels = [
        str(c[settings.VNEID_ASSURANCE_CLAIM]) for c in (id_token, userinfo) if settings.VNEID_ASSURANCE_CLAIM in c
    ]
    if levels:
        claims[settings.VNEID_ASSURANCE_CLAIM] = min(
            levels, key=lambda v: int(v) if v.isascii() and v.isdigit() else -1
        )
    return claims


def _scrubbed(extra_data: Mapping[str, Any]) -> dict[str, Any]:
    kept = (
        _KEPT_CLAIMS
        | {settings.VNEID_SUBJECT_CLAIM, settings.VNEID_ASSURANCE_CLAIM, settings.VNEID_NAME_CLAIM}
        | {getattr(settings, name) for name in _KEPT_ORGANISATION_CLAIMS}
    ) - {settings.VNEID_NATIONAL_ID_CLAIM}

    def keep(claims: Any) -> Any:
        return {k: v for k, v in claims.items() if k in kept} if isinstance(claims, Mapping) else {}

    if "userinfo" in extra_data or "id_token" in extra_data:
        return {part: keep(extra_data[part]) for part in ("userinfo", "id_token") if part in extra_data}
    return keep(extra_data)


def vneid_username(subject: str) -> str:
    """Return the local username for a VNeID subject: 'vneid-' and the subject, or its keyed hash."""
    cleaned = re.sub(r"[^A-Za-z0-9_.-]+", "-", subject).strip("-.")
    # A long subject would not fit, and an all-digit one could be a personal ID number (if the subject claim is
    # set to it): neither goes into a username in clear.
    if cleaned and len(cleaned) <= 40 and not cleaned.isdigit():
        return f"vneid-{cleaned}"
    return f"vneid-{pii_hash(subject)[:24]}"


def _split_names(*, given: str, family: str, full_name: str) -> tuple[str, str]:
    """Return (first_name, last_name): given names and family name; a bare full name starts with the family name."""
    if not (given or family):
        family, _sep, given = full_name.partition(" ")
    return given[:150], family[:150]


def is_staff_account(user: AbstractBaseUser) -> bool:
    """Tell whether USER is a staff or administrator account, which VNeID must never sign in to."""
    # Citizens never have a usable local password: any account with one was made by an administrator.
    return bool(user.is_staff or user.is_superuser or user.has_usable_password() or hasattr(user, "staff_profile"))


class AccountAdapter(DefaultAccountAdapter):
    """Local accounts: staff only, created by administrators; nobody signs up on the site."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return False


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """VNeID sign-in: check the identity, never reach a staff account, keep the citizen profile current."""

    def is_open_for_signup(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        return sociallogin.account.provider == VNEID_PROVIDER_ID

    def is_auto_signup_allowed(self, request: HttpRequest, sociallogin: SocialLogin) -> bool:
        # allauth's signup form would ask a citizen for a username and a password; VNeID says who they are.
        return sociallogin.account.provider == VNEID_PROVIDER_ID

    def populate_user(self, request: HttpRequest, sociallogin: SocialLogin, data: dict[str, Any]) -> AbstractBaseUser:
        user = super().populate_user(request, sociallogin, data)
        if sociallogin.account.provider != VNEID_PROVIDER_ID:
            return user
        extra_data = sociallogin.account.extra_data or {}
        # This runs before allauth stores extra_data (even for a refused sign-in), so the claims are kept on the
        # in-memory login for the hooks below and the stored copy is scrubbed here.
        try:
            sociallogin._vneid_claims = vneid_claims_merge(extra_data)
        except VneidLoginRefused as refusal:
            sociallogin._vneid_refusal = refusal
        sociallogin.account.extra_data = _scrubbed(extra_data)
        user_username(user, vneid_username(str(sociallogin.account.uid)))
        user_email(user, "")
        claims = getattr(sociallogin, "_vneid_claims", {})
        first_name, last_name = _split_names(
            given=str(claims.get("given_name") or "").strip(),
            family=str(claims.get("family_name") or "").strip(),
            full_name=str(claims.get(settings.VNEID_NAME_CLAIM) or "").strip(),
        )
        user_field(user, "first_name", first_name)
        user_field(user, "last_name", last_name)
        return user

    def pre_social_login(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        try:
            self._vneid_admit(request, sociallogin)
        except VneidLoginRefused as refusal:
            raise ImmediateHttpResponse(_refusal_response(request, refusal)) from None

    def _vneid_admit(self, request: HttpRequest, sociallogin: SocialLogin) -> None:
        if sociallogin.account.provider != VNEID_PROVIDER_ID:
            raise VneidLoginRefused("provider_not_allowed", _("Citizens sign in with VNeID only."))
        refusal = getattr(sociallogin, "_vneid_refusal", None)
        if refusal is not None:
            raise refusal
        claims = self._claims(sociallogin)
        organisation = is_organisation_claims(claims)
        identity = organisation_identity_parse(claims=claims).representative if organisation else None
        identity = identity or vneid_identity_parse(claims=claims)
        if sociallogin.state.get("process") == AuthProcess.CONNECT:
            # Connecting would attach a citizen identity to whoever is signed in, staff included.
            raise VneidLoginRefused(
                "connect_not_allowed",
                _("VNeID cannot be added to an existing account. Sign out, then sign in with VNeID."),
            )
        if organisation:
            self._organisation_admit(request, sociallogin, claims)
            return
        if sociallogin.is_existing:
            user = sociallogin.user
            self._refuse_staff(user)
            if hasattr(user, "organisation_profile"):
                raise VneidLoginRefused(
                    "account_kind_mismatch", _("This VNeID account belongs to an organisation account on this portal.")
                )
            with transaction.atomic():
                citizen_profile_upsert_from_vneid(user=user, claims=claims)
                self._names_sync(user, identity)
            return
        # A new VNeID subject for a personal ID number already known: the same person (VNeID re-issued the
        # account). Accounts are keyed by the personal ID number, so sign in to the existing citizen account.
        profile = citizen_profile_for_national_id(national_id=identity.national_id)
        if profile is not None:
            self._refuse_staff(profile.user)
            with transaction.atomic():
                sociallogin.connect(request, profile.user)
                citizen_profile_upsert_from_vneid(user=profile.user, claims=claims)
                self._names_sync(profile.user, identity)
        # Otherwise a new citizen: save_user() creates the account and its profile together.

    def _organisation_admit(self, request: HttpRequest, sociallogin: SocialLogin, claims: dict[str, Any]) -> None:
        """An organisation account: keyed by its tax/enterprise code, never joined to a citizen account."""
        from citizens.models import OrganisationProfile

        if sociallogin.is_existing:
            user = sociallogin.user
            self._refuse_staff(user)
            if hasattr(user, "citizen_profile"):
                raise VneidLoginRefused(
                    "account_kind_mismatch", _("This VNeID account belongs to a citizen account on this portal.")
                )
            organisation_profile_upsert_from_vneid(user=user, claims=claims)
            return
        tax_code = organisation_identity_parse(claims=claims).tax_code
        profile = OrganisationProfile.objects.select_related("user").filter(tax_code=tax_code).first()
        if profile is not None:
            self._refuse_staff(profile.user)
            with transaction.atomic():
                sociallogin.connect(request, profile.user)
                organisation_profile_upsert_from_vneid(user=profile.user, claims=claims)

    def save_user(self, request: HttpRequest, sociallogin: SocialLogin, form: Any = None) -> AbstractBaseUser:
        if sociallogin.account.provider != VNEID_PROVIDER_ID:
            return super().save_user(request, sociallogin, form)
        try:
            with transaction.atomic():
                user = super().save_user(request, sociallogin, form)
                claims = self._claims(sociallogin)
                if is_organisation_claims(claims):
                    organisation_profile_upsert_from_vneid(user=user, claims=claims)
                else:
                    citizen_profile_upsert_from_vneid(user=user, claims=claims)
        except VneidLoginRefused as refusal:
            raise ImmediateHttpResponse(_refusal_response(request, refusal)) from None
        return user

    def on_authentication_error(
        self,
        request: HttpRequest,
        provider: Any,
        error: Any = None,
        exception: Exception | None = None,
        extra_context: dict | None = None,
    ) -> None:
        # The class only: messages can quote the identity provider's responses.
        logger.warning(
            "Sign-in with %s failed: %s %s",
            getattr(provider, "sub_id", provider),
            error,
            type(exception).__name__ if exception else "",
        )
        super().on_authentication_error(
            request, provider, error=error, exception=exception, extra_context=extra_context
        )

    @staticmethod
    def _claims(sociallogin: SocialLogin) -> dict[str, Any]:
        claims = getattr(sociallogin, "_vneid_claims", None)
        # Without the in-memory claims (e.g. a login restored from the session) only the scrubbed copy is left,
        # which lacks the personal ID number: the sign-in is then refused rather than guessed.
        return claims if claims is not None else vneid_claims_merge(sociallogin.account.extra_data or {})

    @staticmethod
    def _refuse_staff(user: AbstractBaseUser) -> None:
        if is_staff_account(user):
            raise VneidLoginRefused(
                "staff_account",
                _(
                    "A VNeID identity cannot be used to sign in to a staff account. "
                    "Staff sign in with their username and password."
                ),
            )

    @staticmethod
    def _names_sync(user: AbstractBaseUser, identity: VneidIdentity) -> None:
        first_name, last_name = _split_names(
            given=identity.given_name, family=identity.family_name, full_name=identity.full_name
        )
        if (user.first_name, user.last_name) != (first_name, last_name):
            user.first_name, user.last_name = first_name, last_name
            user.save(update_fields=["first_name", "last_name"])
