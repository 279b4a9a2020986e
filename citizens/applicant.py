"""Who is applying (citizen or organisation), consent, verification and prefill through the gateway,
and one-time codes for contact details."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from citizens.models import CitizenProfile, Consent, ContactVerification, IdentityPrefill, OrganisationProfile
from integrations.gateway import (
    FOUND,
    INTERNAL_SYSTEM,
    UNAVAILABLE,
    Caller,
    GatewayRefused,
    gateway_lookup,
)
from portal.audit import audit_record
from portal.crypto import normalise
from portal.errors import ApplicationError

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger("citizens.applicant")

PREFILL_PURPOSE = "Applicant identity verification and prefill of online applications (consent)"
SOURCES = IdentityPrefill.Source


@dataclass(frozen=True)
class Applicant:
    """The signed-in applicant: a citizen, or an organisation with its legal representative."""

    user: AbstractBaseUser
    kind: str  # Dossier.ApplicantKind values
    person_name: str  # the citizen, or the organisation's legal representative
    national_id: str
    birth_date: Any
    sex: str
    organisation_name: str = ""
    tax_code: str = ""

    @property
    def is_organisation(self) -> bool:
        return self.kind == "organisation"

    @property
    def display_name(self) -> str:
        return self.organisation_name or self.person_name


def applicant_for(*, user: AbstractBaseUser) -> Applicant | None:
    """Return the applicant behind USER, or None for staff and anonymous users."""
    if not user.is_authenticated:
        return None
    citizen = CitizenProfile.objects.filter(user=user).first()
    if citizen is not None:
        return Applicant(
            user=user,
            kind="citizen",
            person_name=citizen.full_name,
            national_id=citizen.national_id,
            birth_date=citizen.birth_date,
            sex=citizen.sex,
        )
    org = OrganisationProfile.objects.filter(user=user).first()
    if org is not None:
        return Applicant(
            user=user,
            kind="organisation",
            person_name=org.representative_name,
            national_id=org.representative_national_id,
            birth_date=org.representative_birth_date,
            sex="",
            organisation_name=org.name,
            tax_code=org.tax_code,
        )
    return None


# --- consent ---------------------------------------------------------------------------------------


def consent_text() -> str:
    """The consent text for the prefill purpose, in the active language (stored verbatim when given)."""
    return _(
        "I agree that the Ministry of Health's one-stop portal fetches from the national population database, "
        "through its population-database gateway, my full name, date of birth, sex and permanent residence, "
        "linked to my personal identification number, for one purpose only: to verify my identity and prefill "
        "my online applications. The data controller is the Ministry of Health (the agency running this portal). "
        "Legal basis: Law on Personal Data Protection No. 91/2025/QH15 (Article 9, consent). I may refuse: I can "
        "still apply, typing my details myself, and they will be checked later. I may withdraw this consent, view "
        "and ask to correct my data, and see who read it, at any time on the page “My identity and consent”."
    )


def consent_give(*, user: AbstractBaseUser, ip: str | None, language: str) -> Consent:
    """Record the applicant's consent to the prefill purpose (the exact text, version, time, channel, IP)."""
    with transaction.atomic():
        consent = Consent.objects.create(
            user=user,
            purpose=Consent.Purpose.PREFILL,
            text_version=settings.PREFILL_CONSENT_VERSION,
            text=consent_text(),
            language=language[:8],
            reference=f"CS-{secrets.token_hex(8).upper()}",
            ip=ip or None,
        )
        audit_record(
            action="citizens.consent_given",
            actor=user,
            obj=consent,
            data={"purpose": consent.purpose, "version": consent.text_version, "reference": consent.reference},
        )
    return consent


def consent_current(*, user: AbstractBaseUser) -> Consent | None:
    return (
        Consent.objects.filter(user=user, purpose=Consent.Purpose.PREFILL, withdrawn_at__isnull=True)
        .order_by("-given_at")
        .first()
    )


def consent_withdraw(*, user: AbstractBaseUser) -> int:
    """Withdraw the prefill consent; the data fetched under it is deleted (Law 91/2025 Art. 9, 14)."""
    with transaction.atomic():
        now = timezone.now()
        count = Consent.objects.filter(user=user, withdrawn_at__isnull=True).update(withdrawn_at=now)
        deleted, _detail = IdentityPrefill.objects.filter(user=user).delete()
        audit_record(
            action="citizens.consent_withdrawn",
            actor=user,
            object_type="citizens.consent",
            data={"withdrawn": count, "prefill_deleted": bool(deleted)},
        )
    return count


