"""Issue, re-issue and follow facility documents. Keyword-only functions; each state change writes
the row, its event, the audit record and (for delivery) the outbox message in one transaction."""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import secrets
import uuid
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from facilities.models import (
    BookCounter,
    DocumentEvent,
    Facility,
    FacilityAlert,
    FacilityCredential,
    FacilityMembership,
    HealthDocument,
)
from facilities.rules import add_working_hours, rule_version_get, rule_version_on, working_calendar
from facilities.standards import Standard, document_data_validate, standard_get
from integrations.outbox import outbox_enqueue
from portal.audit import audit_record
from portal.crypto import pii_hash
from portal.errors import ApplicationError

logger = logging.getLogger("facilities")

TOPIC = "interlinking.document"
BOOKS = {HealthDocument.Kind.BIRTH: "GCS", HealthDocument.Kind.DEATH: "GBT"}
MAX_SEQUENCE = 99_999

Kind = HealthDocument.Kind
Delivery = HealthDocument.Delivery
Verification = HealthDocument.Verification


class DocumentInvalid(ApplicationError):
    """The submitted data breaks the standard's rules; `errors` names each field."""

    def __init__(self, errors: dict[str, list[str]]) -> None:
        super().__init__(_("The document has errors: correct the fields shown."), extra={"errors": errors})
        self.errors = errors


@dataclass(frozen=True)
class Issuer:
    """Who issues: a facility member in the browser, or the facility's own system with its API key."""

    facility: Facility
    user: Any = None
    credential: FacilityCredential | None = None

    @property
    def via(self) -> str:
        return "api" if self.credential is not None else "screen"

    @property
    def acting(self) -> str:
        if self.user is not None and getattr(self.user, "is_authenticated", False):
            return self.user.get_username()
        return f"api-key:{self.credential.key_prefix}" if self.credential else "system"


def issuer_for_user(*, user, facility_id: int | None = None, roles: tuple[str, ...] = ()) -> Issuer:
    """Return the issuer for USER's active membership (of FACILITY_ID if given); refuse otherwise."""
    memberships = FacilityMembership.objects.select_related("facility").filter(
        user=user, is_active=True, facility__is_active=True
    )
    if facility_id is not None:
        memberships = memberships.filter(facility_id=facility_id)
    if roles:
        memberships = memberships.filter(role__in=roles)
    membership = memberships.order_by("facility__code").first()
    if membership is None:
        raise ApplicationError(_("You are not a member of a health facility that issues documents."), status=403)
    return Issuer(facility=membership.facility, user=user)


# --- identity through the population gateway ----------------------------------------------------


def _identity_verify(
    *, issuer: Issuer, personal_id: str | None, full_name: str, birth_date: str, reference: str, purpose: str
) -> tuple[str, str]:
    """Verify a person through the gateway; return (verification status, gateway request id)."""
    from integrations.gateway import Caller, GatewayRefused, gateway_verify

    if not personal_id:
        return Verification.NOT_APPLICABLE, ""
    caller = Caller(
        system=f"facility:{issuer.facility.code}",
        acting_user=issuer.acting,
        purpose=purpose,
        consent_reference=reference,
    )
    try:
        outcome = gateway_verify(caller=caller, personal_id=personal_id, full_name=full_name, birth_date=birth_date)
    except GatewayRefused as exc:
        logger.warning("gateway refused the verification of %s: %s", reference, exc.code)
        return Verification.UNAVAILABLE, ""
    status = {
        "verified": Verification.VERIFIED,
        "mismatch": Verification.MISMATCH,
        "not_found": Verification.NOT_FOUND,
        "unavailable": Verification.UNAVAILABLE,
    }.get(outcome.status, Verification.MISMATCH)
    return status, outcome.request_id


def _subject(document_kind: str, data: dict[str, Any]) -> tuple[str | None, str, str]:
    """Return (personal ID, name, birth date) of the person whose identity is checked."""
    if document_kind == Kind.BIRTH:
        return data.get("mother_personal_id"), data.get("mother_name", ""), data.get("mother_birth_date", "")
    return data.get("deceased_personal_id"), data.get("deceased_name", ""), data.get("deceased_birth_date", "")


PURPOSES = {
    Kind.BIRTH: "Issue a birth certificate (Circular 22/2025/TT-BYT): verify the mother's identity",
    Kind.DEATH: "Issue a death notice (Circular 25/2025/TT-BYT): verify the deceased's identity",
}


