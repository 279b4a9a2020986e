"""Citizen identity from VNeID: read and check the claims, and keep the citizen's profile up to date."""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from citizens.models import CitizenProfile
from citizens.validators import validate_personal_id
from portal.audit import audit_record
from portal.crypto import normalise, pii_hash

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser
    from django.utils.functional import Promise

logger = logging.getLogger("citizens.vneid")

_LEVEL = re.compile(r"[0-9]{1,3}")


class VneidLoginRefused(Exception):
    """A VNeID sign-in that must not go ahead: `message` is for the citizen, `code` for logs and tests."""

    def __init__(self, code: str, message: str | Promise, details: list[str] | None = None) -> None:
        super().__init__(code)
        self.code = code
        self.message = message
        self.details = details or []


@dataclass(frozen=True)
class VneidIdentity:
    """The checked identity of one VNeID sign-in."""

    subject: str
    national_id: str
    full_name: str
    given_name: str
    family_name: str
    birth_date: date | None
    sex: str
    assurance_level: str


def _text(value: Any) -> str:
    return normalise(value) if isinstance(value, str) else ""


def _birth_date(value: Any) -> date | None:
    # OpenID Connect allows a year alone or 0000 for an unknown year; only a full date is used.
    try:
        return date.fromisoformat(value) if isinstance(value, str) and len(value) == 10 else None
    except ValueError:
        return None


def vneid_identity_parse(*, claims: Mapping[str, Any]) -> VneidIdentity:
    """Read the claims named in settings and check them; raise VneidLoginRefused when sign-in must stop."""
    subject = _text(claims.get(settings.VNEID_SUBJECT_CLAIM))
    if not subject or len(subject) > 255:
        raise VneidLoginRefused("subject_missing", _("VNeID did not say which account signed in. Please try again."))

    level = _text(claims.get(settings.VNEID_ASSURANCE_CLAIM))
    minimum = str(settings.VNEID_MIN_ASSURANCE_LEVEL)
    if not _LEVEL.fullmatch(level):
        raise VneidLoginRefused(
            "assurance_unknown",
            _("VNeID did not state the identification level of your account, so this portal cannot accept it."),
        )
    if int(level) < int(minimum):
        raise VneidLoginRefused(
            "assurance_too_low",
            _(
                "Your VNeID account is at identification level %(level)s. Online public services need "
                "identification level %(minimum)s. Ask the police where you live to raise your account to level "
                "%(minimum)s, then sign in again."
            )
            % {"level": level, "minimum": minimum},
        )

    national_id = _text(claims.get(settings.VNEID_NATIONAL_ID_CLAIM))
    if not national_id:
        raise VneidLoginRefused(
            "national_id_missing",
            _("VNeID did not provide your personal identification number, so this portal cannot identify you."),
        )
    birth_date = _birth_date(claims.get(settings.VNEID_BIRTHDATE_CLAIM))
    try:
        info = validate_personal_id(national_id, birth_date=birth_date)
    except ValidationError as exc:
        raise VneidLoginRefused(
            "national_id_invalid",
            _("VNeID provided a personal identification number that this portal cannot accept."),
            details=[str(m) for m in exc.messages],
        ) from None

    given_name = _text(claims.get("given_name"))
    family_name = _text(claims.get("family_name"))
    full_name = _text(claims.get(settings.VNEID_NAME_CLAIM)) or " ".join(p for p in (family_name, given_name) if p)
    if not full_name:
        raise VneidLoginRefused(
            "name_missing", _("VNeID did not provide your full name, so this portal cannot identify you.")
        )
    return VneidIdentity(
        subject=subject,
        national_id=national_id,
        full_name=full_name[:255],
        given_name=given_name,
        family_name=family_name,
        birth_date=birth_date,
        sex=info.sex,
        assurance_level=level,
    )


