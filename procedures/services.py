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
from typing import TYPE_CHECKING, Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit import audit_record
from portal.crypto import pii_hash
from portal.errors import ApplicationError
from portal.media_orphans import media_file_discard
from portal.uploads import CheckedUpload
from procedures.models import (
    Dossier,
    DossierDocument,
    DossierEvent,
    Procedure,
    ProcedureFee,
)

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

logger = logging.getLogger(__name__)

DOSSIER_CODE_RE = re.compile(r"^[A-Y]\d{2}(\.[0-9A-Z]+)*-\d{6}-\d{2}\d{4,}$")


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


def fee_due_before_reception(procedure: Procedure) -> bool:
    """Whether an online dossier must be paid for before the one-stop receives it (national status 6)."""
    today = timezone.localdate()
    return any(
        fee.amount_vnd
        and fee.timing in (ProcedureFee.Timing.ONLINE_BEFORE_SUBMISSION, ProcedureFee.Timing.AT_RECEIPT)
        and fee.is_effective_on(today)
        for fee in procedure.fees.all()
    )


def dossier_submit(
    *,
    procedure: Procedure,
    applicant_user: AbstractBaseUser,
    applicant: ApplicantData,
    request_summary: str,
    upload: CheckedUpload,
    document_title: str,
    dossier_fields: dict[str, Any] | None = None,
    document_fields: dict[str, Any] | None = None,
) -> Dossier:
    """Create a submitted online dossier with its document; return it with its reference.

    DOSSIER_FIELDS and DOCUMENT_FIELDS: more fields of the two rows, written with them (no second UPDATE).
    """
    if not procedure.can_apply_online:
        raise ApplicationError(_("This procedure is not open for online applications."))
    from procedures.catalogue import procedure_version_freeze

    # Pin the dossier to the configuration the applicant saw (a new version only if it changed; no
    # lock in the usual case, and never held while the document is stored).
    version = procedure_version_freeze(procedure=procedure)
    fee_first = fee_due_before_reception(procedure)
    for attempt in range(5):
        document = None
        reached_commit = False
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
                    **({"state": Dossier.State.FEE_DUE, "resume_state": Dossier.State.SUBMITTED} if fee_first else {}),
                    **(dossier_fields or {}),
                )
                document = DossierDocument(
                    dossier=dossier,
                    title=document_title,
                    original_name=upload.name,
                    content_type=upload.content_type,
                    size=upload.size,
                    sha256=upload.sha256,
                    scan_status=upload.scan_status,
                    **(document_fields or {}),
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
                reached_commit = True
            return dossier
        except BaseException as exc:
            # The file is stored before COMMIT. A failure before COMMIT (the database went away, a collision)
            # rolled everything back, so the file goes too; a failure of COMMIT itself leaves the outcome
            # unknown, so the file stays, and `manage.py media_orphans` removes it if no row came of it
            # (security.md T36: no file without its row, no row without its file).
            if document is not None and document.file.name and not reached_commit:
                media_file_discard(document.file.name)
            if not isinstance(exc, IntegrityError) or attempt == 4:
                raise  # five reference collisions in a row means something else is wrong
    raise AssertionError("unreachable")


def dossier_receive(*, dossier_id: int, actor: AbstractBaseUser) -> Dossier:
    """Receive an online dossier: issue its code and due date, record it, queue the slip and the sync."""
    from procedures.lifecycle import dossier_transition

    return dossier_transition(dossier_id=dossier_id, action="receive", actor=actor)