# --- verification and prefill ---------------------------------------------------------------------


def _data_time(value: str) -> str:
    try:
        return datetime.strptime(value, "%Y%m%d%H%M%S").replace(tzinfo=UTC).isoformat()
    except (ValueError, TypeError):
        return timezone.now().isoformat()


def _field(value: Any, source: str, at: str) -> dict[str, str]:
    return {"value": "" if value is None else str(value), "source": source, "at": at}


def prefill_refresh(*, applicant: Applicant, consent: Consent) -> IdentityPrefill:
    """Verify the applicant's identity through the gateway (with the consent reference) and store the prefill.

    Population database found and agreeing: verified, fields from it (read-only). Unavailable: the
    applicant goes on with VNeID's fields, marked unverified. Not found or different: mismatch.
    """
    user = applicant.user
    caller = Caller(
        system=INTERNAL_SYSTEM,
        acting_user=user.get_username(),
        purpose=PREFILL_PURPOSE,
        consent_reference=consent.reference,
    )
    vneid_at = timezone.now().isoformat()
    fields = {
        "full_name": _field(applicant.person_name, SOURCES.VNEID, vneid_at),
        "birth_date": _field(applicant.birth_date.isoformat() if applicant.birth_date else "", SOURCES.VNEID, vneid_at),
        "sex": _field({"M": "Nam", "F": "Nữ"}.get(applicant.sex, ""), SOURCES.VNEID, vneid_at),
    }
    request_id = ""
    try:
        outcome = gateway_lookup(caller=caller, personal_id=applicant.national_id)
    except GatewayRefused:
        status = IdentityPrefill.Status.MISMATCH
    else:
        request_id = outcome.request_id
        if outcome.status == FOUND and outcome.record is not None:
            record = outcome.record
            at = _data_time(record.data_time)
            same_name = normalise(record.full_name).casefold() == normalise(applicant.person_name).casefold()
            same_birth = not applicant.birth_date or record.birth_date == applicant.birth_date.isoformat()
            status = IdentityPrefill.Status.VERIFIED if same_name and same_birth else IdentityPrefill.Status.MISMATCH
            if status == IdentityPrefill.Status.VERIFIED:
                fields = {
                    "full_name": _field(record.full_name, SOURCES.POPULATION_DB, at),
                    "birth_date": _field(record.birth_date, SOURCES.POPULATION_DB, at),
                    "sex": _field(record.sex, SOURCES.POPULATION_DB, at),
                    "permanent_residence": _field(record.residence, SOURCES.POPULATION_DB, at),
                }
        elif outcome.status == UNAVAILABLE:
            status = IdentityPrefill.Status.UNVERIFIED
        else:
            status = IdentityPrefill.Status.MISMATCH
    with transaction.atomic():
        prefill, _created = IdentityPrefill.objects.update_or_create(
            user=user,
            defaults={
                "consent": consent,
                "fields_json": json.dumps(fields, ensure_ascii=False),
                "status": status,
                "checked_at": timezone.now(),
                "request_id": request_id,
            },
        )
        audit_record(
            action="citizens.identity_prefill",
            actor=user,
            obj=prefill,
            data={"status": status, "request_id": request_id, "fields": sorted(fields)},
        )
    return prefill


def prefill_fields(prefill: IdentityPrefill | None) -> dict[str, dict[str, str]]:
    if prefill is None:
        return {}
    try:
        return json.loads(prefill.fields_json or "{}")
    except ValueError:
        return {}


# --- one-time codes for contact details ----------------------------------------------------------


def _code_hash(user_id: int, channel: str, value: str, code: str) -> str:
    key = settings.SECRET_KEY.encode()
    return hmac.new(key, f"{user_id}|{channel}|{value}|{code}".encode(), hashlib.sha256).hexdigest()


def contact_normalise(channel: str, value: str) -> str:
    value = (value or "").strip()
    if channel == ContactVerification.Channel.EMAIL:
        return value.lower()
    return "".join(ch for ch in value if ch.isdigit() or ch == "+")


