"""Background work of the applicant portal: re-verify online dossiers submitted while the gateway was down."""

from __future__ import annotations

import logging

from celery import shared_task

logger = logging.getLogger("citizens.tasks")

REVERIFY_ACTOR = "system:online-reverify"
REVERIFY_PURPOSE = (
    "Re-verification of an online applicant's identity submitted while the population database was unavailable"
)


def online_identity_reverify(*, limit: int = 200) -> dict[str, int]:
    """Verify again the online dossiers marked unverified (procedures.identity.identity_reverify), with the
    name and birth date of the signed-in account (an organisation's legal representative)."""
    from procedures.identity import identity_reverify
    from procedures.models import Dossier

    pending = (
        Dossier.objects.filter(
            identity_status=Dossier.IdentityStatus.UNVERIFIED,
            channel=Dossier.Channel.ONLINE,
            draft__isnull=False,
        )
        .select_related("applicant__citizen_profile", "applicant__organisation_profile")
        .order_by("submitted_at", "pk")[:limit]
    )

    def subject(dossier: Dossier) -> tuple[Dossier, str, str]:
        citizen = getattr(dossier.applicant, "citizen_profile", None)
        organisation = getattr(dossier.applicant, "organisation_profile", None)
        if organisation is not None:
            name, birth = organisation.representative_name, organisation.representative_birth_date
        else:
            name, birth = (citizen.full_name, citizen.birth_date) if citizen else (dossier.applicant_name, None)
        return dossier, name, birth.isoformat() if birth else ""

    counts = identity_reverify(
        list(pending),
        actor=REVERIFY_ACTOR,
        purpose=REVERIFY_PURPOSE,
        audit_action="citizens.identity_reverified",
        subject=subject,
    )
    logger.info("online identity re-verification: %s", counts)
    return counts


@shared_task(name="citizens.tasks.online_identity_reverify_task", ignore_result=True)
def online_identity_reverify_task() -> dict[str, int]:
    return online_identity_reverify()
