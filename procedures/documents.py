"""Official slips and the signed result: rendered once after commit (WeasyPrint), numbered, kept with a checksum.

The slips are the forms of Circular 03/2025/TT-VPCP Annex I (domain.md §1.7.2; the legacy Circular
01/2018 set for dossiers received under the old rule version): receipt and appointment (01),
supplement request (02), refusal (03), apology and new appointment (04), stop notice (05, designed
from Art. 7: see docs/official-forms.md) and the process-control slip (06, generated from the
DossierStep hand-overs). The form number, suffixes and unit come from the dossier's RuleVersion; the
number format per rule version is the setting OFFICIAL_SLIP_NUMBER_FORMATS. Each slip carries the
dossier code and a QR code to the public verification page.

Idempotency: one row per (dossier, kind, sequence) (unique constraint). Numbering and rendering run
under a PostgreSQL advisory lock per (agency, kind, year), so a second worker waits and then finds
the slip the first one stored; an IntegrityError (another path got there first) keeps theirs.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import io
import logging
import secrets
import zlib
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from portal.people import person_name
from portal.signing import SigningError
from procedures.models import Dossier, DossierEvent, DossierStep, OfficialDocument, Procedure, RuleVersion

logger = logging.getLogger(__name__)

K = OfficialDocument.Kind
E = DossierEvent.Kind

# Template of each slip (one per kind; the form's number and name come from the rule version).
TEMPLATES = {
    K.RECEIPT: "pdf/receipt_form01.html",
    K.SUPPLEMENT_REQUEST: "pdf/supplement_request_form02.html",
    K.REFUSAL: "pdf/refusal_form03.html",
    K.APOLOGY: "pdf/apology_form04.html",
    K.STOP_NOTICE: "pdf/stop_notice_form05.html",
    K.CONTROL_SLIP: "pdf/control_slip_form06.html",
}
RESULT_TEMPLATE = "pdf/result.html"
RESULT_DENIAL_TEMPLATE = "pdf/result_denial.html"
TEMPLATE_REVISION = "r2"
# Kept for callers of the first version (the receipt of issue 1).
RECEIPT_TEMPLATE = TEMPLATES[K.RECEIPT]
RECEIPT_TEMPLATE_VERSION = "TT03-2025/BM01"

# Legal basis printed under the form number, per rule version (the RuleVersion's legal_basis otherwise).
FORM_BASIS = {
    "ND61-2018/TT01-2018": gettext_lazy("Circular 01/2018/TT-VPCP"),
    "ND118-2025/TT03-2025/TT04-2025": gettext_lazy("Annex I, Circular 03/2025/TT-VPCP"),
}
# Which slip an event calls for; stop notices are recognised by the state the event leads to.
EVENT_SLIPS = {
    E.RECEIVED: K.RECEIPT,
    E.SUPPLEMENT_REQUESTED: K.SUPPLEMENT_REQUEST,
    E.REFUSED: K.REFUSAL,
    E.EXTENDED: K.APOLOGY,
    E.ISSUED: K.RESULT,
}
FILE_NAMES = {
    K.RECEIPT: "giay-tiep-nhan",
    K.SUPPLEMENT_REQUEST: "phieu-yeu-cau-bo-sung",
    K.REFUSAL: "phieu-tu-choi",
    K.APOLOGY: "van-ban-xin-loi",
    K.STOP_NOTICE: "thong-bao-dung",
    K.CONTROL_SLIP: "phieu-kiem-soat",
    K.RESULT: "ket-qua",
}


class SlipNotDue(Exception):
    """The dossier has no event that calls for this slip (e.g. a refusal slip of a received dossier)."""


# --- helpers -----------------------------------------------------------------------------------


def render_pdf(template: str, context: dict) -> bytes:
    """Return the PDF bytes of TEMPLATE rendered with CONTEXT (Vietnamese, declared fonts)."""
    from weasyprint import HTML  # imported here: the site boots without Pango, only PDFs need it

    with translation.override("vi"):
        html = render_to_string(template, context)
    return HTML(string=html, base_url=None).write_pdf()


def verify_url(token: str) -> str:
    return settings.SITE_URL.rstrip("/") + reverse("documents:verify", args=[token])


def qr_data_uri(text: str) -> str:
    """An SVG QR code of TEXT as a data URI (vector: no font, no raster)."""
    import qrcode
    import qrcode.image.svg

    image = qrcode.make(text, image_factory=qrcode.image.svg.SvgPathImage, box_size=10, border=2)
    out = io.BytesIO()
    image.save(out)
    return "data:image/svg+xml;base64," + base64.b64encode(out.getvalue()).decode("ascii")


def _rule_of(dossier: Dossier, day: dt.date) -> RuleVersion:
    rule = RuleVersion.objects.filter(code=dossier.rule_version).first() if dossier.rule_version else None
    return rule or RuleVersion.in_force(day)


def _local(value):
    return timezone.localtime(value) if value else None


def _numbering_agency(dossier: Dossier, kind: str):
    """Reception forms are numbered by the receiving unit; the others by the deciding agency."""
    if kind in (K.RECEIPT, K.SUPPLEMENT_REQUEST, K.REFUSAL) and dossier.received_by_agency_id:
        return dossier.received_by_agency
    return dossier.agency


def number_format(rule: RuleVersion, kind: str) -> str:
    """The number format of KIND under RULE: the setting per rule version, else "{sequence}/{suffix}-{unit}"."""
    formats = settings.OFFICIAL_SLIP_NUMBER_FORMATS.get(rule.code, {})
    if kind in formats:
        return formats[kind]
    return "{sequence}/{suffix}-{unit}" if rule.form_suffixes.get(kind) else "{sequence}/{unit}"


def _advisory_lock(*parts) -> None:
    """Serialise numbering of one series (PostgreSQL; SQLite transactions are serialised already)."""
    if connection.vendor != "postgresql":
        return
    key = zlib.crc32(":".join(str(p) for p in parts).encode()) - 2**31
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [0x51B5, key])


def _year_bounds(day: dt.date) -> tuple[dt.datetime, dt.datetime]:
    tz = timezone.get_current_timezone()
    return (dt.datetime(day.year, 1, 1, tzinfo=tz), dt.datetime(day.year + 1, 1, 1, tzinfo=tz))


def _number_issue(*, dossier: Dossier, kind: str, rule: RuleVersion, issued_on: dt.date) -> str:
    """The next number of KIND in the agency's series of the year (call under the series lock)."""
    fmt = number_format(rule, kind)
    agency = _numbering_agency(dossier, kind)
    values = {
        "suffix": rule.form_suffixes.get(kind, ""),
        "unit": rule.unit_suffix,
        "code": dossier.code or dossier.reference,
        "year": issued_on.year,
        "agency": agency.code,
    }
    if "{sequence}" not in fmt:
        return fmt.format(sequence="", **values)
    tail = fmt.split("{sequence}", 1)[1].format(sequence="", **values)
    start, end = _year_bounds(issued_on)
    if kind in (K.RECEIPT, K.SUPPLEMENT_REQUEST, K.REFUSAL):
        series = Q(dossier__received_by_agency=agency) | Q(
            dossier__received_by_agency__isnull=True, dossier__agency=agency
        )
    else:
        series = Q(dossier__agency=agency)
    used = (
        OfficialDocument.objects.filter(series, kind=kind, event__at__gte=start, event__at__lt=end)
        .filter(number__endswith=tail)
        .values("number")
        .distinct()
        .count()
    )
    return fmt.format(sequence=used + 1, **values)


