"""Dossiers and ratings that arrive from the national public service portal (OUR protocol,
docs/national-portal-inbound.md; the API in procedures/api_national.py checks the signature and
every field, then calls these keyword-only services).

A dossier submitted on the national portal becomes a SUBMITTED online dossier with channel
"national_portal", pinned to the procedure's current version, owned by the citizen account of
the applicant's personal ID number (reused, or created as a VNeID-style citizen account that the
citizen's first VNeID sign-in takes over). One national reference gives one dossier, also under
concurrency: NationalInboundSubmission.national_reference is unique and the loser of a race
answers with the winner's dossier.
"""

from __future__ import annotations

import hashlib
import logging
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from citizens.models import CitizenProfile
from citizens.validators import validate_personal_id
from portal.audit import audit_record
from portal.crypto import pii_hash
from portal.errors import ApplicationError
from procedures.models import Dossier, DossierEvent, Procedure
from procedures.models_national import DossierRating, NationalInboundSubmission

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger("procedures.inbound")

NATIONAL_PORTAL_CHANNEL = "national_portal"


@dataclass(frozen=True)
class InboundDossier:
    """A checked dossier submission from the national portal."""

    national_reference: str
    procedure_code: str
    agency_code: str
    applicant_name: str
    national_id: str
    birth_date: date | None
    address: str
    phone: str
    email: str
    summary: str
    submitted_at: datetime
    attachments: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class InboundResult:
    dossier: Dossier
    created: bool
    payload_matches: bool = True


def _channel() -> str:
    # The lifecycle work adds Channel.NATIONAL_PORTAL; the stored value is the same either way.
    return getattr(Dossier.Channel, "NATIONAL_PORTAL", NATIONAL_PORTAL_CHANNEL)


def citizen_account_for_national_id(*, national_id: str, full_name: str, birth_date: date | None) -> AbstractBaseUser:
    """Return the citizen account of NATIONAL_ID, creating it (with its profile and audit) if none exists.

    The new account has no password and a placeholder VNeID subject "dvcqg:<hash>"; the citizen's
    first VNeID sign-in finds it by the personal ID number and takes it over (citizens/adapters.py).
    """
    national_id_hash = pii_hash(national_id)
    profile = CitizenProfile.objects.select_related("user").filter(national_id_hash=national_id_hash).first()
    if profile is not None:
        return profile.user
    info = validate_personal_id(national_id, birth_date=birth_date)
    try:
        with transaction.atomic():
            user = get_user_model()(username=f"dvcqg-{national_id_hash[:24]}")
            user.set_unusable_password()
            user.save()
            profile = CitizenProfile.objects.create(
                user=user,
                vneid_subject=f"dvcqg:{national_id_hash}",
                full_name=full_name[:255],
                national_id=national_id,
                national_id_hash=national_id_hash,
                birth_date=birth_date,
                sex=info.sex,
                assurance_level="",  # the national portal does not tell us the level
            )
            audit_record(
                action="citizen.account_created",
                obj=profile,
                data={"source": NATIONAL_PORTAL_CHANNEL, "username": user.get_username()},
            )
            return user
    except IntegrityError:
        # Another request created the same person's account at the same moment.
        return CitizenProfile.objects.select_related("user").get(national_id_hash=national_id_hash).user


def _duplicate(*, submission: NationalInboundSubmission, digest: str, sender: str) -> InboundResult:
    with transaction.atomic():
        NationalInboundSubmission.objects.filter(pk=submission.pk).update(duplicates=submission.duplicates + 1)
        audit_record(
            action="dossier.national_duplicate",
            obj=submission.dossier,
            data={
                "national_reference": submission.national_reference,
                "sender": sender,
                "payload_matches": digest == submission.payload_digest,
            },
        )
    return InboundResult(dossier=submission.dossier, created=False, payload_matches=digest == submission.payload_digest)


