"""Counter intake: a reception clerk receives a dossier on behalf of an applicant (issue 7).

1. `card_qr_parse(text=)` reads the text a barcode scanner types from the QR code of the chip-based
   ID card (domain.md §3.1a); bad text raises ValidationError with a clear, translated message.
2. `counter_identity_confirm(...)` confirms the person through the population-database gateway
   (purpose + consent reference, as the gateway requires). When the gateway cannot answer, the
   intake continues with typed data marked unverified; `counter_identity_reverify(...)` (a beat
   task) verifies those dossiers again once the gateway answers.
3. `counter_dossier_create(...)` creates the dossier (channel counter), stores the scanned
   documents per checklist item and receives it through `dossier_transition(action="receive")`,
   all in one transaction. The intake's one-time token makes a double submission create one dossier.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
import unicodedata
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit import audit_record
from portal.crypto import pii_hash
from portal.errors import ApplicationError
from portal.uploads import CheckedUpload
from procedures.models import (
    CounterIntake,
    Dossier,
    DossierDocument,
    DossierEvent,
    Procedure,
    StaffProfile,
)
from procedures.services import ApplicantData, _new_reference

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

INTAKE_ROLES = frozenset({StaffProfile.Role.RECEPTION_CLERK, StaffProfile.Role.ADMINISTRATOR})
GATEWAY_PURPOSE = "Tiếp nhận hồ sơ trực tiếp tại Bộ phận một cửa"  # logged by the gateway, in Vietnamese
REVERIFY_PURPOSE = "Xác thực lại nhân thân hồ sơ tiếp nhận trực tiếp"
REVERIFY_ACTOR = "system:counter-reverify"

# --- the QR code of the chip-based ID card -------------------------------------------------------

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u200b-\u200d\u2060\ufeff]")
_DIGITS12 = re.compile(r"[0-9]{12}")
_OLD_ID = re.compile(r"[0-9]{9}|[0-9]{12}")
_DATE8 = re.compile(r"[0-9]{8}")
SEXES = {"nam": "Nam", "nữ": "Nữ", "nu": "Nữ"}


@dataclass(frozen=True)
class CardQrData:
    """What the QR code of a chip-based ID card says (shown to the clerk; never trusted alone)."""

    personal_id: str
    old_id: str
    full_name: str
    birth_date: dt.date
    sex: str  # "Nam" | "Nữ"
    residence: str
    issue_date: dt.date | None
    extra: tuple[str, ...] = ()


def _qr_date(value: str, *, label: str) -> dt.date:
    if not _DATE8.fullmatch(value):
        raise ValidationError(
            _("%(label)s in the QR code is “%(value)s”; expected 8 digits, day month year (ddmmyyyy).")
            % {"label": label, "value": value[:20]},
            code="qr_date",
        )
    try:
        return dt.date(int(value[4:]), int(value[2:4]), int(value[:2]))
    except ValueError:
        raise ValidationError(
            _("%(label)s in the QR code is not a real date (%(value)s).") % {"label": label, "value": value},
            code="qr_date",
        ) from None


def card_qr_parse(*, text: str, today: dt.date | None = None) -> CardQrData:
    """Parse `<ID>|<old ID or empty>|<name>|<ddmmyyyy>|<Nam/Nữ>|<residence>|<issue ddmmyyyy>[|…]`.

    Defensive (domain.md §3.1a): trims, NFC-normalises, drops control characters a scanner may add,
    tolerates a missing old-ID field and extra trailing fields. Raises ValidationError.
    """
    from citizens.validators import validate_personal_id

    today = today or timezone.localdate()
    cleaned = _CONTROL.sub("", unicodedata.normalize("NFC", text or "")).strip()
    if not cleaned:
        raise ValidationError(_("The QR text is empty: scan the QR code on the front of the card."), code="qr_empty")
    if "|" not in cleaned:
        raise ValidationError(
            _(
                "This is not the QR code of a chip-based ID card: its fields are separated by “|”. "
                "Scan the QR code on the front of the card, or type the personal ID number instead."
            ),
            code="qr_format",
        )
    parts = [p.strip() for p in cleaned.split("|")]
    # The old-ID field may be missing altogether: then the second field is the name, not digits.
    if len(parts) >= 2 and parts[1] and not parts[1].isdigit():
        parts.insert(1, "")
    if len(parts) < 6:
        raise ValidationError(
            _(
                "The QR text has %(count)s fields; a chip-based ID card gives at least 6 "
                "(ID number, old ID, name, date of birth, sex, residence). Scan again."
            )
            % {"count": len(parts)},
            code="qr_short",
        )
    personal_id, old_id, name, dob_text, sex_text, residence = parts[:6]
    issue_text = parts[6] if len(parts) > 6 else ""
    if not _DIGITS12.fullmatch(personal_id):
        raise ValidationError(
            _("The first field of the QR code must be the 12-digit personal ID number; it is “%(value)s”.")
            % {"value": personal_id[:20]},
            code="qr_id",
        )
    if old_id and not _OLD_ID.fullmatch(old_id):
        raise ValidationError(
            _("The old ID number in the QR code must have 9 or 12 digits; it is “%(value)s”.") % {"value": old_id[:20]},
            code="qr_old_id",
        )
    name = " ".join(name.split())
    if not name or any(ch.isdigit() for ch in name) or len(name) > 200:
        raise ValidationError(_("The full name in the QR code is missing or not a name."), code="qr_name")
    birth_date = _qr_date(dob_text, label=_("The date of birth"))
    if birth_date > today:
        raise ValidationError(_("The date of birth in the QR code is in the future."), code="qr_date")
    sex = SEXES.get(sex_text.lower())
    if sex is None:
        raise ValidationError(
            _("The sex in the QR code must be “Nam” or “Nữ”; it is “%(value)s”.") % {"value": sex_text[:20]},
            code="qr_sex",
        )
    issue_date = None
    if issue_text:
        issue_date = _qr_date(issue_text, label=_("The date of issue"))
        if issue_date < birth_date or issue_date > today:
            raise ValidationError(
                _("The date of issue in the QR code (%(date)s) is before the date of birth or in the future.")
                % {"date": issue_date.strftime("%d/%m/%Y")},
                code="qr_issue",
            )
    try:
        validate_personal_id(personal_id, birth_date=birth_date, today=today)
    except ValidationError as exc:
        raise ValidationError(
            _("The personal ID number in the QR code is not valid: %(problems)s")
            % {"problems": " ".join(exc.messages)},
            code="qr_id",
        ) from None
    return CardQrData(
        personal_id=personal_id,
        old_id=old_id,
        full_name=name,
        birth_date=birth_date,
        sex=sex,
        residence=" ".join(residence.split()),
        issue_date=issue_date,
        extra=tuple(parts[7:]),
    )


# --- the intake ----------------------------------------------------------------------------------


def _intake_profile(actor: AbstractBaseUser) -> StaffProfile:
    profile = StaffProfile.objects.select_related("agency").filter(user=actor).first()
    if profile is None or profile.role not in INTAKE_ROLES:
        raise ApplicationError(_("Only reception clerks receive dossiers at the counter."), status=403)
    return profile


def counter_intake_start(*, actor: AbstractBaseUser) -> CounterIntake:
    """Open an intake with a fresh one-time token for the clerk's agency."""
    profile = _intake_profile(actor)
    with transaction.atomic():
        intake = CounterIntake.objects.create(agency=profile.agency, clerk=actor)
        audit_record(action="counter.intake_start", actor=actor, obj=intake)
    return intake


