"""Online applications: drafts, per-document uploads, idempotent submission, and what the applicant does after.

Every function is keyword-only; state changes of a dossier go through procedures.lifecycle.dossier_transition.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from citizens.applicant import Applicant, prefill_fields, verified_contacts
from citizens.models import DossierLookupSecret, Draft, DraftDocument, IdentityPrefill
from citizens.payments import supplement_fees_due
from portal.audit import audit_record
from portal.errors import ApplicationError
from portal.uploads import ACCEPTED, CheckedUpload, check_upload, upload_name_clean, upload_quota_problem
from procedures.models import Dossier, DossierDocument, Procedure, ProcedureDocument

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

EXTENSION_TYPES = {ext.lstrip("."): mime for mime, exts in ACCEPTED.items() for ext in exts}


# --- drafts -----------------------------------------------------------------------------------------


def draft_start(*, user: AbstractBaseUser, procedure: Procedure) -> Draft:
    """Return the applicant's open draft for PROCEDURE, or start one."""
    if not procedure.can_apply_online:
        raise ApplicationError(_("This procedure is not open for online applications."))
    draft = Draft.objects.filter(user=user, procedure=procedure, dossier__isnull=True).order_by("-updated_at").first()
    if draft is not None:
        return draft
    with transaction.atomic():
        draft = Draft.objects.create(user=user, procedure=procedure, token=secrets.token_hex(16))
        audit_record(action="citizens.draft_started", actor=user, obj=draft, data={"procedure": procedure.code})
    return draft


def draft_get(*, user: AbstractBaseUser, token: str) -> Draft:
    """Return the applicant's own draft or raise a 404 ApplicationError (never another person's)."""
    draft = Draft.objects.select_related("procedure", "dossier").filter(user=user, token=token).first()
    if draft is None:
        raise ApplicationError(_("Draft not found."), status=404)
    return draft


def draft_save(
    *, draft: Draft, data: dict[str, Any] | None = None, principal: dict | None = None, on_behalf: bool | None = None
) -> Draft:
    """Save answers into a draft (merging with what was saved before)."""
    if draft.dossier_id:
        raise ApplicationError(_("This application has already been submitted."), status=409)
    if data is not None:
        draft.data = {**draft.data, **data}
    if principal is not None:
        draft.principal = principal
    if on_behalf is not None:
        draft.on_behalf = on_behalf
    draft.save()
    return draft


def checklist_for(procedure: Procedure) -> list[ProcedureDocument]:
    return list(procedure.documents.order_by("order", "id"))


def accepted_mimes(item: ProcedureDocument | None) -> set[str]:
    if item is None:
        return set(ACCEPTED)
    types = {EXTENSION_TYPES[t.strip().lower()] for t in item.accepted_types.split(",") if t.strip() in EXTENSION_TYPES}
    return types or {"application/pdf"}


def held_data_satisfies(item: ProcedureDocument, prefill: IdentityPrefill | None) -> bool:
    """Whether data already held replaces this document: identity data verified with the population database."""
    return (
        item.replaced_by == ProcedureDocument.ReplacedBy.POPULATION_DB
        and prefill is not None
        and prefill.status == IdentityPrefill.Status.VERIFIED
    )


def held_results(user: AbstractBaseUser):
    """The results issued to USER that the portal keeps (their data store): signed results of their dossiers."""
    from procedures.models import OfficialDocument
    from procedures.selectors import dossier_list_for_applicant

    return (
        OfficialDocument.objects.filter(
            kind=OfficialDocument.Kind.RESULT,
            dossier__in=dossier_list_for_applicant(user=user).filter(
                state__in=[Dossier.State.RESULT_READY, Dossier.State.RETURNED]
            ),
        )
        .select_related("dossier__procedure")
        .order_by("-rendered_at")
    )