def national_dossier_accept(*, sender: str, submission: InboundDossier, payload_digest: str) -> InboundResult:
    """Create the dossier of SUBMISSION, or return the one already made for its national reference."""
    from procedures.catalogue import procedure_version_freeze
    from procedures.services import _new_reference

    existing = (
        NationalInboundSubmission.objects.select_related("dossier")
        .filter(national_reference=submission.national_reference)
        .first()
    )
    if existing is not None:
        return _duplicate(submission=existing, digest=payload_digest, sender=sender)
    procedure = Procedure.objects.select_related("agency").filter(code=submission.procedure_code).first()
    if procedure is None or not procedure.can_apply_online:
        raise ApplicationError(
            _("Procedure %(code)s is not open for online applications on this portal.")
            % {"code": submission.procedure_code},
            extra={"field": "MaTTHC"},
        )
    if submission.agency_code and submission.agency_code != procedure.agency.code:
        raise ApplicationError(
            _("Procedure %(code)s is decided by agency %(agency)s here, not %(given)s.")
            % {"code": procedure.code, "agency": procedure.agency.code, "given": submission.agency_code},
            extra={"field": "MaDonVi"},
        )
    version = procedure_version_freeze(procedure=procedure)
    user = citizen_account_for_national_id(
        national_id=submission.national_id, full_name=submission.applicant_name, birth_date=submission.birth_date
    )
    for attempt in range(5):
        try:
            with transaction.atomic():
                dossier = Dossier.objects.create(
                    reference=_new_reference(),
                    procedure=procedure,
                    procedure_version=version,
                    agency=procedure.agency,
                    applicant=user,
                    channel=_channel(),
                    applicant_name=submission.applicant_name,
                    applicant_national_id=submission.national_id,
                    applicant_national_id_hash=pii_hash(submission.national_id),
                    applicant_address=submission.address,
                    applicant_phone=submission.phone,
                    applicant_email=submission.email,
                    request_summary=submission.summary,
                    submitted_at=submission.submitted_at,
                )
                inbound = NationalInboundSubmission.objects.create(
                    national_reference=submission.national_reference,
                    dossier=dossier,
                    sender=sender,
                    payload_digest=payload_digest,
                    attachments=submission.attachments,
                    files_status=(
                        NationalInboundSubmission.FilesStatus.PENDING
                        if submission.attachments
                        else NationalInboundSubmission.FilesStatus.NONE
                    ),
                )
                DossierEvent.objects.create(
                    dossier=dossier,
                    kind=DossierEvent.Kind.SUBMITTED,
                    to_state=dossier.state,
                    actor=user,
                    at=submission.submitted_at,
                    data={
                        "reference": dossier.reference,
                        "channel": NATIONAL_PORTAL_CHANNEL,
                        "national_reference": submission.national_reference,
                        "attachments_announced": len(submission.attachments),
                    },
                )
                audit_record(
                    action="dossier.submit",
                    actor=user,
                    obj=dossier,
                    data={
                        "reference": dossier.reference,
                        "procedure": procedure.code,
                        "version": version.number,
                        "channel": NATIONAL_PORTAL_CHANNEL,
                        "sender": sender,
                        "national_reference": submission.national_reference,
                        "attachments": len(submission.attachments),
                    },
                )
                if submission.attachments:
                    national_attachments_schedule(submission=inbound)
                return InboundResult(dossier=dossier, created=True)
        except IntegrityError:
            existing = (
                NationalInboundSubmission.objects.select_related("dossier")
                .filter(national_reference=submission.national_reference)
                .first()
            )
            if existing is not None:  # a concurrent request for the same reference won
                return _duplicate(submission=existing, digest=payload_digest, sender=sender)
            if attempt == 4:  # five reference collisions in a row means something else is wrong
                raise
    raise AssertionError("unreachable")


def national_dossier_find(*, national_reference: str = "", dossier_code: str = "") -> Dossier | None:
    """Return the dossier known to the national portal by its national reference or our dossier code."""
    if national_reference:
        submission = (
            NationalInboundSubmission.objects.select_related("dossier")
            .filter(national_reference=national_reference)
            .first()
        )
        return submission.dossier if submission else None
    if dossier_code:
        return Dossier.objects.filter(code=dossier_code).first()
    return None