def counter_intake_get(*, actor: AbstractBaseUser, token: str) -> CounterIntake:
    """Return the clerk's own intake with TOKEN (404 for anyone else's)."""
    intake = (
        CounterIntake.objects.select_related("agency", "procedure", "dossier").filter(token=token, clerk=actor).first()
    )
    if intake is None:
        raise ApplicationError(_("This counter intake does not exist or is not yours."), status=404)
    return intake


def counter_intake_read_record(*, actor: AbstractBaseUser, intake: CounterIntake) -> None:
    """Audit that the clerk was shown the person's data held on the intake (ID, name, birth date, residence)."""
    with transaction.atomic():
        audit_record(
            action="personal_data.read",
            actor=actor,
            obj=intake,
            data={"purpose": "counter intake", "identity": intake.identity_status},
        )


def counter_procedures(*, agency_id: int):
    """The published procedures the agency decides, with a configured time limit (receivable at the counter)."""
    from django.db.models import Q

    return (
        Procedure.objects.filter(is_published=True, agency_id=agency_id)
        .filter(Q(time_limit_days__isnull=False) | Q(time_limit_hours__isnull=False))
        .order_by("code")
    )


@dataclass(frozen=True)
class IdentityResult:
    status: str  # Dossier.IdentityStatus value
    note: str


