"""Verifying again, with the population database, the identities it could not check at submission or at the
counter (the gateway was down). One loop for every channel; each caller says which dossiers, whose identity
(name and date of birth) and what else to record."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from portal.audit import audit_record
from procedures.models import Dossier

UNVERIFIED = Dossier.IdentityStatus.UNVERIFIED


def identity_reverify(
    candidates: Iterable[Any],
    *,
    actor: str,
    purpose: str,
    audit_action: str,
    subject: Callable[[Any], tuple[Dossier, str, str]],
    after: Callable[[Any, Any, str, Any], None] | None = None,
    on_unavailable: Callable[[Any], None] | None = None,
) -> dict[str, int]:
    """Ask the gateway about each candidate; stop at the first "unavailable" answer (still down: no use
    hammering it). SUBJECT(candidate) gives (dossier, full name, birth date as ISO text or ""). Each answered
    dossier still unverified gets its status by a guarded queryset update with an audit record; AFTER(candidate,
    outcome, status, now) runs in the same transaction."""
    from integrations.gateway import UNAVAILABLE, VERIFIED, Caller, gateway_verify

    counts = {"verified": 0, "mismatch": 0, "unavailable": 0}
    for candidate in candidates:
        dossier, full_name, birth_date = subject(candidate)
        outcome = gateway_verify(
            caller=Caller(
                system="portal", acting_user=actor, purpose=purpose, dossier_code=dossier.code or dossier.reference
            ),
            personal_id=dossier.applicant_national_id,
            full_name=full_name,
            birth_date=birth_date,
        )
        if outcome.status == UNAVAILABLE:
            if on_unavailable is not None:
                on_unavailable(candidate)
            counts["unavailable"] += 1
            break
        new = Dossier.IdentityStatus.VERIFIED if outcome.status == VERIFIED else Dossier.IdentityStatus.MISMATCH
        now = timezone.now()
        with transaction.atomic():
            changed = Dossier.objects.filter(pk=dossier.pk, identity_status=UNVERIFIED).update(
                identity_status=new, identity_checked_at=now, updated_at=now
            )
            if after is not None:
                after(candidate, outcome, new, now)
            if changed:
                verdict = dataclasses.asdict(outcome.verdict) if outcome.verdict else {}
                audit_record(
                    action=audit_action,
                    obj=dossier,
                    data={
                        "from": UNVERIFIED,
                        "to": new,
                        "gateway_status": outcome.status,
                        "gateway_request": outcome.request_id,
                        "category": verdict.get("category", ""),
                    },
                )
                counts["verified" if new == Dossier.IdentityStatus.VERIFIED else "mismatch"] += 1
    return counts