def dossier_rating_record(
    *,
    dossier: Dossier,
    source: str,
    score: int,
    comment: str,
    rated_at: datetime,
    actor: AbstractBaseUser | None = None,
) -> tuple[DossierRating, str]:
    """Record the applicant's rating of DOSSIER from SOURCE; return it and "created" | "updated" | "unchanged".

    One rating per dossier and source: a later rating replaces an earlier one; an older or identical
    one changes nothing. The caller checks that ACTOR may rate this dossier.
    """
    if score not in DossierRating.Score.values:
        raise ApplicationError(_("A rating is 1, 2 or 3."), extra={"field": "score"})
    with transaction.atomic():
        Dossier.objects.select_for_update(of=("self",)).filter(pk=dossier.pk).first()  # one rating write at a time
        rating = DossierRating.objects.filter(dossier=dossier, source=source).first()
        if rating is None:
            rating = DossierRating.objects.create(
                dossier=dossier,
                source=source,
                score=score,
                comment=comment,
                rated_at=rated_at,
                rated_by=actor if actor is not None and actor.is_authenticated else None,
            )
            outcome = "created"
        elif (rating.score, rating.comment) == (score, comment) or rated_at < rating.rated_at:
            return rating, "unchanged"
        else:
            rating.score, rating.comment, rating.rated_at = score, comment, rated_at
            rating.save(update_fields=["score", "comment", "rated_at", "updated_at"])
            outcome = "updated"
        audit_record(
            action=f"dossier.rating_{outcome}",
            actor=actor,
            obj=dossier,
            data={"source": source, "score": score, "rating": rating.pk},
        )
    return rating, outcome


# --- attachments announced by an inbound dossier (docs/decisions/0045) -----------------------------

ATTACHMENT_REASONS = {
    "no_hash": gettext_lazy("no SHA-256 was announced, so the file cannot be verified"),
    "host_not_allowed": gettext_lazy("its address is not on a host we may download from"),
    "unavailable": gettext_lazy("the national portal refused to serve it"),
    "redirect": gettext_lazy("the national portal answered with a redirect, which is not followed"),
    "too_large": gettext_lazy("it is larger than the limit"),
    "hash_mismatch": gettext_lazy("its content does not match the announced SHA-256"),
    "bad_file": gettext_lazy("the file was refused by the upload checks"),
    "unreachable": gettext_lazy("the national portal could not be reached after several attempts"),
}
CHECKLIST_ITEM_RE = re.compile(r"^(?:TP)?0*(\d{1,4})$", re.IGNORECASE)


class AttachmentsPending(Exception):
    """Some attachments could not be fetched for a transient reason; the task retries."""


def attachment_refusal_text(*, name: str, reason: str, detail: str = "") -> str:
    """The clerk's sentence for a refused attachment (translated at display time)."""
    text = _("File “%(name)s” was not received: %(reason)s.") % {
        "name": name,
        "reason": ATTACHMENT_REASONS.get(reason, reason),
    }
    return f"{text} ({detail})" if detail else text


def _checklist_item(*, dossier: Dossier, code: str) -> int | None:
    """Our reading of MaThanhPhanHoSo: the item's order in the procedure's checklist, "3" or "TP3"."""
    match = CHECKLIST_ITEM_RE.match(code or "")
    if match is None:
        return None
    order = int(match.group(1))
    return order if dossier.procedure.documents.filter(order=order).exists() else None


def _files_status(submission: NationalInboundSubmission) -> str:
    report = submission.files_report
    statuses = [(report.get(str(i)) or {}).get("status") for i in range(len(submission.attachments))]
    if not statuses:
        return NationalInboundSubmission.FilesStatus.NONE
    if any(s is None for s in statuses):
        return NationalInboundSubmission.FilesStatus.PENDING
    if "refused" in statuses:
        return NationalInboundSubmission.FilesStatus.PROBLEM
    return NationalInboundSubmission.FilesStatus.COMPLETE