def draft_reuse_result(*, draft: Draft, item_order: int, official_id: int) -> DraftDocument:
    """Use a result the applicant already holds for a checklist item that accepts one (no new upload).

    The file is copied into the draft (the dossier stays whole when the older one is archived) after its
    checksum is checked against the one recorded when it was issued; the dossier document is marked reused.
    """
    import hashlib

    if draft.dossier_id:
        raise ApplicationError(_("This application has already been submitted."), status=409)
    item = draft.procedure.documents.filter(order=item_order).first()
    if item is None or item.replaced_by != ProcedureDocument.ReplacedBy.CITIZEN_STORE:
        raise ApplicationError(_("This document cannot be replaced by a result you hold."), status=404)
    official = held_results(draft.user).filter(pk=official_id).first()
    if official is None:
        raise ApplicationError(_("Result not found."), status=404)
    if draft.documents.filter(checklist_item=item_order).count() >= settings.APPLY_MAX_FILES_PER_ITEM:
        raise ApplicationError(
            _("At most %(count)s files for one document; remove one first.")
            % {"count": settings.APPLY_MAX_FILES_PER_ITEM}
        )
    with official.file.open("rb") as handle:
        content = handle.read()
    if hashlib.sha256(content).hexdigest() != official.sha256:
        raise ApplicationError(_("This result cannot be used: its stored copy does not match the one issued."))
    from django.core.files.base import ContentFile

    name = f"{official.dossier.code or official.dossier.reference}-ket-qua.pdf"
    with transaction.atomic():
        document = DraftDocument(
            draft=draft,
            checklist_item=item_order,
            title=item.name[:255],
            original_name=name,
            content_type="application/pdf",
            size=len(content),
            sha256=official.sha256,
            reused_from=official,
        )
        document.file.save(name, ContentFile(content), save=True)
        audit_record(
            action="citizens.result_reused",
            actor=draft.user,
            obj=document,
            data={"official_document": official.pk, "dossier": official.dossier_id, "item": item_order},
        )
    Draft.objects.filter(pk=draft.pk).update(updated_at=timezone.now())
    return document


@dataclass
class UploadProblem:
    name: str
    message: str