# --- numbering, rendering, signing ------------------------------------------------------------------


def _next_sequences(*, facility: Facility, book: str, year: int, count: int) -> list[int]:
    """Take COUNT consecutive numbers of the facility's BOOK for YEAR (row-locked counter)."""
    BookCounter.objects.get_or_create(facility=facility, book=book, year=year)
    counter = BookCounter.objects.select_for_update().get(facility=facility, book=book, year=year)
    first = counter.last_sequence + 1
    last = counter.last_sequence + count
    if last > MAX_SEQUENCE:
        raise ApplicationError(_("The facility's book for this year is full (99,999 numbers)."))
    BookCounter.objects.filter(pk=counter.pk).update(last_sequence=last)
    return list(range(first, last + 1))


def document_number(*, sequence: int, book: str, facility_code: str, year: int) -> str:
    """XXXXX.GCS.ZZZZZ.YY (Circular 22/2025 Annex I item 4, [R]); death notices use GBT (ours)."""
    return f"{sequence:05d}.{book}.{facility_code}.{year % 100:02d}"


def _sign_and_store(document: HealthDocument) -> None:
    from facilities.documents import render_document_pdf
    from facilities.signing import facility_signer
    from portal.signing import SigningError

    try:
        signer = facility_signer(document.facility)
        pdf = signer.sign_pdf(
            render_document_pdf(document),
            field_name="ChuKyCoSo",
            reason=str(document.get_kind_display()),
            location=document.facility.name,
        )
    except SigningError as exc:
        raise ApplicationError(
            _("The document could not be signed with the facility's key: %(error)s") % {"error": exc}
        ) from exc
    document.sha256 = hashlib.sha256(pdf).hexdigest()
    document.pdf.save(f"{document.number}-r{document.revision}.pdf", ContentFile(pdf), save=False)
    HealthDocument.objects.filter(pk=document.pk).update(pdf=document.pdf.name, sha256=document.sha256)


def _queue_delivery(*, document: HealthDocument, reason: str) -> None:
    """Queue the document for the interlinking software (in the caller's transaction)."""
    HealthDocument.objects.filter(pk=document.pk).update(send_count=document.send_count + 1)
    document.send_count += 1
    outbox_enqueue(
        topic=TOPIC,
        key=f"{document.facility.code}:{document.number}",
        payload={"document_id": document.pk, "reason": reason},
        event_id=f"r{document.revision}-q{document.send_count}",
    )


def _event(document: HealthDocument, kind: str, note: str = "", *, at: dt.datetime | None = None) -> None:
    DocumentEvent.objects.create(document=document, kind=kind, note=note[:500], at=at or timezone.now())


def _create(
    *,
    issuer: Issuer,
    kind: str,
    form: str,
    standard: Standard,
    data: dict[str, Any],
    sequence: int,
    year: int,
    now: dt.datetime,
    verification: tuple[str, str],
    revision: int = 1,
    supersedes: HealthDocument | None = None,
    birth_group: uuid.UUID | None = None,
    related_birth: HealthDocument | None = None,
    reissue_reason: str = "",
    reissue_note: str = "",
) -> HealthDocument:
    book = BOOKS[kind]
    rule = rule_version_on(timezone.localtime(now).date())
    calendar = working_calendar()
    holder = data.get("mother_personal_id") if kind == Kind.BIRTH else data.get("next_of_kin_personal_id")
    second = data.get("intended_mother_personal_id") if kind == Kind.BIRTH else None
    document = HealthDocument(
        facility=issuer.facility,
        kind=kind,
        form=form,
        number=supersedes.number
        if supersedes
        else document_number(sequence=sequence, book=book, facility_code=issuer.facility.code, year=year),
        book=book,
        year=year,
        sequence=sequence,
        revision=revision,
        supersedes=supersedes,
        reissue_reason=reissue_reason,
        reissue_note=reissue_note,
        birth_group=birth_group,
        related_birth=related_birth,
        standard_version=standard.version,
        rule_version=rule.code,
        holder_hash=pii_hash(holder) if holder else "",
        second_holder_hash=pii_hash(second) if second else "",
        verification_status=verification[0],
        verification_request_id=verification[1],
        verified_at=now if verification[0] not in (Verification.UNAVAILABLE,) else None,
        verification_attempts=1 if verification[0] != Verification.NOT_APPLICABLE else 0,
        issued_at=now,
        issued_by=issuer.user if issuer.user is not None and issuer.user.is_authenticated else None,
        issued_via=issuer.via,
        verify_token=secrets.token_urlsafe(32),
        sync_due_at=now + dt.timedelta(minutes=rule.sync_minutes),
        signed_data_due_at=add_working_hours(now, rule.signed_data_working_hours, calendar=calendar),
    )
    document.data = data
    document.save(force_insert=True)
    _sign_and_store(document)
    _event(document, "issued" if revision == 1 else "reissued", reissue_note, at=now)
    _queue_delivery(document=document, reason="issue")
    audit_record(
        action="facilities.document.reissue" if supersedes else "facilities.document.issue",
        actor=issuer.user,
        obj=document,
        reason=reissue_note,
        data={
            "number": document.number,
            "revision": revision,
            "kind": kind,
            "facility": issuer.facility.code,
            "via": issuer.via,
            "credential": issuer.credential.key_prefix if issuer.credential else "",
            "verification": verification[0],
        },
    )
    return document


