"""Reads of the catalogue and of dossiers, scoped to who asks; reads of personal data are audited."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404

from portal.audit import audit_record
from procedures.models import Agency, Dossier, Procedure, StaffProfile

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser


def procedure_list_published() -> QuerySet[Procedure]:
    """Return published procedures, by code."""
    return Procedure.objects.filter(is_published=True).select_related("agency").order_by("code")


def procedure_get_published(*, pk: int) -> Procedure:
    try:
        return procedure_list_published().get(pk=pk)
    except Procedure.DoesNotExist as exc:
        raise Http404 from exc


def dossier_list_for_applicant(*, user: AbstractBaseUser) -> QuerySet[Dossier]:
    """Return the dossiers this account applied for, newest first."""
    return Dossier.objects.filter(applicant=user).select_related("procedure").order_by("-submitted_at")


def dossier_get_for_applicant(*, user: AbstractBaseUser, reference: str) -> Dossier:
    """Return the applicant's own dossier, or 404 (never reveal that another person's exists)."""
    dossier = dossier_list_for_applicant(user=user).select_related("agency").filter(reference=reference).first()
    if dossier is None:
        raise Http404
    return dossier


def staff_profile_for(*, user: AbstractBaseUser) -> StaffProfile | None:
    return getattr(user, "staff_profile", None) if user.is_authenticated else None


def dossier_list_for_staff(*, profile: StaffProfile, states: Iterable[str] | None = None) -> QuerySet[Dossier]:
    """Return the dossiers the staff member's agency decides, oldest submission first."""
    qs = Dossier.objects.filter(agency_id=profile.agency_id).select_related("procedure")
    if states:
        qs = qs.filter(state__in=list(states))
    return qs.order_by("submitted_at")


def dossier_get_for_staff(*, profile: StaffProfile, pk: int) -> Dossier:
    dossier = dossier_list_for_staff(profile=profile).select_related("agency", "received_by").filter(pk=pk).first()
    if dossier is None:
        raise Http404
    return dossier


def personal_data_read(*, actor: AbstractBaseUser, dossiers: Iterable[Dossier], purpose: str) -> None:
    """Record that ACTOR was shown the personal data of DOSSIERS (one record per page or dossier)."""
    ids = [d.pk for d in dossiers]
    if not ids:
        return
    with transaction.atomic():
        audit_record(
            action="personal_data.read",
            actor=actor,
            object_type="procedures.dossier",
            object_id=str(ids[0]) if len(ids) == 1 else "",
            data={"dossiers": ids, "purpose": purpose},
        )


# --- Catalogue search ----------------------------------------------------------------------------


def procedure_search(
    *,
    q: str = "",
    sector: str = "",
    agency: str = "",
    service_level: str = "",
    applicant_type: str = "",
) -> QuerySet[Procedure]:
    """Published procedures matching every word of Q (case, diacritics and đ ignored) and the filters.

    Each word is a substring test on the normalised `search_text` column, which a trigram GIN
    index serves on PostgreSQL.
    """
    from procedures.text import search_normalise

    qs = procedure_list_published()
    for word in search_normalise(q).split()[:8]:
        qs = qs.filter(search_text__contains=word)
    if sector:
        qs = qs.filter(sector=sector)
    if agency:
        qs = qs.filter(agency__code=agency)
    if service_level:
        qs = qs.filter(service_level=service_level)
    if applicant_type in (Procedure.ApplicantType.CITIZEN, Procedure.ApplicantType.ORGANISATION):
        qs = qs.filter(applicant_type__in=[applicant_type, Procedure.ApplicantType.BOTH])
    return qs


def procedure_facets() -> dict[str, list]:
    """The sectors and agencies that have published procedures, for the filter menus."""
    published = Procedure.objects.filter(is_published=True)
    sectors = list(published.exclude(sector="").values_list("sector", flat=True).distinct().order_by("sector"))
    agencies = list(
        Agency.objects.filter(procedure__is_published=True).distinct().order_by("name").values("code", "name")
    )
    return {"sectors": sectors, "agencies": agencies}


def procedure_get_published_detail(*, pk: int) -> Procedure:
    """A published procedure with its stages, fees and checklist loaded."""
    qs = procedure_list_published().prefetch_related("stages", "fees", "documents")
    try:
        return qs.get(pk=pk)
    except Procedure.DoesNotExist as exc:
        raise Http404 from exc