def draft_upload(*, draft: Draft, item_order: int, files: list[UploadedFile]) -> tuple[int, list[UploadProblem]]:
    """Check and store FILES for one checklist item (0: the power of attorney); a clear error per rejected file."""
    if draft.dossier_id:
        raise ApplicationError(_("This application has already been submitted."), status=409)
    if item_order == DraftDocument.POWER_OF_ATTORNEY:
        item, title, limit_mb = None, _("Power of attorney"), settings.UPLOAD_MAX_BYTES // (1024 * 1024)
    else:
        item = draft.procedure.documents.filter(order=item_order).first()
        if item is None:
            raise ApplicationError(_("This document is not on the procedure's checklist."), status=404)
        title, limit_mb = item.name, min(item.max_size_mb, settings.UPLOAD_MAX_BYTES // (1024 * 1024))
    problems: list[UploadProblem] = []
    stored = 0
    existing = draft.documents.filter(checklist_item=item_order).count()
    held = [d.size for d in draft.documents.all()]  # the whole draft's count and total size (portal.uploads)
    for upload in files:
        name = str(upload.name or "")[:200]
        if existing + stored >= settings.APPLY_MAX_FILES_PER_ITEM:
            problems.append(
                UploadProblem(
                    name,
                    _("At most %(count)s files for one document; remove one first.")
                    % {"count": settings.APPLY_MAX_FILES_PER_ITEM},
                )
            )
            continue
        if upload.size > limit_mb * 1024 * 1024:
            problems.append(
                UploadProblem(
                    name, _("The file is larger than %(limit)s MB allowed for this document.") % {"limit": limit_mb}
                )
            )
            continue
        try:
            checked = check_upload(upload, accepted=accepted_mimes(item), actor=draft.user)
        except ValidationError as exc:
            problems.append(UploadProblem(name, " ".join(exc.messages)))
            continue
        quota = upload_quota_problem(existing_count=len(held), existing_bytes=sum(held), size=checked.size)
        if quota:
            problems.append(UploadProblem(name, quota))
            continue
        held.append(checked.size)
        with transaction.atomic():
            document = DraftDocument(
                draft=draft,
                checklist_item=item_order,
                title=title[:255],
                original_name=checked.name,
                content_type=checked.content_type,
                size=checked.size,
                sha256=checked.sha256,
                scan_status=checked.scan_status,
            )
            document.file.save(checked.name, checked.file, save=True)
        stored += 1
    if stored:
        Draft.objects.filter(pk=draft.pk).update(updated_at=timezone.now())
    return stored, problems


def draft_remove_document(*, draft: Draft, document_id: int) -> None:
    if draft.dossier_id:
        raise ApplicationError(_("This application has already been submitted."), status=409)
    document = draft.documents.filter(pk=document_id).first()
    if document is None:
        raise ApplicationError(_("Document not found."), status=404)
    document.file.delete(save=False)
    document.delete()


def draft_problems(
    *,
    draft: Draft,
    applicant: Applicant,
    prefill: IdentityPrefill | None,
    documents: list[DraftDocument] | None = None,
    checklist: list[ProcedureDocument] | None = None,
) -> list[str]:
    """What is still missing before the draft can be submitted (empty: ready)."""
    from citizens.forms import schema_answers_problems

    problems = []
    data = draft.data
    user = applicant.user if applicant is not None else draft.user
    verified = verified_contacts(user=user, values={"phone": data.get("phone", ""), "email": data.get("email", "")})
    for key, label in (("phone", _("phone number")), ("address", _("permanent address"))):
        if not data.get(key):
            problems.append(_("Enter your %(what)s.") % {"what": label})
    if not data.get("request_summary"):
        problems.append(_("Say what you request."))
    if data.get("phone") and "phone" not in verified:
        problems.append(_("Confirm your phone number with the code we send."))
    if data.get("email") and "email" not in verified:
        problems.append(_("Confirm your email address with the code we send."))
    problems += schema_answers_problems(draft.procedure.form_schema, data.get("form") or {})
    documents = list(draft.documents.all()) if documents is None else documents
    uploaded = {d.checklist_item for d in documents}
    for item in checklist_for(draft.procedure) if checklist is None else checklist:
        if item.required and item.order not in uploaded and not held_data_satisfies(item, prefill):
            problems.append(_("Upload “%(document)s”.") % {"document": item.name})
    if draft.on_behalf:
        if not (draft.principal.get("name") and draft.principal.get("id_number")):
            problems.append(_("Enter the name and the ID number or tax code of the person you act for."))
        if DraftDocument.POWER_OF_ATTORNEY not in uploaded:
            problems.append(_("Upload the power of attorney."))
    if applicant is None:
        problems.append(_("Only citizens and organisations signed in with VNeID can apply."))
    return problems


# --- submission -------------------------------------------------------------------------------------


def _lookup_secret_for(dossier: Dossier) -> str:
    """The secret printed on the receipt: derived from the reference with a server key, so it needs no storage."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"lookup|{dossier.reference}".encode(), hashlib.sha256).digest()
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
    return "".join(alphabet[b % len(alphabet)] for b in digest[:10])


def lookup_secret_hash(secret: str) -> str:
    return hmac.new(
        settings.PII_HASH_KEY.encode(), f"lookup|{secret.strip().upper()}".encode(), hashlib.sha256
    ).hexdigest()


def public_lookup_secret(*, dossier: Dossier) -> str:
    """Return the look-up secret to print on DOSSIER's receipt (context variable `lookup_secret`).

    Derived from the reference with a server key, so a re-rendered receipt prints the same secret; its keyed
    hash is stored (created here for dossiers that did not come through the online application).
    """
    secret = _lookup_secret_for(dossier)
    DossierLookupSecret.objects.get_or_create(dossier=dossier, defaults={"secret_hash": lookup_secret_hash(secret)})
    return secret


def draft_submit(
    *, draft_token: str, user: AbstractBaseUser, applicant: Applicant, prefill: IdentityPrefill | None
) -> tuple[Dossier, bool]:
    """Submit a draft: exactly one dossier however often it is called. Return (dossier, created)."""
    from procedures.services import ApplicantData, dossier_submit

    with transaction.atomic():
        draft = (
            Draft.objects.select_for_update(of=("self",))
            .select_related("procedure__agency", "procedure__current_version")
            .filter(user=user, token=draft_token)
            .first()
        )
        if draft is None:
            raise ApplicationError(_("Draft not found."), status=404)
        if draft.dossier_id:
            return Dossier.objects.get(pk=draft.dossier_id), False
        # The procedure's stages, fees and checklist once, for the checks, the fee timing and the version freeze.
        prefetch_related_objects([draft.procedure], "stages", "fees", "documents")
        documents = list(draft.documents.order_by("checklist_item", "id"))
        checklist = list(draft.procedure.documents.all())  # in checklist order (the model's ordering)
        problems = draft_problems(
            draft=draft, applicant=applicant, prefill=prefill, documents=documents, checklist=checklist
        )
        if problems:
            raise ApplicationError(problems[0], extra={"problems": problems})
        if not documents:
            raise ApplicationError(_("Upload at least one document."))
        data = draft.data
        fields = prefill_fields(prefill)
        identity_status = prefill.status if prefill else IdentityPrefill.Status.UNVERIFIED
        reused = [
            item.order
            for item in checklist
            if held_data_satisfies(item, prefill) and item.order not in {d.checklist_item for d in documents}
        ] + sorted({d.checklist_item for d in documents if d.reused_from_id})
        extra: dict[str, Any] = {
            "applicant_kind": applicant.kind,
            "organisation_tax_code": applicant.tax_code,
            "identity_status": {
                IdentityPrefill.Status.VERIFIED: Dossier.IdentityStatus.VERIFIED,
                IdentityPrefill.Status.MISMATCH: Dossier.IdentityStatus.MISMATCH,
            }.get(identity_status, Dossier.IdentityStatus.UNVERIFIED),
            "identity_checked_at": prefill.checked_at if prefill else None,
            "form_data": {
                "answers": data.get("form") or {},
                "current_residence": data.get("current_residence", ""),
                "legal_representative": applicant.person_name if applicant.is_organisation else "",
                "sources": {name: {"source": f["source"], "at": f["at"]} for name, f in fields.items()},
                "reused_checklist_items": reused,
            },
        }
        if draft.on_behalf:
            principal = draft.principal
            poa = [d for d in documents if d.checklist_item == DraftDocument.POWER_OF_ATTORNEY]
            extra.update(
                principal_name=principal.get("name", "")[:200],
                principal_id=principal.get("id_number", ""),
                principal_address=principal.get("address", ""),
                principal_phone=principal.get("phone", "")[:20],
                principal_email=principal.get("email", "")[:254],
                authorisation_document=(poa[0].original_name if poa else "")[:300],
            )
        first = documents[0]
        with first.file.open("rb") as handle:
            dossier = dossier_submit(
                procedure=draft.procedure,
                applicant_user=user,
                applicant=ApplicantData(
                    name=applicant.display_name,
                    national_id=applicant.national_id,
                    address=data.get("address", ""),
                    phone=data.get("phone", ""),
                    email=data.get("email", ""),
                ),
                request_summary=data.get("request_summary", ""),
                upload=CheckedUpload(
                    file=UploadedFile(handle, name=first.original_name, size=first.size),
                    name=first.original_name,
                    content_type=first.content_type,
                    size=first.size,
                    sha256=first.sha256,
                    scan_status=first.scan_status,
                ),
                document_title=first.title,
                dossier_fields=extra,  # written with the dossier row (no second UPDATE)
                document_fields={
                    "checklist_item": first.checklist_item,
                    "source": DossierDocument.Source.REUSED if first.reused_from_id else DossierDocument.Source.UPLOAD,
                },
            )
        for document in documents[1:]:
            with document.file.open("rb") as handle:
                copy = DossierDocument(
                    dossier=dossier,
                    title=document.title,
                    original_name=document.original_name,
                    content_type=document.content_type,
                    size=document.size,
                    sha256=document.sha256,
                    checklist_item=document.checklist_item,
                    source=DossierDocument.Source.REUSED if document.reused_from_id else DossierDocument.Source.UPLOAD,
                    scan_status=document.scan_status,
                )
                copy.file.save(document.original_name, handle, save=True)
        Draft.objects.filter(pk=draft.pk).update(dossier=dossier, updated_at=timezone.now())
        # One audit record for the submission: dossier_submit's "dossier.submit", in this same transaction; the
        # draft row now points at the dossier, and the fields set here are on the dossier itself.
    return dossier, True


# --- after submitting ---------------------------------------------------------------------------------


def supplement_answer(*, dossier: Dossier, user: AbstractBaseUser, files: list[UploadedFile], note: str) -> Dossier:
    """Answer a supplement request: store the files (source=supplement) and make the transition, in one go."""
    from procedures.lifecycle import dossier_transition

    if dossier.state != Dossier.State.SUPPLEMENT_REQUESTED:
        raise ApplicationError(_("No supplement is requested for this dossier now."), status=409)
    if supplement_fees_due(dossier):
        raise ApplicationError(_("Pay the fee due at supplement first; then send the documents asked for."), status=409)
    checked = []
    problems = []
    held = list(dossier.documents.values_list("size", flat=True))  # the dossier's count and total (portal.uploads)
    for upload in files:
        try:
            one = check_upload(upload, actor=user)
        except ValidationError as exc:
            problems.append(f"{upload_name_clean(upload.name)}: {' '.join(exc.messages)}")
            continue
        quota = upload_quota_problem(existing_count=len(held), existing_bytes=sum(held), size=one.size)
        if quota:
            problems.append(f"{one.name}: {quota}")
            continue
        held.append(one.size)
        checked.append(one)
    if problems:
        raise ApplicationError("; ".join(problems), extra={"field": "files"})
    if not checked and not note.strip():
        raise ApplicationError(_("Upload the documents asked for, or write a note."), extra={"field": "files"})
    with transaction.atomic():
        ids = []
        for upload in checked:
            document = DossierDocument(
                dossier=dossier,
                title=_("Supplement"),
                original_name=upload.name,
                content_type=upload.content_type,
                size=upload.size,
                sha256=upload.sha256,
                source=DossierDocument.Source.SUPPLEMENT,
                scan_status=upload.scan_status,
            )
            document.file.save(upload.name, upload.file, save=True)
            ids.append(document.pk)
        return dossier_transition(
            dossier_id=dossier.pk, action="supplement", actor=user, reason=note.strip()[:2000], documents=ids
        )


def dossier_withdraw(*, dossier: Dossier, user: AbstractBaseUser, reason: str) -> Dossier:
    from procedures.lifecycle import dossier_transition

    return dossier_transition(dossier_id=dossier.pk, action="withdraw", actor=user, reason=reason.strip()[:2000])


def dossier_rate(*, dossier: Dossier, user: AbstractBaseUser, score: int, comment: str):
    """Rate how the dossier was handled, once the result is returned (one portal rating per dossier)."""
    from procedures.models_national import DossierRating

    if dossier.state != Dossier.State.RETURNED:
        raise ApplicationError(_("You can rate the service once the result has been returned."), status=409)
    if score not in DossierRating.Score.values:
        raise ApplicationError(_("Choose a rating."), extra={"field": "score"})
    with transaction.atomic():
        rating, created = DossierRating.objects.update_or_create(
            dossier=dossier,
            source=DossierRating.Source.PORTAL,
            defaults={"score": score, "comment": comment.strip()[:2000], "rated_at": timezone.now(), "rated_by": user},
        )
        audit_record(
            action="citizens.dossier_rated", actor=user, obj=dossier, data={"score": score, "created": created}
        )
    return rating