def _validate(
    *, standard: Standard, data: dict[str, Any], children: list[dict[str, Any]] | None = None, form: str = ""
) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    try:
        return document_data_validate(standard=standard, data=data, children=children, form=form)
    except ValidationError as exc:
        raise DocumentInvalid({key: [str(m) for m in msgs] for key, msgs in exc.message_dict.items()}) from exc


def _standard(kind: str, version: str | None) -> Standard:
    default = settings.FACILITIES_BIRTH_STANDARD if kind == Kind.BIRTH else settings.FACILITIES_DEATH_STANDARD
    version = version or default
    accepted = settings.FACILITIES_ACCEPTED_STANDARDS
    if version not in accepted:
        raise DocumentInvalid(
            {"standard_version": [_("Data standard version %(v)s is not accepted for new documents.") % {"v": version}]}
        )
    try:
        return standard_get(version, kind=kind)
    except ValidationError as exc:
        raise DocumentInvalid(exc.message_dict) from exc


def _check_facility(issuer: Issuer) -> None:
    if not issuer.facility.is_active:
        raise ApplicationError(_("The facility is not active."), status=403)


def birth_certificates_issue(
    *,
    issuer: Issuer,
    data: dict[str, Any],
    children: list[dict[str, Any]],
    form: str = "01",
    standard_version: str | None = None,
) -> list[HealthDocument]:
    """Issue one birth certificate per child of one delivery (twins: one each, distinct numbers)."""
    _check_facility(issuer)
    if form not in ("01", "02"):
        raise DocumentInvalid({"form": [_("The form is 01 (normal) or 02 (surrogacy).")]})
    standard = _standard(Kind.BIRTH, standard_version)
    cleaned, kids = _validate(standard=standard, data=data, children=children, form=form)
    reference = f"GCS-{uuid.uuid4().hex[:12]}"
    verification = _identity_verify(
        issuer=issuer,
        personal_id=cleaned.get("mother_personal_id"),
        full_name=cleaned["mother_name"],
        birth_date=cleaned["mother_birth_date"],
        reference=reference,
        purpose=PURPOSES[Kind.BIRTH],
    )
    now = timezone.now()
    year = timezone.localtime(now).year
    group = uuid.uuid4() if len(kids) > 1 else None
    with transaction.atomic():
        sequences = _next_sequences(facility=issuer.facility, book=BOOKS[Kind.BIRTH], year=year, count=len(kids))
        return [
            _create(
                issuer=issuer,
                kind=Kind.BIRTH,
                form=form,
                standard=standard,
                data={**cleaned, **kid},
                sequence=sequence,
                year=year,
                now=now,
                verification=verification,
                birth_group=group,
            )
            for sequence, kid in zip(sequences, kids, strict=True)
        ]


