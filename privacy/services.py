"""Data-subject requests: create, answer, withdraw a consent, export one's data (keyword-only services)."""

from __future__ import annotations

import io
import json
import zipfile
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.audit import audit_record
from portal.errors import ApplicationError
from privacy.models import PrivacyRequest

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

# Kinds a data subject files through the form; access is served at once by the export, a consent
# withdrawal by its own button (it takes effect immediately).
FORM_KINDS = (
    PrivacyRequest.Kind.CORRECTION,
    PrivacyRequest.Kind.DELETION,
    PrivacyRequest.Kind.RESTRICTION,
    PrivacyRequest.Kind.OBJECTION,
)


def privacy_request_create(*, subject: AbstractBaseUser, kind: str, details: str = "") -> PrivacyRequest:
    """File a request; it is due PRIVACY_REQUEST_DEADLINE_HOURS later and answered by staff in the admin."""
    if kind not in FORM_KINDS:
        raise ApplicationError(_("Choose what you are asking for."), extra={"field": "kind"})
    details = details.strip()
    if not details:
        raise ApplicationError(_("Describe your request."), extra={"field": "details"})
    with transaction.atomic():
        row = PrivacyRequest.objects.create(subject=subject, kind=kind, details=details)
        audit_record(action="privacy.request_filed", actor=subject, obj=row, data={"kind": kind})
    return row


def privacy_request_answer(*, request_id: int, actor: AbstractBaseUser, status: str, answer: str) -> PrivacyRequest:
    """Staff close a request with an answer (refusals need reasons too)."""
    if status not in PrivacyRequest.Status.values:
        raise ApplicationError(_("Unknown status."), extra={"field": "status"})
    if status in PrivacyRequest.CLOSED and not answer.strip():
        raise ApplicationError(_("Write the answer to the data subject."), extra={"field": "answer"})
    with transaction.atomic():
        row = PrivacyRequest.objects.select_for_update().get(pk=request_id)
        if row.is_closed:
            raise ApplicationError(_("This request is already closed."), status=409)
        before = row.status
        row.status = status
        row.answer = answer.strip()
        if status in PrivacyRequest.CLOSED:
            row.answered_at = timezone.now()
            row.answered_by = actor
        row.save(update_fields=["status", "answer", "answered_at", "answered_by"])
        audit_record(
            action="privacy.request_answered" if row.is_closed else "privacy.request_updated",
            actor=actor,
            obj=row,
            data={"from": before, "to": status, "overdue": row.is_overdue},
        )
    return row


def consent_withdrawal(*, subject: AbstractBaseUser, reference: str) -> PrivacyRequest:
    """Withdraw a consent now (Law 91/2025 Art. 9, 10) and keep the request on record, already answered.

    The data fetched under the consent is deleted by the citizens app's own withdrawal service.
    """
    from citizens.applicant import consent_withdraw
    from citizens.models import Consent

    with transaction.atomic():
        consent = Consent.objects.select_for_update().filter(user=subject, reference=reference).first()
        if consent is None:
            raise ApplicationError(_("No such consent."), status=404)
        if consent.withdrawn_at is not None:
            raise ApplicationError(_("This consent was already withdrawn."), status=409)
        consent_withdraw(user=subject)
        now = timezone.now()
        row = PrivacyRequest.objects.create(
            subject=subject,
            kind=PrivacyRequest.Kind.CONSENT_WITHDRAWAL,
            consent=consent,
            details=consent.reference,
            status=PrivacyRequest.Status.ANSWERED,
            received_at=now,
            answered_at=now,
            answer=_("Your consent was withdrawn at once; the data obtained under it was deleted."),
        )
        audit_record(action="privacy.consent_withdrawn", actor=subject, obj=row, data={"consent": consent.pk})
    return row


# --- export ------------------------------------------------------------------------------------------