def sms_send(*, phone: str, text: str, reference: str) -> None:
    """Send an SMS through the notifications' SMS interface (procedures.sms) when it exists, else to the log."""
    try:
        from procedures.sms import sms_backend
    except ImportError:  # the SMS interface of issue 4 not installed
        logger.warning("SMS (console, no SMS interface) to a phone number: %s", text)
        return
    sms_backend().send(to=phone, text=text, reference=reference)


def contact_code_send(*, user: AbstractBaseUser, channel: str, value: str) -> ContactVerification:
    """Send a one-time code to an email address or a phone number the applicant typed."""
    value = contact_normalise(channel, value)
    if not value:
        raise ApplicationError(_("Enter the email address or phone number first."), extra={"field": channel})
    recent = ContactVerification.objects.filter(
        user=user, sent_at__gte=timezone.now() - timedelta(minutes=10), verified_at__isnull=True
    ).count()
    if recent >= 5:
        raise ApplicationError(_("Too many codes were sent. Please wait ten minutes and try again."), status=429)
    code = f"{secrets.randbelow(10**6):06d}"
    with transaction.atomic():
        verification = ContactVerification.objects.create(
            user=user,
            channel=channel,
            value=value,
            code_hash=_code_hash(user.pk, channel, value, code),
            expires_at=timezone.now() + timedelta(seconds=settings.CONTACT_CODE_TTL_SECONDS),
        )
        audit_record(action="citizens.contact_code_sent", actor=user, obj=verification, data={"channel": channel})
    text = _("Your confirmation code for the one-stop portal is %(code)s. It is valid for %(minutes)s minutes.") % {
        "code": code,
        "minutes": settings.CONTACT_CODE_TTL_SECONDS // 60,
    }
    # Sent once the code is stored (the transaction above has committed).
    if channel == ContactVerification.Channel.EMAIL:
        send_mail(_("Your confirmation code"), text, None, [value], fail_silently=False)
    else:
        sms_send(phone=value, text=text, reference=f"contact-code-{verification.pk}")
    return verification


def contact_code_confirm(*, user: AbstractBaseUser, channel: str, value: str, code: str) -> ContactVerification:
    """Check a one-time code; raise ApplicationError with a clear message if it is wrong or expired."""
    value = contact_normalise(channel, value)
    code = (code or "").strip()
    with transaction.atomic():
        verification = (
            ContactVerification.objects.select_for_update()
            .filter(user=user, channel=channel, value=value, verified_at__isnull=True)
            .order_by("-sent_at")
            .first()
        )
        if verification is None or verification.expires_at < timezone.now():
            raise ApplicationError(_("The code has expired. Ask for a new one."), extra={"field": "code"})
        if verification.attempts >= settings.CONTACT_CODE_MAX_ATTEMPTS:
            raise ApplicationError(_("Too many wrong codes. Ask for a new one."), extra={"field": "code"})
        right = hmac.compare_digest(verification.code_hash, _code_hash(user.pk, channel, value, code))
        if right:
            verification.verified_at = timezone.now()
            verification.save(update_fields=["verified_at"])
            audit_record(action="citizens.contact_verified", actor=user, obj=verification, data={"channel": channel})
        else:  # committed with this transaction: the wrong attempt counts
            ContactVerification.objects.filter(pk=verification.pk).update(attempts=F("attempts") + 1)
    if not right:
        raise ApplicationError(_("The code is not right. Check it and try again."), extra={"field": "code"})
    return verification


def contact_is_verified(*, user: AbstractBaseUser, channel: str, value: str) -> bool:
    value = contact_normalise(channel, value)
    return (
        bool(value)
        and ContactVerification.objects.filter(
            user=user, channel=channel, value=value, verified_at__isnull=False
        ).exists()
    )


def verified_contacts(*, user: AbstractBaseUser, values: dict[str, str]) -> set[str]:
    """The channels among VALUES ({channel: value}) whose value USER has confirmed (one query)."""
    wanted = {channel: contact_normalise(channel, value) for channel, value in values.items() if value}
    if not wanted:
        return set()
    query = Q()
    for channel, value in wanted.items():
        query |= Q(channel=channel, value=value)
    found = ContactVerification.objects.filter(query, user=user, verified_at__isnull=False).values_list(
        "channel", "value"
    )
    return {channel for channel, value in found if wanted.get(channel) == value}
