"""Feedback and recommendations, the public look-up by code and secret, and who read the applicant's data."""

from __future__ import annotations

import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from citizens.apply import lookup_secret_hash
from citizens.models import DossierLookupSecret, Feedback
from integrations.gateway_models import GatewayMessage
from portal.audit import audit_record
from portal.crypto import pii_hash
from portal.errors import ApplicationError
from procedures.models import Dossier, Procedure

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def feedback_send(
    *,
    user: AbstractBaseUser,
    kind: str,
    subject: str,
    body: str,
    dossier: Dossier | None = None,
    procedure: Procedure | None = None,
) -> Feedback:
    """Record feedback or a recommendation about one of the user's dossiers or a service; set the answer due date."""
    from procedures.clock import add_working_days_at, agency_calendar

    if kind not in Feedback.Kind.values:
        raise ApplicationError(_("Choose feedback or a recommendation."), extra={"field": "kind"})
    if not subject.strip() or not body.strip():
        raise ApplicationError(_("Write a subject and the content."), extra={"field": "body"})
    if dossier is None and procedure is None:
        raise ApplicationError(_("Choose the dossier or the service it is about."), extra={"field": "about"})
    if dossier is not None and dossier.applicant_id != user.pk:
        raise ApplicationError(_("Dossier not found."), status=404)
    procedure = dossier.procedure if dossier is not None else procedure
    agency = dossier.agency if dossier is not None else procedure.agency
    now = timezone.now()
    due = add_working_days_at(agency_calendar(agency), now, settings.FEEDBACK_ANSWER_WORKING_DAYS)
    with transaction.atomic():
        feedback = Feedback.objects.create(
            user=user,
            kind=kind,
            dossier=dossier,
            procedure=procedure,
            agency=agency,
            subject=subject.strip()[:200],
            body=body.strip()[:5000],
            due_at=due,
        )
        audit_record(action="citizens.feedback_sent", actor=user, obj=feedback, data={"kind": kind})
    return feedback


def feedback_answer(*, feedback_id: int, staff: AbstractBaseUser, answer: str) -> Feedback:
    """Staff of the agency concerned answer feedback (once; a later answer replaces it, audited)."""
    profile = getattr(staff, "staff_profile", None)
    if not answer.strip():
        raise ApplicationError(_("Write the answer."), extra={"field": "answer"})
    with transaction.atomic():
        feedback = Feedback.objects.select_for_update().filter(pk=feedback_id).first()
        if feedback is None or (
            not staff.is_superuser and (profile is None or profile.agency_id != feedback.agency_id)
        ):
            raise ApplicationError(_("Feedback not found."), status=404)
        feedback.answer = answer.strip()
        feedback.answered_by = staff
        feedback.answered_at = timezone.now()
        feedback.status = Feedback.Status.ANSWERED
        feedback.save(update_fields=["answer", "answered_by", "answered_at", "status"])
        audit_record(action="citizens.feedback_answered", actor=staff, obj=feedback)
    return feedback


def public_lookup(*, code: str, secret: str) -> Dossier | None:
    """Return the dossier with this code (or submission reference) whose receipt secret matches; else None."""
    code, secret = (code or "").strip()[:64], (secret or "").strip()[:40]
    if not code or not secret:
        return None
    dossier = (
        Dossier.objects.select_related("procedure", "agency").filter(Q(code=code) | Q(reference=code.upper())).first()
    )
    expected = DossierLookupSecret.objects.filter(dossier=dossier).values_list("secret_hash", flat=True).first()
    if dossier is None or expected is None or not hmac.compare_digest(expected, lookup_secret_hash(secret)):
        return None
    return dossier


@dataclass(frozen=True)
class DataRead:
    at: datetime
    who: str
    what: str
    purpose: str


def personal_data_reads(*, user: AbstractBaseUser, national_id: str, limit: int = 200) -> list[DataRead]:
    """Who read the applicant's personal data: the gateway's message log and the audit trail."""
    from django.contrib.auth import get_user_model

    from portal.models import AuditRecord

    reads: list[DataRead] = []
    for message in GatewayMessage.objects.filter(subject_hash=pii_hash(national_id)).order_by("-at")[:limit]:
        reads.append(
            DataRead(
                at=message.at,
                who=_("%(system)s, for account %(user)s") % {"system": message.caller, "user": message.acting_user},
                what=_("Population database: %(operation)s (%(outcome)s)")
                % {"operation": message.operation, "outcome": message.outcome},
                purpose=message.purpose,
            )
        )
    ids = [str(pk) for pk in Dossier.objects.filter(applicant=user).values_list("pk", flat=True)]
    if ids:
        many = Q()
        for pk in ids[:100]:
            many |= Q(object_id="", data__dossiers__contains=[int(pk)])
        records = (
            AuditRecord.objects.filter(action="personal_data.read", object_type="procedures.dossier")
            .filter(Q(object_id__in=ids) | many)
            .order_by("-at")[:limit]
        )
        wanted = {int(i) for i in ids}
        names = {}
        for record in records:
            dossiers = set((record.data or {}).get("dossiers") or ([int(record.object_id)] if record.object_id else []))
            if not dossiers & wanted:
                continue
            if record.actor_id == user.pk:
                who = _("You")
            else:
                if record.actor_id not in names:
                    actor = get_user_model().objects.filter(pk=record.actor_id).first()
                    names[record.actor_id] = (
                        f"{actor.last_name} {actor.first_name}".strip() or actor.get_username() if actor else "system"
                    )
                who = names[record.actor_id]
            reads.append(
                DataRead(
                    at=record.at, who=who, what=_("Your dossier"), purpose=str((record.data or {}).get("purpose", ""))
                )
            )
            if len(reads) >= limit * 2:
                break
    reads.sort(key=lambda r: r.at, reverse=True)
    return reads[:limit]