def tracking_book_entry(dossier: Dossier) -> tuple[str, int]:
    """(book, entry) of the dossier in the electronic tracking book (procedures/tracking_book.py).

    One book per sector and year, as the tracking book export numbers it: the dossiers the receiving
    agency decided or received, of the same sector, in order of reception.
    """
    received = _local(dossier.received_at)
    procedure = dossier.procedure
    label = procedure.sector_code or procedure.sector or procedure.code
    book = settings.OFFICIAL_SLIP_TRACKING_BOOK_FORMAT.format(sector=label, year=received.year)
    start, end = _year_bounds(received.date())
    agency_id = dossier.received_by_agency_id or dossier.agency_id
    same_book = Dossier.objects.filter(
        Q(agency_id=agency_id) | Q(received_by_agency_id=agency_id),
        procedure__sector=procedure.sector,
        received_at__gte=start,
        received_at__lt=end,
    )
    entry = (
        same_book.filter(received_at__lt=dossier.received_at).count()
        + same_book.filter(received_at=dossier.received_at, pk__lte=dossier.pk).count()
    )
    return book, entry


def _appointment_at_receipt(dossier: Dossier, event: DossierEvent):
    """The return appointment given at reception (later pauses or extensions do not change the receipt)."""
    from procedures import clock

    try:
        state = clock.clock_compute_for(dossier, ledger=clock.ledger_of([event]), now=event.at)
    except ValueError:
        return dossier.original_due_at or dossier.due_at
    return state.due or dossier.original_due_at or dossier.due_at


