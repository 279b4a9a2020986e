"""Reads: a facility's documents, a citizen's documents, reports, the public verification."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import lru_cache

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet
from django.utils import timezone

from facilities.models import Facility, FacilityAlert, HealthDocument
from portal.crypto import pii_hash


def documents_for_facility(*, facility: Facility, kind: str = "", status: str = "") -> QuerySet[HealthDocument]:
    documents = HealthDocument.objects.filter(facility=facility).select_related("facility", "supersedes")
    if kind:
        documents = documents.filter(kind=kind)
    if status == "superseded":
        documents = documents.filter(is_current=False)
    elif status:
        documents = documents.filter(delivery_status=status, is_current=True)
    return documents.order_by("-issued_at", "-id")


def documents_for_citizen(*, national_id_hash: str) -> QuerySet[HealthDocument]:
    """The documents in which the citizen is the mother, the intended mother or the declaring relative."""
    if not national_id_hash:
        return HealthDocument.objects.none()
    return (
        HealthDocument.objects.filter(Q(holder_hash=national_id_hash) | Q(second_holder_hash=national_id_hash))
        .select_related("facility")
        .order_by("-issued_at", "-id")
    )


def citizen_owns(*, document: HealthDocument, national_id: str) -> bool:
    digest = pii_hash(national_id)
    return digest in (document.holder_hash, document.second_holder_hash)


def open_alerts(*, facility: Facility | None = None) -> QuerySet[FacilityAlert]:
    alerts = FacilityAlert.objects.filter(resolved_at__isnull=True).select_related("document", "facility")
    return alerts.filter(facility=facility) if facility is not None else alerts


@dataclass(frozen=True)
class FacilityReport:
    facility: Facility
    start: dt.date
    end: dt.date
    issued_birth: int
    issued_death: int
    reissued: int
    corrected: int
    delivered: int
    delivered_on_time: int
    acknowledged: int
    acknowledged_late: int
    alerts: int


def facility_report(
    *, facility: Facility, start: dt.date, end: dt.date, now: dt.datetime | None = None
) -> FacilityReport:
    """Counts for documents issued between START and END (inclusive, local dates)."""
    now = now or timezone.now()
    tz = timezone.get_current_timezone()
    begin = dt.datetime.combine(start, dt.time.min, tzinfo=tz)
    finish = dt.datetime.combine(end + dt.timedelta(days=1), dt.time.min, tzinfo=tz)
    ack_alarm = FacilityAlert.objects.filter(document=OuterRef("pk"), kind=FacilityAlert.Kind.ACK_LATE)
    documents = HealthDocument.objects.filter(facility=facility, issued_at__gte=begin, issued_at__lt=finish).annotate(
        ack_alarm=Exists(ack_alarm)
    )
    counts = documents.aggregate(
        birth=Count("id", filter=Q(kind=HealthDocument.Kind.BIRTH, revision=1)),
        death=Count("id", filter=Q(kind=HealthDocument.Kind.DEATH, revision=1)),
        reissued=Count("id", filter=Q(revision__gt=1)),
        corrected=Count("id", filter=Q(revision__gt=1, reissue_reason=HealthDocument.ReissueReason.ERROR)),
        delivered=Count("id", filter=Q(sent_at__isnull=False)),
        on_time=Count("id", filter=Q(sent_at__isnull=False, sent_at__lte=F("sync_due_at"))),
        acknowledged=Count("id", filter=Q(acknowledged_at__isnull=False)),
        ack_late=Count(
            "id",
            filter=Q(acknowledged_at__isnull=False, acknowledged_at__gt=F("ack_due_at"))
            | Q(acknowledged_at__isnull=False, ack_alarm=True)
            | Q(acknowledged_at__isnull=True, ack_due_at__lt=now),
        ),
    )
    alerts = FacilityAlert.objects.filter(facility=facility, raised_at__gte=begin, raised_at__lt=finish).count()
    return FacilityReport(
        facility=facility,
        start=start,
        end=end,
        issued_birth=counts["birth"],
        issued_death=counts["death"],
        reissued=counts["reissued"],
        corrected=counts["corrected"],
        delivered=counts["delivered"],
        delivered_on_time=counts["on_time"],
        acknowledged=counts["acknowledged"],
        acknowledged_late=counts["ack_late"],
        alerts=alerts,
    )


@dataclass(frozen=True)
class PublicVerification:
    kind_label: str
    number: str
    revision: int
    facility_name: str
    facility_code: str
    issued_at: dt.datetime
    is_current: bool
    superseded_at: dt.datetime | None
    signature_valid: bool
    checksum_matches: bool
    signer: str


@lru_cache(maxsize=2048)
def _signature_check(sha256: str, path: str, certificate_pem: str) -> tuple[bool, bool, str]:
    import hashlib

    from django.core.files.storage import default_storage

    from portal.signing import verify_pdf

    with default_storage.open(path, "rb") as handle:
        pdf = handle.read()
    matches = hashlib.sha256(pdf).hexdigest() == sha256
    if not certificate_pem:
        return False, matches, ""
    result = verify_pdf(pdf, trusted_certificates_pem=[certificate_pem.encode()])
    return result.ok, matches, result.signer


def public_verification(*, token: str) -> PublicVerification | None:
    """What the QR page shows about a document: no personal data."""
    document = HealthDocument.objects.select_related("facility").filter(verify_token=token).first() if token else None
    if document is None or not document.pdf:
        return None
    successor = HealthDocument.objects.filter(supersedes=document).values_list("issued_at", flat=True).first()
    valid, matches, signer = _signature_check(document.sha256, document.pdf.name, document.facility.certificate_pem)
    return PublicVerification(
        kind_label=str(document.get_kind_display()),
        number=document.number,
        revision=document.revision,
        facility_name=document.facility.name,
        facility_code=document.facility.code,
        issued_at=document.issued_at,
        is_current=document.is_current,
        superseded_at=successor,
        signature_valid=valid and matches,
        checksum_matches=matches,
        signer=signer,
    )