def _settle(*, submission_id: int, index: int, entry: dict[str, Any], content: bytes | None = None) -> None:
    """Record the outcome of attachment INDEX once, under the submission's row lock.

    A stored attachment becomes a DossierDocument; if the same hash is already stored for this
    dossier (a second run, a racing worker or the same file announced twice) nothing new is stored.
    """
    from django.core.files.uploadedfile import SimpleUploadedFile

    from portal.uploads import check_upload
    from procedures.models import DossierDocument

    with transaction.atomic():
        submission = (
            NationalInboundSubmission.objects.select_for_update()
            .select_related("dossier", "dossier__procedure")
            .get(pk=submission_id)
        )
        report = dict(submission.files_report)
        if report.get(str(index), {}).get("status") in ("stored", "refused"):
            return  # settled by an earlier run or a racing worker
        announced = submission.attachments[index]
        dossier = submission.dossier
        if entry["status"] == "stored":
            # get-or-create per (dossier, hash) under the row lock: never a second copy of the same file.
            # The hash is of what is stored: an image is re-encoded by the checks (portal.uploads).
            checked = check_upload(SimpleUploadedFile(announced["TenTepDinhKem"], content or b""))
            same = (
                DossierDocument.objects.filter(
                    dossier=dossier, sha256__in={entry["sha256"], checked.sha256}, source=DossierDocument.Source.UPLOAD
                )
                .order_by("pk")
                .first()
            )
            if same is not None:
                entry = {**entry, "document": same.pk}
            else:
                document = DossierDocument.objects.create(
                    dossier=dossier,
                    title=announced["TenTepDinhKem"][:255],
                    file=checked.file,
                    original_name=checked.name,
                    content_type=checked.content_type,
                    size=checked.size,
                    sha256=checked.sha256,
                    source=DossierDocument.Source.UPLOAD,
                    scan_status=checked.scan_status,
                    checklist_item=_checklist_item(dossier=dossier, code=announced.get("MaThanhPhanHoSo", "")),
                )
                entry = {**entry, "document": document.pk}
        report[str(index)] = entry
        submission.files_report = report
        submission.files_status = _files_status(submission)
        submission.save(update_fields=["files_report", "files_status"])
        audit_record(
            action=f"dossier.national_attachment_{entry['status']}",
            obj=dossier,
            data={
                "national_reference": submission.national_reference,
                "index": index,
                "sha256": entry.get("sha256", ""),
                "document": entry.get("document"),
                "reason": entry.get("reason", ""),
                "detail": entry.get("detail", ""),
            },
        )
    if entry["status"] == "refused":
        logger.warning("inbound attachment %s of %s refused: %s", index, submission.national_reference, entry["reason"])


def national_attachments_fetch(*, submission_id: int, give_up: bool = False) -> str:
    """Fetch, check and store every announced attachment of an inbound submission not settled yet.

    Idempotent: settled attachments are skipped, and storing happens once per (dossier, hash) under a
    row lock. Permanent problems are recorded as refusals; transient ones raise AttachmentsPending
    after the others are done, unless GIVE_UP (the last retry), which records them as "unreachable".
    Returns the submission's files_status.
    """
    from django.conf import settings
    from django.core.exceptions import ValidationError
    from django.core.files.uploadedfile import SimpleUploadedFile

    from integrations.http import HttpError
    from integrations.national_portal.attachments import AttachmentRefused, attachment_fetch
    from portal.uploads import check_upload

    submission = NationalInboundSubmission.objects.get(pk=submission_id)
    pending: list[str] = []
    for index, announced in enumerate(submission.attachments):
        if str(index) in submission.files_report:
            continue
        declared = (announced.get("HashTepTin") or "").lower()
        entry: dict[str, Any]
        content = None
        try:
            if not declared:
                raise AttachmentRefused("no_hash")
            content = attachment_fetch(
                announced["DuongDanTaiTepTin"],
                allowed_hosts=settings.NATIONAL_PORTAL_ATTACHMENT_HOSTS,
                max_bytes=settings.NATIONAL_PORTAL_ATTACHMENT_MAX_BYTES,
                timeout=settings.NATIONAL_PORTAL_ATTACHMENT_TIMEOUT,
            )
            actual = hashlib.sha256(content).hexdigest()
            if actual != declared:
                raise AttachmentRefused("hash_mismatch", f"got {actual[:16]}…")
            try:
                check_upload(SimpleUploadedFile(announced["TenTepDinhKem"], content))
            except ValidationError as exc:
                raise AttachmentRefused("bad_file", " ".join(str(m) for m in exc.messages)) from exc
            entry = {"status": "stored", "sha256": actual, "size": len(content)}
        except AttachmentRefused as refusal:
            entry = {"status": "refused", "reason": refusal.code, "detail": refusal.detail[:300]}
            content = None
        except HttpError as exc:
            if not give_up:
                pending.append(f"{index}: {exc}")
                continue
            entry = {"status": "refused", "reason": "unreachable", "detail": str(exc)[:300]}
        _settle(submission_id=submission_id, index=index, entry=entry, content=content)
    if pending:
        raise AttachmentsPending("; ".join(pending))
    return NationalInboundSubmission.objects.values_list("files_status", flat=True).get(pk=submission_id)


def national_attachments_schedule(*, submission: NationalInboundSubmission) -> None:
    """After the submission commits, queue the fetch of its attachments (a lost queueing is logged)."""
    from procedures.tasks_national import national_attachments_fetch_task

    def _queue() -> None:
        try:
            national_attachments_fetch_task.delay(submission.pk)
        except Exception:  # the broker is down: the row stays "pending" for national_attachments_sweep_task
            logger.exception("could not queue the attachment fetch of %s", submission.national_reference)

    transaction.on_commit(_queue)