def _events_of(dossier: Dossier, kind: str) -> list[DossierEvent]:
    events = dossier.events.select_related("actor").order_by("at", "id")
    if kind == K.STOP_NOTICE:
        return [e for e in events.filter(to_state=Dossier.State.STOPPED) if e.from_state != Dossier.State.STOPPED]
    wanted = [k for k, v in EVENT_SLIPS.items() if v == kind]
    return list(events.filter(kind__in=wanted))


def slip_kind_for_event(event: DossierEvent) -> str | None:
    if event.to_state == Dossier.State.STOPPED and event.from_state != Dossier.State.STOPPED:
        return K.STOP_NOTICE
    return EVENT_SLIPS.get(event.kind)


def control_slip_revision(dossier: Dossier) -> int:
    """The revision of the process-control slip: it grows with every hand-over opened or closed."""
    steps = dossier.steps.all()
    return steps.count() + steps.filter(finished_at__isnull=False).count()


# --- contexts ----------------------------------------------------------------------------------


def _common_context(dossier, kind, rule, event, number, token) -> dict:
    url = verify_url(token)
    return {
        "dossier": dossier,
        "kind": kind,
        "rule": rule,
        "form_number": rule.form_number(kind),
        "form_name": (rule.form_names or {}).get(kind, ""),
        "form_basis": FORM_BASIS.get(rule.code, rule.legal_basis),
        "number": number,
        "issued_local": _local(event.at) if event else timezone.localtime(),
        "place": settings.OFFICIAL_SLIP_PLACE,
        "unit_agency": _numbering_agency(dossier, kind),
        "qr": qr_data_uri(url),
        "verify_url": url,
        "dossier_label": dossier.code or dossier.reference,
        "signer_name": person_name(event.actor) if event and event.actor_id else "",
        "signer_title": getattr(getattr(event.actor, "staff_profile", None), "title", "") if event else "",
    }


def _slip_context(dossier: Dossier, kind: str, event: DossierEvent | None) -> dict:
    if kind == K.RECEIPT:
        from citizens.apply import public_lookup_secret

        book, entry = tracking_book_entry(dossier)
        return {
            "lookup_secret": public_lookup_secret(dossier=dossier),
            "documents": list(dossier.documents.all()),
            "received_local": _local(dossier.received_at),
            "due_local": _local(_appointment_at_receipt(dossier, event)),
            "clerk_name": person_name(dossier.received_by) if dossier.received_by_id else "",
            "book": book,
            "book_entry": entry,
            "return_channels": dossier.procedure.return_channels,
            "now_local": _local(event.at),
        }
    if kind == K.SUPPLEMENT_REQUEST:
        items = (event.data or {}).get("items") or list(dossier.supplement_items or [])
        return {"items": items, "note": event.reason}
    if kind == K.REFUSAL:
        return {"reasons": dossier.refusal_reason or event.reason}
    if kind == K.APOLOGY:
        previous = (event.data or {}).get("previous_due")
        return {
            "received_local": _local(dossier.received_at),
            "previous_due_local": _local(dt.datetime.fromisoformat(previous)) if previous else None,
            "new_due_local": _local(event.clock_new_due),
            "reason": event.reason,
        }
    if kind == K.STOP_NOTICE:
        return {
            "received_local": _local(dossier.received_at),
            "at_applicant_request": event.kind == E.WITHDRAWN,
            "request_local": _local(event.at),
            "reason": dossier.stop_reason or event.reason,
        }
    if kind == K.CONTROL_SLIP:
        rows = []
        for step in dossier.steps.select_related("handler", "given_by").order_by("started_at", "id"):
            rows.append(
                {
                    "step": step,
                    "unit": step.unit_name,
                    "stage": step.stage_name,
                    "given_by": person_name(step.given_by) if step.given_by_id else "",
                    "handler": person_name(step.handler) if step.handler_id else "",
                    "started_local": _local(step.started_at),
                    "due_local": _local(step.due_at),
                    "finished_local": _local(step.finished_at),
                    "outcome": DossierStep.Outcome(step.outcome).label if step.outcome else "",  # lazy: PDF language
                }
            )
        return {
            "rows": rows,
            "received_local": _local(dossier.received_at),
            "due_local": _local(dossier.due_at),
        }
    raise ValueError(kind)


# --- the slips ---------------------------------------------------------------------------------