def death_notice_issue(
    *, issuer: Issuer, data: dict[str, Any], related_birth_id: int | None = None, standard_version: str | None = None
) -> HealthDocument:
    """Issue a death notice; a newborn who dies before discharge names their birth certificate."""
    _check_facility(issuer)
    standard = _standard(Kind.DEATH, standard_version)
    cleaned, _kids = _validate(standard=standard, data=data)
    related = None
    if related_birth_id is not None:
        related = HealthDocument.objects.filter(pk=related_birth_id, kind=Kind.BIRTH, facility=issuer.facility).first()
        if related is None:
            raise DocumentInvalid({"related_birth": [_("No birth certificate of this facility has that id.")]})
        if not related.is_current:
            raise DocumentInvalid(
                {"related_birth": [_("That birth certificate was superseded; name the current one.")]}
            )
        born = related.data.get("birth_at")
        died = cleaned.get("died_at")
        if born and died and dt.datetime.fromisoformat(died) < dt.datetime.fromisoformat(born):
            raise DocumentInvalid({"died_at": [_("The death is before the birth on the birth certificate.")]})
        if HealthDocument.objects.filter(related_birth=related, is_current=True).exists():
            raise DocumentInvalid({"related_birth": [_("A death notice was already issued for this child.")]})
    personal_id, name, birth_date = _subject(Kind.DEATH, cleaned)
    verification = _identity_verify(
        issuer=issuer,
        personal_id=personal_id if birth_date and len(birth_date) == 10 else None,
        full_name=name,
        birth_date=birth_date,
        reference=f"GBT-{uuid.uuid4().hex[:12]}",
        purpose=PURPOSES[Kind.DEATH],
    )
    now = timezone.now()
    year = timezone.localtime(now).year
    with transaction.atomic():
        (sequence,) = _next_sequences(facility=issuer.facility, book=BOOKS[Kind.DEATH], year=year, count=1)
        return _create(
            issuer=issuer,
            kind=Kind.DEATH,
            form=HealthDocument.Form.DEATH,
            standard=standard,
            data=cleaned,
            sequence=sequence,
            year=year,
            now=now,
            verification=verification,
            related_birth=related,
        )


def document_reissue(
    *, issuer: Issuer, document_id: int, reason: str, note: str, data: dict[str, Any] | None = None
) -> HealthDocument:
    """Re-issue a document after an error (with corrected DATA) or a loss: a new revision with the same
    number; the old one is kept, marked superseded, and the new one is delivered too."""
    if reason not in HealthDocument.ReissueReason.values:
        raise DocumentInvalid({"reason": [_("The reason is an error or a loss.")]})
    if not note.strip():
        raise DocumentInvalid({"note": [_("Explain the re-issue.")]})
    original = HealthDocument.objects.filter(pk=document_id, facility=issuer.facility).first()
    if original is None:
        raise ApplicationError(_("No such document at your facility."), status=404)
    standard = standard_get(original.standard_version, kind=original.kind)
    if reason == HealthDocument.ReissueReason.LOSS or data is None:
        new_data = original.data
    else:
        shared = {s.name for s in standard.shared_fields}
        merged = {**original.data, **data}
        children = [{k: v for k, v in merged.items() if k not in shared}] if original.kind == Kind.BIRTH else None
        cleaned, kids = _validate(
            standard=standard,
            data={k: v for k, v in merged.items() if k in shared},
            children=children,
            form=original.form,
        )
        new_data = {**cleaned, **(kids[0] if kids else {})}
        if new_data == original.data:
            raise DocumentInvalid({"data": [_("Nothing was corrected: a re-issue after an error changes the data.")]})
    personal_id, name, birth_date = _subject(original.kind, new_data)
    if (
        personal_id == _subject(original.kind, original.data)[0]
        and original.verification_status != Verification.UNAVAILABLE
        and name == _subject(original.kind, original.data)[1]
    ):
        verification = (original.verification_status, original.verification_request_id)
    else:
        verification = _identity_verify(
            issuer=issuer,
            personal_id=personal_id if birth_date and len(birth_date) == 10 else None,
            full_name=name,
            birth_date=birth_date,
            reference=f"{original.book}-{uuid.uuid4().hex[:12]}",
            purpose=PURPOSES[original.kind],
        )
    now = timezone.now()
    with transaction.atomic():
        current = HealthDocument.objects.select_for_update().get(pk=original.pk)
        if not current.is_current:
            raise ApplicationError(_("This document was already superseded; re-issue the current one."), status=409)
        HealthDocument.objects.filter(pk=current.pk).update(is_current=False)
        _event(current, "superseded", note)
        return _create(
            issuer=issuer,
            kind=current.kind,
            form=current.form,
            standard=standard,
            data=new_data,
            sequence=current.sequence,
            year=current.year,
            now=now,
            verification=verification,
            revision=current.revision + 1,
            supersedes=current,
            birth_group=current.birth_group,
            related_birth=current.related_birth,
            reissue_reason=reason,
            reissue_note=note.strip(),
        )


