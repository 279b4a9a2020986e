"""Business rules for dossiers: each state change locks the row, transitions, records and defers.

Nothing else may change a dossier's state. Every service here is keyword-only and runs in one
transaction: the transition, the dossier event, the audit record and the outbox message commit
together, and side effects (PDF rendering, delivery) start after commit.
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django_fsm import can_proceed

from integrations.outbox import outbox_enqueue
from portal.audit import audit_record
from portal.crypto import pii_hash
from portal.errors import ApplicationError
from portal.people import person_name
from procedures import calendar
from procedures.models import (
    Dossier,
    DossierCodeCounter,
    DossierDocument,
    DossierEvent,
    Procedure,
    StaffProfile,
)
from procedures.uploads import CheckedUpload

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

# The rule set a dossier is received under (Decree 118/2025 + Circulars 03/2025 and 04/2025).
RULE_VERSION = "ND118-2025/TT03-2025/TT04-2025"
DOSSIER_CODE_RE = re.compile(r"^[A-Y]\d{2}(\.[0-9A-Z]+)*-\d{6}-\d{2}\d{4,}$")
NATIONAL_TOPIC = "national_portal.dossier"


@dataclass(frozen=True)
class ApplicantData:
    """Who applies, as checked by the view (identity fields come from the verified profile)."""

    name: str
    national_id: str
    address: str
    phone: str
    email: str


def _new_reference() -> str:
    # Human-friendly and unguessable enough to quote on the phone; uniqueness is enforced by the DB.
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    stamp = timezone.localdate().strftime("%y%m%d")
    return f"TN{stamp}-" + "".join(secrets.choice(alphabet) for _ in range(6))


def dossier_submit(
    *,
    procedure: Procedure,
    applicant_user: AbstractBaseUser,
    applicant: ApplicantData,
    request_summary: str,
    upload: CheckedUpload,
    document_title: str,
) -> Dossier:
    """Create a submitted online dossier with its document; return it with its reference."""
    if not procedure.can_apply_online:
        raise ApplicationError(_("This procedure is not open for online applications."))
    from procedures.catalogue import procedure_version_freeze

    # Pin the dossier to the configuration the applicant saw (a new version only if it changed; no
    # lock in the usual case, and never held while the document is stored).
    version = procedure_version_freeze(procedure=procedure)
    for attempt in range(5):
        try:
            with transaction.atomic():
                dossier = Dossier.objects.create(
                    reference=_new_reference(),
                    procedure=procedure,
                    procedure_version=version,
                    agency=procedure.agency,
                    applicant=applicant_user,
                    applicant_name=applicant.name,
                    applicant_national_id=applicant.national_id,
                    applicant_national_id_hash=pii_hash(applicant.national_id),
                    applicant_address=applicant.address,
                    applicant_phone=applicant.phone,
                    applicant_email=applicant.email,
                    request_summary=request_summary,
                )
                document = DossierDocument(
                    dossier=dossier,
                    title=document_title,
                    original_name=upload.name,
                    content_type=upload.content_type,
                    size=upload.size,
                    sha256=upload.sha256,
                )
                document.file.save(upload.name, upload.file, save=True)
                DossierEvent.objects.create(
                    dossier=dossier,
                    kind=DossierEvent.Kind.SUBMITTED,
                    to_state=dossier.state,
                    actor=applicant_user,
                    data={"reference": dossier.reference, "document_sha256": upload.sha256},
                )
                audit_record(
                    action="dossier.submit",
                    actor=applicant_user,
                    obj=dossier,
                    data={"reference": dossier.reference, "procedure": procedure.code, "version": version.number},
                )
                return dossier
        except IntegrityError:
            if attempt == 4:  # five reference collisions in a row means something else is wrong
                raise
    raise AssertionError("unreachable")


def _dossier_code_issue(*, agency_code: str, received_at) -> str:
    """Return the next code MX1X2.Y1Y2Y3.Z1Z2-YYMMDD-AAXXXX for the agency and local day (row-locked)."""
    day = timezone.localtime(received_at).date()
    DossierCodeCounter.objects.get_or_create(agency_code=agency_code, day=day)
    counter = DossierCodeCounter.objects.select_for_update().get(agency_code=agency_code, day=day)
    counter.last += 1
    counter.save(update_fields=["last"])
    sequence = str(counter.last).zfill(settings.DOSSIER_CODE_MIN_SEQUENCE_DIGITS)
    code = f"{agency_code}-{day:%y%m%d}-{settings.DOSSIER_CODE_OWNER_DIGITS}{sequence}"
    if not DOSSIER_CODE_RE.match(code):
        raise ApplicationError(_("The agency's electronic identifier does not give a valid dossier code."))
    return code


def _staff_profile(user: AbstractBaseUser) -> StaffProfile:
    profile = getattr(user, "staff_profile", None)
    if profile is None:
        raise ApplicationError(_("Only staff of the one-stop unit can do this."), status=403)
    return profile


def _national_payload(dossier: Dossier, *, actor: AbstractBaseUser, note: str) -> dict:
    def iso(value):
        return timezone.localtime(value).isoformat() if value else None

    profile = getattr(actor, "staff_profile", None)
    return {
        "dossier_code": dossier.code,
        "procedure_code": dossier.procedure.code,
        "procedure_name": dossier.procedure.name,
        "sector_code": dossier.procedure.sector_code,
        "sector_name": dossier.procedure.sector,
        "applicant_name": dossier.applicant_name,
        "applicant_kind": "citizen",
        "applicant_id": dossier.applicant_national_id,
        "applicant_email": dossier.applicant_email,
        "applicant_phone": dossier.applicant_phone,
        "summary": dossier.request_summary[:500],
        "agency_name": dossier.agency.name,
        "status": dossier.national_status,
        "changed_at": iso(timezone.now()),
        "received_at": iso(dossier.received_at),
        "due_at": iso(dossier.due_at),
        "returned_at": None,
        "actor_name": person_name(actor),
        "actor_title": profile.title if profile else "",
        "department": profile.agency.name if profile else "",
        "note": note,
    }


def dossier_receive(*, dossier_id: int, actor: AbstractBaseUser) -> Dossier:
    """Receive an online dossier: issue its code and due date, record it, queue the slip and the sync."""
    with transaction.atomic():
        profile = _staff_profile(actor)
        dossier = (
            Dossier.objects.select_for_update(of=("self",))
            .select_related("procedure", "agency", "procedure_version")
            .filter(pk=dossier_id, agency_id=profile.agency_id)
            .first()
        )
        if dossier is None:
            raise ApplicationError(_("Dossier not found."), status=404)
        if profile.role not in {StaffProfile.Role.RECEPTION_CLERK, StaffProfile.Role.ADMINISTRATOR}:
            raise ApplicationError(_("Only a reception clerk can receive dossiers."), status=403)
        if not can_proceed(dossier.receive):
            raise ApplicationError(
                _("Dossier %(code)s has already been received.") % {"code": dossier.code or dossier.reference}
            )
        version = dossier.procedure_version
        time_limit_days = version.time_limit_days if version is not None else dossier.procedure.time_limit_days
        if time_limit_days is None:
            raise ApplicationError(_("The time limit of this procedure is not configured; the due date cannot be set."))
        now = timezone.now()
        from_state = dossier.state
        code = _dossier_code_issue(agency_code=dossier.agency.code, received_at=now)
        dossier.receive(
            code=code,
            at=now,
            by=actor,
            due_at=calendar.due_at(received_at=now, working_days=time_limit_days),
            rule_version=RULE_VERSION,
        )
        dossier.save()
        event = DossierEvent.objects.create(
            dossier=dossier,
            kind=DossierEvent.Kind.RECEIVED,
            from_state=from_state,
            to_state=dossier.state,
            actor=actor,
            at=now,
            data={"code": code, "due_at": dossier.due_at.isoformat()},
        )
        audit_record(action="dossier.receive", actor=actor, obj=dossier, data={"code": code, "from": from_state})
        outbox_enqueue(
            topic=NATIONAL_TOPIC,
            key=code,
            payload=_national_payload(dossier, actor=actor, note=_("Dossier received")),
            event_id=f"event-{event.pk}",
        )
        dossier_pk = dossier.pk

        def _render() -> None:
            from procedures.tasks import dossier_render_receipt_task

            try:
                dossier_render_receipt_task.delay(dossier_pk)
            except Exception:  # broker down: the slip is rendered on first download instead
                logger.warning("could not queue receipt rendering for dossier %s", dossier_pk)

        transaction.on_commit(_render)
    return dossier