def citizen_profile_upsert_from_vneid(*, user: AbstractBaseUser, claims: Mapping[str, Any]) -> CitizenProfile:
    """Create or refresh USER's citizen profile from VNeID claims, with its audit record, in one transaction."""
    identity = vneid_identity_parse(claims=claims)
    national_id_hash = pii_hash(identity.national_id)
    with transaction.atomic():
        others = CitizenProfile.objects.exclude(user=user)
        if others.filter(national_id_hash=national_id_hash).exists():
            raise VneidLoginRefused(
                "national_id_taken",
                _(
                    "Your personal identification number is already linked to another account on this portal. "
                    "Please contact the reception and result-return unit."
                ),
            )
        if others.filter(vneid_subject=identity.subject).exists():
            raise VneidLoginRefused(
                "subject_taken",
                _(
                    "This VNeID account is already linked to another account on this portal. "
                    "Please contact the reception and result-return unit."
                ),
            )
        profile = CitizenProfile.objects.select_for_update().filter(user=user).first()
        created = profile is None
        if profile is None:
            profile = CitizenProfile(user=user)
        values = {
            "vneid_subject": identity.subject,
            "full_name": identity.full_name,
            "national_id_hash": national_id_hash,
            "birth_date": identity.birth_date,
            "sex": identity.sex,
            "assurance_level": identity.assurance_level,
            "source": CitizenProfile.Source.VNEID,
        }
        changed = sorted(name for name, value in values.items() if created or getattr(profile, name) != value)
        for name, value in values.items():
            setattr(profile, name, value)
        profile.national_id = identity.national_id
        profile.verified_at = timezone.now()
        profile.save()
        # Field names only: the audit trail must not become a second copy of the personal ID number.
        audit_record(
            action="citizen.profile_updated",
            actor=user,
            obj=profile,
            data={
                "created": created,
                "changed": [("national_id" if name == "national_id_hash" else name) for name in changed],
                "assurance_level": identity.assurance_level,
                "source": CitizenProfile.Source.VNEID.value,
            },
        )
    logger.info("Citizen profile %s for user %s from VNeID", "created" if created else "refreshed", user.pk)
    return profile


# --- organisation accounts -----------------------------------------------------------------------

_TAX_CODE = re.compile(r"[0-9]{10}(-[0-9]{3})?")


def is_organisation_claims(claims: Mapping[str, Any]) -> bool:
    """Whether the claims are those of a VNeID organisation account."""
    return _text(claims.get(settings.VNEID_ACCOUNT_TYPE_CLAIM)) == "organisation"


@dataclass(frozen=True)
class OrganisationIdentity:
    tax_code: str
    name: str
    representative: VneidIdentity


def organisation_identity_parse(*, claims: Mapping[str, Any]) -> OrganisationIdentity:
    """Check an organisation account's claims: the legal representative like a citizen, plus the tax code."""
    representative = vneid_identity_parse(claims=claims)
    tax_code = _text(claims.get(settings.VNEID_TAX_CODE_CLAIM))
    if not _TAX_CODE.fullmatch(tax_code):
        raise VneidLoginRefused(
            "tax_code_invalid",
            _("VNeID did not provide a valid tax/enterprise code for this organisation account."),
        )
    name = _text(claims.get(settings.VNEID_ORGANISATION_NAME_CLAIM))
    if not name:
        raise VneidLoginRefused("organisation_name_missing", _("VNeID did not provide the organisation's name."))
    return OrganisationIdentity(tax_code=tax_code, name=name[:300], representative=representative)


def organisation_profile_upsert_from_vneid(*, user: AbstractBaseUser, claims: Mapping[str, Any]):
    """Create or refresh USER's organisation profile from VNeID organisation claims, audited."""
    from citizens.models import OrganisationProfile

    identity = organisation_identity_parse(claims=claims)
    rep = identity.representative
    with transaction.atomic():
        others = OrganisationProfile.objects.exclude(user=user)
        if others.filter(tax_code=identity.tax_code).exists() or others.filter(vneid_subject=rep.subject).exists():
            raise VneidLoginRefused(
                "organisation_taken",
                _(
                    "This organisation is already linked to another account on this portal. "
                    "Please contact the reception and result-return unit."
                ),
            )
        profile = OrganisationProfile.objects.select_for_update().filter(user=user).first()
        created = profile is None
        if profile is None:
            profile = OrganisationProfile(user=user)
        changed_rep = created or profile.representative_national_id_hash != pii_hash(rep.national_id)
        profile.vneid_subject = rep.subject
        profile.tax_code = identity.tax_code
        profile.name = identity.name
        profile.representative_name = rep.full_name
        profile.representative_national_id = rep.national_id
        profile.representative_national_id_hash = pii_hash(rep.national_id)
        profile.representative_birth_date = rep.birth_date
        profile.assurance_level = rep.assurance_level
        profile.verified_at = timezone.now()
        profile.save()
        audit_record(
            action="citizens.organisation_profile_updated",
            actor=user,
            obj=profile,
            data={"created": created, "representative_changed": changed_rep, "tax_code": identity.tax_code},
        )
        if user.first_name != identity.name[:150] or user.last_name:
            user.first_name, user.last_name = identity.name[:150], ""
            user.save(update_fields=["first_name", "last_name"])
    return profile