# --- re-verification later ------------------------------------------------------------------------


def documents_reverify(*, limit: int = 200) -> int:
    """Verify again the documents whose identity check found the database unavailable."""
    done = 0
    pending = HealthDocument.objects.filter(
        verification_status=Verification.UNAVAILABLE, is_current=True
    ).select_related("facility")[:limit]
    for document in pending:
        personal_id, name, birth_date = _subject(document.kind, document.data)
        status, request_id = _identity_verify(
            issuer=Issuer(facility=document.facility),
            personal_id=personal_id if birth_date and len(birth_date) == 10 else None,
            full_name=name,
            birth_date=birth_date,
            reference=f"{document.number}#{document.revision}",
            purpose=PURPOSES[document.kind],
        )
        with transaction.atomic():
            HealthDocument.objects.filter(pk=document.pk).update(
                verification_attempts=document.verification_attempts + 1,
                **(
                    {
                        "verification_status": status,
                        "verification_request_id": request_id,
                        "verified_at": timezone.now(),
                    }
                    if status != Verification.UNAVAILABLE
                    else {}
                ),
            )
            if status != Verification.UNAVAILABLE:
                _event(document, "verified", str(HealthDocument.Verification(status).label))
                audit_record(action="facilities.document.reverify", obj=document, data={"verification": status})
                done += 1
    return done


# --- service levels -------------------------------------------------------------------------------


def _alert_open(*, document: HealthDocument, kind: str, due_at: dt.datetime, now: dt.datetime) -> FacilityAlert | None:
    """Open an alert of KIND for DOCUMENT unless one is open; return the new alert (or None)."""
    if FacilityAlert.objects.filter(document=document, kind=kind, resolved_at__isnull=True).exists():
        return None
    alert = FacilityAlert.objects.create(
        document=document, facility=document.facility, kind=kind, due_at=due_at, raised_at=now
    )
    _event(document, f"alert:{kind}", at=now)
    audit_record(
        action="facilities.alert.raise",
        obj=alert,
        data={"document": document.number, "kind": kind, "due_at": due_at.isoformat()},
    )
    logger.error(
        "facility document %s r%s: %s (was due %s)", document.number, document.revision, kind, due_at.isoformat()
    )
    return alert


def service_levels_check(*, now: dt.datetime | None = None) -> list[FacilityAlert]:
    """Raise the alerts of missed service levels at NOW and retry the deliveries concerned.

    * not sent within `sync_minutes` of issue -> sync_late (the outbox message is kicked again);
    * not sent within `signed_data_working_hours` of issue -> signed_data_late;
    * sent but not acknowledged within `ack_working_hours` (working-hours calendar) -> ack_late, and the
      document is sent again (then again every further `ack_working_hours` until acknowledged).
    """
    from integrations.models import OutboxMessage
    from integrations.outbox import outbox_kick

    now = now or timezone.now()
    raised: list[FacilityAlert] = []
    calendar = working_calendar()
    unsent = HealthDocument.objects.filter(
        sent_at__isnull=True, delivery_status=Delivery.ISSUED, sync_due_at__lt=now
    ).select_related("facility")
    for document in unsent:
        with transaction.atomic():
            for kind, due in (
                (FacilityAlert.Kind.SYNC_LATE, document.sync_due_at),
                (FacilityAlert.Kind.SIGNED_DATA_LATE, document.signed_data_due_at),
            ):
                if due < now:
                    alert = _alert_open(document=document, kind=kind, due_at=due, now=now)
                    if alert is not None:
                        raised.append(alert)
        # The relay retries on its own schedule; kick the message now so the retry is not left to backoff.
        key = f"{document.facility.code}:{document.number}"
        pending = (
            OutboxMessage.objects.filter(topic=TOPIC, key=key, state=OutboxMessage.State.PENDING)
            .order_by("sequence")
            .first()
        )
        if pending is not None:
            OutboxMessage.objects.filter(pk=pending.pk).update(next_attempt_at=timezone.now())
            outbox_kick(message_id=pending.pk)
    unacknowledged = HealthDocument.objects.filter(
        delivery_status=Delivery.SENT, acknowledged_at__isnull=True, ack_due_at__lt=now
    ).select_related("facility")
    for document in unacknowledged:
        rule = rule_version_get(document.rule_version)
        with transaction.atomic():
            locked = HealthDocument.objects.select_for_update().get(pk=document.pk)
            if locked.acknowledged_at is not None:
                continue
            alert = _alert_open(document=locked, kind=FacilityAlert.Kind.ACK_LATE, due_at=locked.ack_due_at, now=now)
            if alert is not None:
                raised.append(alert)
            resend_due = (
                locked.last_resent_at is None
                or add_working_hours(locked.last_resent_at, rule.ack_working_hours, calendar=calendar) <= now
            )
            if resend_due:
                HealthDocument.objects.filter(pk=locked.pk).update(last_resent_at=now)
                _queue_delivery(document=locked, reason="ack_late")
                _event(locked, "resent", at=now)
                FacilityAlert.objects.filter(
                    document=locked, kind=FacilityAlert.Kind.ACK_LATE, resolved_at__isnull=True
                ).update(retried=True)
    return raised