def counter_identity_confirm(
    *,
    actor: AbstractBaseUser,
    token: str,
    personal_id: str,
    qr: CardQrData | None = None,
    procedure_id: int | None = None,
) -> IdentityResult:
    """Confirm the person through the population-database gateway and keep the answer on the intake.

    verified: the database knows the number (and the card's name and date of birth agree);
    mismatch: not found, or the card disagrees with the database (ask for the paper, advise a correction);
    unverified: the gateway cannot answer now (degraded mode, open circuit, timeout): continue with
    typed data, re-verified later.
    """
    from citizens.validators import validate_personal_id
    from integrations.gateway import FOUND, NOT_FOUND, Caller, GatewayRefused, gateway_lookup
    from integrations.reconciliation_matching import MATCHED, classify

    intake = counter_intake_get(actor=actor, token=token)
    if intake.dossier_id:
        raise ApplicationError(_("This intake is finished: its dossier was already created."), status=409)
    personal_id = (personal_id or "").strip().replace(" ", "")
    try:
        validate_personal_id(personal_id)
    except ValidationError as exc:
        raise ApplicationError(" ".join(exc.messages), extra={"field": "personal_id"}) from None
    procedure = None
    if procedure_id is not None:
        procedure = counter_procedures(agency_id=intake.agency_id).filter(pk=procedure_id).first()
        if procedure is None:
            raise ApplicationError(_("Choose a procedure your agency receives."), extra={"field": "procedure"})
    caller = Caller(
        system="portal",
        acting_user=actor.get_username(),
        purpose=GATEWAY_PURPOSE,
        consent_reference=f"counter-intake:{intake.token[:16]}",
    )
    try:
        outcome = gateway_lookup(caller=caller, personal_id=personal_id)
    except GatewayRefused as exc:
        raise ApplicationError(exc.message, extra={"field": "personal_id"}) from None
    record = outcome.record
    values: dict[str, Any] = {
        "personal_id": personal_id,
        "source": CounterIntake.Source.QR if qr else CounterIntake.Source.TYPED,
        "identity_request_id": outcome.request_id,
        "identity_checked_at": timezone.now(),
        "procedure": procedure or intake.procedure,
    }
    if outcome.status == FOUND and record is not None:
        status, note = Dossier.IdentityStatus.VERIFIED, ""
        if record.deceased:
            status = Dossier.IdentityStatus.MISMATCH
            note = _("The population database records this person as deceased.")
        elif qr is not None:
            verdict = classify(full_name=qr.full_name, birth_date=qr.birth_date.isoformat(), record=record)
            if verdict.category != MATCHED:
                status = Dossier.IdentityStatus.MISMATCH
                note = _("The card's name or date of birth differs from the population database.")
        values.update(
            full_name=record.full_name,
            birth_date=record.birth_date,
            sex=record.sex,
            residence=record.residence,
        )
    else:
        if outcome.status == NOT_FOUND:
            status = Dossier.IdentityStatus.MISMATCH
            note = _(
                "The population database has no person with this number: ask for the paper ID and advise "
                "the applicant to have their record corrected."
            )
        else:
            status = Dossier.IdentityStatus.UNVERIFIED
            note = _(
                "The population database cannot be reached now. Continue with the data from the card; "
                "the identity will be verified automatically later."
            )
        values.update(
            full_name=qr.full_name if qr else "",
            birth_date=qr.birth_date.isoformat() if qr else "",
            sex=qr.sex if qr else "",
            residence=qr.residence if qr else "",
        )
    values.update(identity_status=status, identity_note=note[:300])
    with transaction.atomic():
        locked = CounterIntake.objects.select_for_update().get(pk=intake.pk)
        if locked.dossier_id:
            raise ApplicationError(_("This intake is finished: its dossier was already created."), status=409)
        for name, value in values.items():
            setattr(locked, name, value)
        locked.save()
        audit_record(
            action="counter.identity_check",
            actor=actor,
            obj=locked,
            data={"status": status, "source": values["source"], "gateway_request": outcome.request_id},
        )
    return IdentityResult(status=status, note=note)


def counter_applicant_account(*, personal_id: str) -> AbstractBaseUser:
    """The account the dossier belongs to: the citizen's own (found by the personal-ID hash), else an
    inactive placeholder keyed by the same hash (no password, cannot sign in; personal data stays on
    the dossier, encrypted)."""
    from citizens.selectors import citizen_profile_for_national_id

    profile = citizen_profile_for_national_id(national_id=personal_id)
    if profile is not None:
        return profile.user
    User = get_user_model()
    username = f"counter-{pii_hash(personal_id)}"
    user = User.objects.filter(username=username).first()
    if user is None:
        try:
            with transaction.atomic():
                user = User(username=username, is_active=False)
                user.set_unusable_password()
                user.save()
        except IntegrityError:
            user = User.objects.get(username=username)
    return user


@dataclass(frozen=True)
class ScannedDocument:
    checklist_item: int | None  # ProcedureDocument.order
    title: str
    upload: CheckedUpload


