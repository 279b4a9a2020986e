"""Background work of the applicant portal: re-verify online dossiers submitted while the gateway was down."""

from __future__ import annotations

import logging

from celery import shared_task
from django.db import transaction
from django.utils import timezone

from portal.audit import audit_record

logger = logging.getLogger("citizens.tasks")

REVERIFY_ACTOR = "system:online-reverify"
REVERIFY_PURPOSE = (
    "Re-verification of an online applicant's identity submitted while the population database was unavailable"
)


def online_identity_reverify(*, limit: int = 200) -> dict[str, int]:
    """Verify again the online dossiers marked unverified; stop at the first "unavailable" answer.

    (Counter dossiers are re-verified by procedures.counter.counter_identity_reverify; both use the gateway.)
    """
    from integrations.gateway import UNAVAILABLE, VERIFIED, Caller, gateway_verify
    from procedures.models import Dossier

    counts = {"verified": 0, "mismatch": 0, "unavailable": 0}
    pending = list(
        Dossier.objects.filter(
            identity_status=Dossier.IdentityStatus.UNVERIFIED,
            channel=Dossier.Channel.ONLINE,
            draft__isnull=False,
        )
        .select_related("applicant__citizen_profile", "applicant__organisation_profile")
        .order_by("submitted_at", "pk")[:limit]
    )
    for dossier in pending:
        user = dossier.applicant
        citizen = getattr(user, "citizen_profile", None)
        organisation = getattr(user, "organisation_profile", None)
        if organisation is not None:
            name, birth = organisation.representative_name, organisation.representative_birth_date
        else:
            name, birth = (citizen.full_name, citizen.birth_date) if citizen else (dossier.applicant_name, None)
        outcome = gateway_verify(
            caller=Caller(
                system="portal",
                acting_user=REVERIFY_ACTOR,
                purpose=REVERIFY_PURPOSE,
                dossier_code=dossier.code or dossier.reference,
            ),
            personal_id=dossier.applicant_national_id,
            full_name=name,
            birth_date=birth.isoformat() if birth else "",
        )
        if outcome.status == UNAVAILABLE:
            counts["unavailable"] += 1
            break
        status = Dossier.IdentityStatus.VERIFIED if outcome.status == VERIFIED else Dossier.IdentityStatus.MISMATCH
        with transaction.atomic():
            Dossier.objects.filter(pk=dossier.pk, identity_status=Dossier.IdentityStatus.UNVERIFIED).update(
                identity_status=status, identity_checked_at=timezone.now()
            )
            audit_record(
                action="citizens.identity_reverified",
                obj=dossier,
                data={"status": status, "gateway": outcome.status, "request_id": outcome.request_id},
            )
        counts["verified" if status == Dossier.IdentityStatus.VERIFIED else "mismatch"] += 1
    logger.info("online identity re-verification: %s", counts)
    return counts


@shared_task(name="citizens.tasks.online_identity_reverify_task", ignore_result=True)
def online_identity_reverify_task() -> dict[str, int]:
    return online_identity_reverify()