# --- delivery outcomes (called by the outbox handler and the acknowledgement poll) ----------------


def document_mark_sent(*, document_id: int, receipt_id: str, at: dt.datetime | None = None) -> None:
    """Record that the interlinking software received the document (idempotent)."""
    at = at or timezone.now()
    with transaction.atomic():
        document = HealthDocument.objects.select_for_update().get(pk=document_id)
        if document.sent_at is not None:
            if receipt_id and document.receipt_id != receipt_id:
                HealthDocument.objects.filter(pk=document.pk).update(receipt_id=receipt_id)
            return
        rule = rule_version_get(document.rule_version)
        ack_due = add_working_hours(at, rule.ack_working_hours)
        HealthDocument.objects.filter(pk=document.pk).update(
            sent_at=at, receipt_id=receipt_id, ack_due_at=ack_due, delivery_status=Delivery.SENT, last_delivery_error=""
        )
        FacilityAlert.objects.filter(
            document=document,
            kind__in=[FacilityAlert.Kind.SYNC_LATE, FacilityAlert.Kind.SIGNED_DATA_LATE],
            resolved_at__isnull=True,
        ).update(resolved_at=at)
        _event(document, "sent", receipt_id, at=at)
        audit_record(
            action="facilities.document.sent",
            obj=document,
            data={"receipt_id": receipt_id, "ack_due_at": ack_due.isoformat()},
        )


def document_mark_failed(*, document_id: int, error: str) -> None:
    HealthDocument.objects.filter(pk=document_id).update(last_delivery_error=error[:2000])


def document_state_update(
    *,
    document_id: int,
    state: str,
    acknowledged_at: dt.datetime | None,
    used_at: dt.datetime | None,
    registration_reference: str,
) -> bool:
    """Apply the interlinking software's state of a document; return whether anything changed."""
    order = {Delivery.ISSUED: 0, Delivery.SENT: 1, Delivery.ACKNOWLEDGED: 2, Delivery.USED: 3}
    target = {"acknowledged": Delivery.ACKNOWLEDGED, "used": Delivery.USED}.get(state)
    if target is None:
        return False
    now = timezone.now()
    with transaction.atomic():
        document = HealthDocument.objects.select_for_update().get(pk=document_id)
        if order[document.delivery_status] >= order[target]:
            return False
        changes: dict[str, Any] = {"delivery_status": target}
        if document.acknowledged_at is None:
            changes["acknowledged_at"] = acknowledged_at or now
        if target == Delivery.USED:
            changes["used_at"] = used_at or now
            changes["registration_reference"] = registration_reference[:120]
        HealthDocument.objects.filter(pk=document.pk).update(**changes)
        FacilityAlert.objects.filter(
            document=document, kind=FacilityAlert.Kind.ACK_LATE, resolved_at__isnull=True
        ).update(resolved_at=now)
        if "acknowledged_at" in changes:
            _event(document, "acknowledged", at=changes["acknowledged_at"])
        if target == Delivery.USED:
            _event(document, "used", registration_reference, at=changes["used_at"])
        audit_record(
            action=f"facilities.document.{target}",
            obj=document,
            data={"receipt_id": document.receipt_id, "registration_reference": registration_reference},
        )
    return True