def official_document_get_or_render(
    *, dossier_id: int, kind: str, sequence: int | None = None, event_id: int | None = None
) -> OfficialDocument:
    """Return the slip KIND (SEQUENCE-th of its kind) of the dossier, rendering and storing it the first time.

    Without SEQUENCE: the first slip of its kind; for the control slip, the current revision of the
    hand-over log. Raises SlipNotDue when no event of the dossier calls for the slip.
    """
    if kind == K.RESULT:
        return dossier_result_get_or_render(dossier_id=dossier_id)
    if kind not in TEMPLATES:
        raise SlipNotDue(kind)
    if kind == K.CONTROL_SLIP and sequence is None:
        dossier = Dossier.objects.get(pk=dossier_id)
        sequence = control_slip_revision(dossier)
        if sequence == 0:
            raise SlipNotDue(kind)
    sequence = sequence or 1
    existing = OfficialDocument.objects.filter(dossier_id=dossier_id, kind=kind, sequence=sequence).first()
    if existing is not None:
        return existing
    dossier = Dossier.objects.select_related(
        "procedure", "agency", "received_by_agency", "received_by", "consulted_agency"
    ).get(pk=dossier_id)
    if kind == K.CONTROL_SLIP:
        if sequence != control_slip_revision(dossier):
            raise SlipNotDue(kind)  # an older revision that was never rendered cannot be rebuilt faithfully
        event = dossier.events.select_related("actor").order_by("-at", "-id").first()
    elif event_id is not None:
        event = DossierEvent.objects.select_related("actor").get(pk=event_id, dossier_id=dossier_id)
    else:
        events = _events_of(dossier, kind)
        if len(events) < sequence:
            raise SlipNotDue(kind)
        event = events[sequence - 1]
    issued_on = timezone.localtime(event.at).date()
    rule = _rule_of(dossier, issued_on)
    with transaction.atomic():
        _advisory_lock(_numbering_agency(dossier, kind).pk, kind, issued_on.year)
        existing = OfficialDocument.objects.filter(dossier_id=dossier_id, kind=kind, sequence=sequence).first()
        if existing is not None:
            return existing
        if kind == K.CONTROL_SLIP and sequence > 1:
            first = OfficialDocument.objects.filter(dossier_id=dossier_id, kind=kind).order_by("sequence").first()
            number = (
                first.number if first else _number_issue(dossier=dossier, kind=kind, rule=rule, issued_on=issued_on)
            )
        else:
            number = _number_issue(dossier=dossier, kind=kind, rule=rule, issued_on=issued_on)
        token = secrets.token_urlsafe(32)
        context = _common_context(dossier, kind, rule, event, number, token)
        context.update(_slip_context(dossier, kind, event))
        pdf = render_pdf(TEMPLATES[kind], context)
        document = OfficialDocument(
            dossier=dossier,
            kind=kind,
            sequence=sequence,
            event=event,
            number=number,
            template_version=f"{rule.code}:{rule.form_number(kind) or kind}:{TEMPLATE_REVISION}"[:60],
            sha256=hashlib.sha256(pdf).hexdigest(),
            verify_token=token,
        )
        name = f"{dossier.code or dossier.reference}-{FILE_NAMES[kind]}-{sequence}.pdf"
        try:
            with transaction.atomic():
                document.file.save(name, ContentFile(pdf), save=True)
        except IntegrityError:  # another worker stored it first: keep theirs
            document.file.delete(save=False)
            return OfficialDocument.objects.get(dossier_id=dossier_id, kind=kind, sequence=sequence)
    return document


def dossier_receipt_get_or_render(*, dossier_id: int) -> OfficialDocument:
    """Return the receipt slip of a received dossier, rendering and storing it the first time."""
    existing = OfficialDocument.objects.filter(dossier_id=dossier_id, kind=K.RECEIPT).order_by("sequence").first()
    if existing is not None:
        return existing
    if not Dossier.objects.filter(pk=dossier_id, code__isnull=False).exists():
        raise ValueError("a receipt exists only for a received dossier")
    return official_document_get_or_render(dossier_id=dossier_id, kind=K.RECEIPT)


# --- the signed result -------------------------------------------------------------------------