def counter_dossier_create(
    *,
    actor: AbstractBaseUser,
    token: str,
    applicant: ApplicantData,
    birth_date: str,
    request_summary: str,
    form_data: dict[str, Any],
    documents: list[ScannedDocument],
) -> tuple[Dossier, bool]:
    """Create the counter dossier and receive it at once; return (dossier, created).

    One transaction: dossier, scanned documents, submission event and audit, then the receive
    transition (code, due date, its own event, audit and outbox). A second call with the same token
    (a double click) waits for the first one's lock and returns its dossier with created=False.
    """
    from procedures.catalogue import procedure_version_freeze
    from procedures.lifecycle import dossier_transition

    profile = _intake_profile(actor)
    intake = counter_intake_get(actor=actor, token=token)
    if intake.dossier_id:
        return intake.dossier, False
    if not intake.identified:
        raise ApplicationError(_("Confirm the applicant's identity first."), extra={"field": "personal_id"})
    procedure = intake.procedure
    if procedure is None or not counter_procedures(agency_id=profile.agency_id).filter(pk=procedure.pk).exists():
        raise ApplicationError(_("Choose a procedure your agency receives."), extra={"field": "procedure"})
    if applicant.national_id != intake.personal_id:
        raise ApplicationError(_("The personal ID number differs from the one that was checked."))
    version = procedure_version_freeze(procedure=procedure)
    applicant_user = counter_applicant_account(personal_id=intake.personal_id)
    now = timezone.now()
    with transaction.atomic():
        intake = CounterIntake.objects.select_for_update().get(pk=intake.pk)
        if intake.dossier_id:  # the first click won
            return Dossier.objects.get(pk=intake.dossier_id), False
        dossier = Dossier.objects.create(
            reference=_new_reference(),
            procedure=procedure,
            procedure_version=version,
            agency=procedure.agency,
            applicant=applicant_user,
            channel=Dossier.Channel.COUNTER,
            applicant_name=applicant.name,
            applicant_national_id=applicant.national_id,
            applicant_national_id_hash=pii_hash(applicant.national_id),
            applicant_address=applicant.address,
            applicant_phone=applicant.phone,
            applicant_email=applicant.email,
            identity_status=intake.identity_status,
            identity_checked_at=intake.identity_checked_at,
            request_summary=request_summary,
            form_data=form_data,
            submitted_at=now,
        )
        digests = []
        for item in documents:
            document = DossierDocument(
                dossier=dossier,
                title=item.title[:255],
                original_name=item.upload.name,
                content_type=item.upload.content_type,
                size=item.upload.size,
                sha256=item.upload.sha256,
                source=DossierDocument.Source.SCANNED,
                checklist_item=item.checklist_item,
                digitised_by=actor,
                scan_status=item.upload.scan_status,
            )
            document.file.save(item.upload.name, item.upload.file, save=True)
            digests.append({"item": item.checklist_item, "sha256": item.upload.sha256})
        DossierEvent.objects.create(
            dossier=dossier,
            kind=DossierEvent.Kind.SUBMITTED,
            to_state=dossier.state,
            actor=actor,
            at=now,
            data={"reference": dossier.reference, "channel": "counter", "documents": digests},
        )
        audit_record(
            action="dossier.submit",
            actor=actor,
            obj=dossier,
            data={
                "reference": dossier.reference,
                "procedure": procedure.code,
                "version": version.number,
                "channel": "counter",
                "identity": intake.identity_status,
                "scanned": len(documents),
            },
        )
        intake.dossier = dossier
        intake.full_name = applicant.name
        intake.birth_date = birth_date or intake.birth_date
        intake.save(update_fields=["dossier", "full_name", "birth_date"])
        dossier = dossier_transition(dossier_id=dossier.pk, action="receive", actor=actor)
    return dossier, True


# --- re-verification -----------------------------------------------------------------------------


def counter_identity_reverify(*, limit: int = 200) -> dict[str, int]:
    """Verify again the dossiers received while the population database could not answer
    (procedures.identity.identity_reverify); the intake row keeps the attempts and the last answer."""
    from procedures.identity import identity_reverify

    pending = (
        CounterIntake.objects.filter(dossier__identity_status=Dossier.IdentityStatus.UNVERIFIED)
        .select_related("dossier")
        .order_by("dossier__received_at", "pk")[:limit]
    )

    def attempted(intake: CounterIntake, **answer: Any) -> None:
        CounterIntake.objects.filter(pk=intake.pk).update(reverify_attempts=intake.reverify_attempts + 1, **answer)

    counts = identity_reverify(
        list(pending),
        actor=REVERIFY_ACTOR,
        purpose=REVERIFY_PURPOSE,
        audit_action="dossier.identity_reverified",
        subject=lambda intake: (intake.dossier, intake.dossier.applicant_name, intake.birth_date or ""),
        after=lambda intake, outcome, status, now: attempted(
            intake, identity_status=status, identity_request_id=outcome.request_id, identity_checked_at=now
        ),
        on_unavailable=attempted,
    )
    if counts["verified"] or counts["mismatch"]:
        logger.info("counter re-verification: %s", counts)
    return counts