def _iso(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


def subject_data(*, subject: AbstractBaseUser) -> dict[str, Any]:
    """Everything the portal holds about the signed-in person, as plain JSON-ready data."""
    from citizens.models import CitizenProfile, Consent, OrganisationProfile
    from portal.models import AuditRecord
    from procedures.models import Dossier, DossierDocument

    data: dict[str, Any] = {
        "generated_at": timezone.now().isoformat(),
        "account": {
            "username": subject.get_username(),
            "date_joined": _iso(subject.date_joined),
            "last_login": _iso(subject.last_login),
        },
    }
    profile = CitizenProfile.objects.filter(user=subject).first()
    if profile is not None:
        data["citizen_profile"] = {
            "full_name": profile.full_name,
            "personal_identification_number": profile.national_id,
            "date_of_birth": _iso(profile.birth_date),
            "sex": profile.sex,
            "identification_level": profile.assurance_level,
            "verified_at": _iso(profile.verified_at),
        }
    organisation = OrganisationProfile.objects.filter(user=subject).first()
    if organisation is not None:
        data["organisation_profile"] = {
            "name": organisation.name,
            "tax_code": organisation.tax_code,
            "legal_representative": organisation.representative_name,
            "legal_representative_id_number": organisation.representative_national_id,
            "legal_representative_date_of_birth": _iso(organisation.representative_birth_date),
            "verified_at": _iso(organisation.verified_at),
        }
    data["consents"] = [
        {
            "reference": c.reference,
            "purpose": c.purpose,
            "text_version": c.text_version,
            "text": c.text,
            "channel": c.channel,
            "given_at": _iso(c.given_at),
            "withdrawn_at": _iso(c.withdrawn_at),
        }
        for c in Consent.objects.filter(user=subject).order_by("given_at")
    ]
    dossiers = list(Dossier.objects.filter(applicant=subject).select_related("procedure").order_by("submitted_at"))
    documents: dict[int, list[dict[str, Any]]] = {}
    for doc in DossierDocument.objects.filter(dossier__in=dossiers).order_by("id"):
        documents.setdefault(doc.dossier_id, []).append(
            {
                "title": doc.title,
                "file_name": doc.original_name,
                "content_type": doc.content_type,
                "size": doc.size,
                "sha256": doc.sha256,
                "uploaded_at": _iso(doc.uploaded_at),
            }
        )
    data["dossiers"] = [
        {
            "reference": d.reference,
            "code": d.code,
            "procedure": {"code": d.procedure.code, "name": d.procedure.name},
            "state": d.state,
            "channel": d.channel,
            "applicant_name": d.applicant_name,
            "form_data": d.form_data,
            "submitted_at": _iso(d.submitted_at),
            "due_at": _iso(d.due_at),
            "finished_at": _iso(d.finished_at),
            "documents": documents.get(d.pk, []),
        }
        for d in dossiers
    ]
    # Who did what with this person's account and dossiers, reads included (the audit trail).
    dossier_ids = [str(d.pk) for d in dossiers]
    records = AuditRecord.objects.filter(object_type="procedures.dossier", object_id__in=dossier_ids) | (
        AuditRecord.objects.filter(object_type__in=["auth.user", "citizens.citizenprofile"], object_id=str(subject.pk))
    )
    data["audit"] = [
        {
            "at": _iso(r.at),
            "action": r.action,
            "by": r.actor_label,
            "object": f"{r.object_type}:{r.object_id}",
            "reason": r.reason,
        }
        for r in records.order_by("at", "id")[:5000]
    ]
    data["privacy_requests"] = [
        {
            "reference": r.reference,
            "kind": r.kind,
            "status": r.status,
            "received_at": _iso(r.received_at),
            "due_at": _iso(r.due_at),
            "answered_at": _iso(r.answered_at),
            "answer": r.answer,
        }
        for r in PrivacyRequest.objects.filter(subject=subject).order_by("received_at")
    ]
    return data


def subject_export(*, subject: AbstractBaseUser) -> tuple[PrivacyRequest, bytes]:
    """Build the ZIP (data.json) of the subject's data; the access request is recorded as answered at once."""
    with transaction.atomic():
        now = timezone.now()
        row = PrivacyRequest.objects.create(
            subject=subject,
            kind=PrivacyRequest.Kind.ACCESS,
            status=PrivacyRequest.Status.ANSWERED,
            received_at=now,
            answered_at=now,
            answer=_("Your data was exported and downloaded."),
        )
        data = subject_data(subject=subject)
        audit_record(
            action="privacy.export",
            actor=subject,
            obj=row,
            data={"dossiers": len(data["dossiers"]), "audit_records": len(data["audit"])},
        )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("data.json", json.dumps(data, ensure_ascii=False, indent=2, default=str))
        archive.writestr(
            "README.txt",
            _(
                "Your personal data held by the portal, exported on your request (Law 91/2025/QH15). "
                "data.json lists your account, identity, consents, dossiers with their documents, "
                "who handled or read them, and your requests."
            ),
        )
    return row, buffer.getvalue()