def _result_context(dossier: Dossier, token: str) -> dict:
    procedure = dossier.procedure
    kind_label = Procedure.ResultKind(procedure.result_kind).label if procedure.result_kind else ""
    signer = dossier.result_signed_by
    profile = getattr(signer, "staff_profile", None) if signer else None
    url = verify_url(token)
    return {
        "dossier": dossier,
        "number": dossier.result_number,
        "result_title": procedure.result_name or kind_label,
        "denied": dossier.decision == Dossier.Decision.DENIED,
        "issued_local": _local(dossier.result_issued_at),
        "signed_local": _local(dossier.result_signed_at),
        "signer_name": person_name(signer) if signer else "",
        "signer_title": profile.title if profile else "",
        "place": settings.OFFICIAL_SLIP_PLACE,
        "qr": qr_data_uri(url),
        "verify_url": url,
        "dossier_label": dossier.code or dossier.reference,
    }


def dossier_result_get_or_render(*, dossier_id: int) -> OfficialDocument:
    """Render, sign (PAdES, the agency's key) and store the result of an issued dossier, once.

    The result is kept as OfficialDocument kind=result and on the dossier (result_file and
    result_sha256, written with a queryset update: the protected state field is never touched).
    Raises SlipNotDue before the records clerk has numbered the result; SigningError or
    ImproperlyConfigured when no signer is available.
    """
    from portal.signing import get_signer

    existing = OfficialDocument.objects.filter(dossier_id=dossier_id, kind=K.RESULT).first()
    if existing is not None:
        return existing
    dossier = Dossier.objects.select_related("procedure", "agency", "result_signed_by").get(pk=dossier_id)
    if not dossier.result_number or dossier.result_issued_at is None:
        raise SlipNotDue(K.RESULT)
    event = dossier.events.filter(kind=E.ISSUED).order_by("-at", "-id").first()
    issued_on = timezone.localtime(dossier.result_issued_at).date()
    with transaction.atomic():
        _advisory_lock(dossier.agency_id, K.RESULT, issued_on.year)
        existing = OfficialDocument.objects.filter(dossier_id=dossier_id, kind=K.RESULT).first()
        if existing is not None:
            return existing
        token = secrets.token_urlsafe(32)
        template = RESULT_DENIAL_TEMPLATE if dossier.decision == Dossier.Decision.DENIED else RESULT_TEMPLATE
        pdf = render_pdf(template, _result_context(dossier, token))
        with translation.override("vi"):
            reason = _("Result of dossier %(code)s, number %(number)s") % {
                "code": dossier.code,
                "number": dossier.result_number,
            }
        signed = get_signer().sign_pdf(pdf, field_name="KetQua", reason=reason, location=settings.OFFICIAL_SLIP_PLACE)
        digest = hashlib.sha256(signed).hexdigest()
        document = OfficialDocument(
            dossier=dossier,
            kind=K.RESULT,
            sequence=1,
            event=event,
            number=dossier.result_number,
            template_version=f"{template.rsplit('/', 1)[-1]}:{TEMPLATE_REVISION}",
            sha256=digest,
            verify_token=token,
        )
        try:
            with transaction.atomic():
                document.file.save(f"{dossier.code}-{FILE_NAMES[K.RESULT]}.pdf", ContentFile(signed), save=True)
                Dossier.objects.filter(pk=dossier.pk).update(result_file=document.file.name, result_sha256=digest)
        except IntegrityError:
            document.file.delete(save=False)
            return OfficialDocument.objects.get(dossier_id=dossier_id, kind=K.RESULT)
    return document


# --- after each transition ---------------------------------------------------------------------


def official_documents_for_event(*, event_id: int) -> list[OfficialDocument]:
    """Render the slips a dossier event calls for (idempotent: an existing slip is kept).

    The process-control slip is not rendered per event: it is built from the hand-over log when
    someone asks for it (a stored revision per state of the log; see docs/decisions/0026).
    """
    event = DossierEvent.objects.select_related("dossier").get(pk=event_id)
    kind = slip_kind_for_event(event)
    if kind is None:
        return []
    if kind == K.RESULT:
        try:
            return [dossier_result_get_or_render(dossier_id=event.dossier_id)]
        except (ImproperlyConfigured, SigningError) as exc:
            # No usable signing key here: the notification still goes; the result is signed on first download.
            logger.error("result of dossier %s not signed: %s", event.dossier_id, exc)
            return []
    sequence = 1
    if kind == K.SUPPLEMENT_REQUEST:
        sequence = (
            DossierEvent.objects.filter(dossier_id=event.dossier_id, kind=E.SUPPLEMENT_REQUESTED)
            .filter(at__lte=event.at)
            .exclude(at=event.at, id__gt=event.pk)
            .count()
        )
    return [
        official_document_get_or_render(dossier_id=event.dossier_id, kind=kind, sequence=sequence, event_id=event.pk)
    ]


# --- what the public verification page shows ---------------------------------------------------


@dataclass(frozen=True)
class PublicVerification:
    kind_label: str
    kind: str
    number: str
    dossier_code: str
    agency_name: str
    issued_on: dt.date
    checksum_matches: bool
    signature_valid: bool | None  # None: a slip, not signed
    signer: str
    is_latest: bool


def trusted_certificates() -> list[bytes]:
    """The agency certificates a signed result is checked against (the current signer's, plus extra PEM files)."""
    from portal.signing import get_signer

    pems = []
    try:
        pems.append(get_signer().certificate_pem())
    except Exception:  # no signer configured here: only the extra certificates
        logger.warning("no document signer configured; results are checked against extra certificates only")
    for path in settings.DOCUMENT_SIGNING_EXTRA_TRUSTED_PEM:
        try:
            with open(path, "rb") as handle:
                pems.append(handle.read())
        except OSError:
            logger.warning("trusted certificate file %s cannot be read", path)
    return pems


def public_verification(*, token: str) -> PublicVerification | None:
    """What the QR page may show: kind, number, dossier code, agency, issue date, integrity; no personal data."""
    from portal.signing import verify_pdf

    if not token or len(token) > 64:
        return None
    document = (
        OfficialDocument.objects.select_related("dossier__agency", "dossier__received_by_agency", "event")
        .filter(verify_token=token)
        .first()
    )
    if document is None:
        return None
    try:
        with document.file.open("rb") as handle:
            pdf = handle.read()
    except OSError:
        pdf = b""
    matches = bool(pdf) and hashlib.sha256(pdf).hexdigest() == document.sha256
    valid, signer = None, ""
    if document.kind == K.RESULT:
        outcome = verify_pdf(pdf, trusted_certificates_pem=trusted_certificates())
        valid, signer = outcome.ok and matches, outcome.signer
    is_latest = True
    if document.kind == K.CONTROL_SLIP:
        is_latest = not OfficialDocument.objects.filter(
            dossier_id=document.dossier_id, kind=K.CONTROL_SLIP, sequence__gt=document.sequence
        ).exists()
    dossier = document.dossier
    if document.kind == K.RESULT and dossier.result_issued_at:
        issued = dossier.result_issued_at
    else:
        issued = document.event.at if document.event_id else document.rendered_at
    return PublicVerification(
        kind_label=str(document.get_kind_display()),
        kind=document.kind,
        number=document.number,
        dossier_code=dossier.code or dossier.reference,
        agency_name=_numbering_agency(dossier, document.kind).name,
        issued_on=timezone.localtime(issued).date(),
        checksum_matches=matches,
        signature_valid=valid,
        signer=signer,
        is_latest=is_latest,
    )


def documents_available(dossier: Dossier) -> list[dict]:
    """The slips and result the dossier has (rendered or due), for download links."""
    items = []
    for kind in (K.RECEIPT, K.SUPPLEMENT_REQUEST, K.REFUSAL, K.APOLOGY, K.STOP_NOTICE):
        for index, _event in enumerate(_events_of(dossier, kind), start=1):
            items.append({"kind": kind, "label": K(kind).label, "sequence": index})
    if DossierStep.objects.filter(dossier=dossier).exists():
        items.append({"kind": K.CONTROL_SLIP, "label": K.CONTROL_SLIP.label, "sequence": None})
    if dossier.result_number and dossier.result_issued_at:
        items.append({"kind": K.RESULT, "label": K.RESULT.label, "sequence": None})
    return items


def official_documents_missing_render(*, since: dt.datetime, limit: int = 500) -> int:
    """Render the slips of events since SINCE that have none yet (the follow-up was lost); return how many.

    Meant for a periodic job (the broker was down when a transition committed); idempotent.
    """
    slip_events = (
        DossierEvent.objects.filter(at__gte=since)
        .filter(Q(kind__in=list(EVENT_SLIPS)) | Q(to_state=Dossier.State.STOPPED))
        .exclude(from_state=Dossier.State.STOPPED)
        .exclude(pk__in=OfficialDocument.objects.filter(event__isnull=False).values("event_id"))
        .order_by("at", "id")
        .values_list("pk", flat=True)[:limit]
    )
    rendered = 0
    for event_id in list(slip_events):
        rendered += len(official_documents_for_event(event_id=event_id))
    return rendered
