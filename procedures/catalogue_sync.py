"""Keep the catalogue in step with the national TTHC database (LayDanhSachTTHC / LayThuTuc).

The national record owns the master data (models_national.NATIONAL_FIELDS: name, level, sector,
sector code, deciding agency, legal basis, time limit, fees, checklist documents). Everything else
is local and survives a sync untouched: the form schema, processing stages, cut-off, supplement
rule, service level, English names, publication, and any master-data field an administrator named
in the procedure's NationalCatalogueLink.local_overrides. Absent national information never erases
local knowledge (a record without fees leaves the fees as they are).

Each procedure is written in its own transaction with its audit record, so one bad record fails
alone. A published procedure whose configuration changed gets a new frozen ProcedureVersion
(catalogue.procedure_version_freeze). Every run is a CatalogueSyncRun with its report
(created / updated / unchanged / failed, each with reasons) and an audit record; two runs never
overlap (a unique constraint on the running row).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import logging
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import DatabaseError, IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from integrations.national_portal import get_national_portal
from integrations.national_portal.base import NationalPortalError
from portal.audit import audit_record
from portal.errors import ApplicationError
from procedures import catalogue
from procedures.models import Agency, Procedure, ProcedureDocument, ProcedureFee
from procedures.models_national import NATIONAL_FIELDS, CatalogueSyncRun, NationalCatalogueLink

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

    from integrations.national_portal.base import NationalPortal
    from integrations.national_portal.catalogue import NationalProcedure

logger = logging.getLogger("procedures.catalogue_sync")

CREATED, UPDATED, UNCHANGED, FAILED = "created", "updated", "unchanged", "failed"
# Parts of illustrative_parts that follow the national record (the rest are local marks).
NATIONAL_ILLUSTRATIVE_PARTS = {"sector", "documents", "time_limit"}
NATIONAL_SOURCE = "Cơ sở dữ liệu quốc gia về thủ tục hành chính (LayThuTuc)"


@dataclass
class SyncItem:
    """One line of the report."""

    code: str
    outcome: str
    reason: str = ""
    changed: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    version: int | None = None


# --- the master data as comparable values --------------------------------------------------------


def _fees(procedure: Procedure) -> list[tuple]:
    if procedure.pk is None:
        return []
    return [(f.name, f.amount_vnd, f.kind) for f in procedure.fees.order_by("id")]


def _documents(procedure: Procedure) -> list[tuple]:
    if procedure.pk is None:
        return []
    return [(d.name, d.copy_type, d.copies, d.required) for d in procedure.documents.order_by("order", "id")]


def _master(procedure: Procedure) -> dict[str, Any]:
    return {
        "name": procedure.name,
        "level": procedure.level,
        "sector": procedure.sector,
        "sector_code": procedure.sector_code,
        "agency": procedure.agency_id,
        "legal_basis": procedure.legal_basis,
        "time_limit": (procedure.time_limit_days, procedure.time_limit_hours, procedure.time_limit_note),
        "fees": (procedure.fees_known, _fees(procedure)),
        "documents": _documents(procedure),
        "illustrative_parts": sorted(procedure.illustrative_parts or []),
    }


def _document_row(doc) -> tuple:
    if doc.originals > 0:
        return (doc.name, ProcedureDocument.CopyType.ORIGINAL, doc.originals, doc.required)
    return (doc.name, ProcedureDocument.CopyType.COPY, max(doc.copies, 1), doc.required)


def _desired(
    current: dict[str, Any], national: NationalProcedure, *, overrides: set[str], warnings: list[str]
) -> dict[str, Any]:
    """Return the master data after applying NATIONAL to CURRENT (LOCAL overrides and gaps kept)."""
    wanted = dict(current)

    def put(name: str, value: Any) -> None:
        if name not in overrides:
            wanted[name] = value

    put("name", national.name)
    if national.level:
        put("level", national.level)
    if national.sector_name:
        put("sector", national.sector_name)
    if national.sector_code:
        put("sector_code", national.sector_code)
    if national.agency_code:
        agency = Agency.objects.filter(code=national.agency_code).first()
        if agency is None:
            warnings.append(
                _(
                    "The deciding agency %(code)s (%(name)s) is not in the agency register; "
                    "the agency was left as it was."
                )
                % {"code": national.agency_code, "name": national.agency_name or "-"}
            )
        else:
            put("agency", agency.pk)
    if national.legal_basis:
        put("legal_basis", national.legal_basis)
    if national.time_limit_days is not None or national.time_limit_hours is not None:
        put("time_limit", (national.time_limit_days, national.time_limit_hours, national.time_limit_note))
    elif national.time_limit_note:
        days, hours, _note = current["time_limit"]
        put("time_limit", (days, hours, national.time_limit_note))
    if national.fees is not None:
        put("fees", (True, [(f.name, f.amount_vnd, f.kind) for f in national.fees]))
    if national.documents is not None:
        put("documents", [_document_row(d) for d in national.documents])
    parts = set(current["illustrative_parts"]) - NATIONAL_ILLUSTRATIVE_PARTS
    # Only a part the sync writes can be marked by the national record.
    parts |= {p for p in national.illustrative_parts if p not in overrides}
    wanted["illustrative_parts"] = sorted(parts)
    return wanted


def _write(procedure: Procedure, wanted: dict[str, Any], *, changed: list[str]) -> None:
    """Write WANTED onto PROCEDURE (locked, inside the caller's transaction)."""
    procedure.name = wanted["name"]
    procedure.level = wanted["level"]
    procedure.sector = wanted["sector"]
    procedure.sector_code = wanted["sector_code"]
    procedure.agency = Agency.objects.get(pk=wanted["agency"]) if wanted["agency"] else None
    procedure.legal_basis = wanted["legal_basis"]
    procedure.time_limit_days, procedure.time_limit_hours, procedure.time_limit_note = wanted["time_limit"]
    procedure.fees_known = wanted["fees"][0]
    procedure.illustrative_parts = wanted["illustrative_parts"]
    procedure.full_clean(exclude=["current_version", "search_text", "code", "agency", "result_template"])
    procedure.save()
    if "fees" in changed:
        procedure.fees.all().delete()
        for name, amount, kind in wanted["fees"][1]:
            fee = ProcedureFee(procedure=procedure, name=name, amount_vnd=amount, kind=kind)
            fee.full_clean()
            fee.save()
    if "documents" in changed:
        # Keep the local settings (file types, size, templates, data replacing a paper) of the
        # document in the same position; only the national parts change.
        existing = list(procedure.documents.order_by("order", "id"))
        for index, (name, copy_type, copies, required) in enumerate(wanted["documents"]):
            doc = existing[index] if index < len(existing) else ProcedureDocument(procedure=procedure)
            doc.order, doc.name, doc.copy_type, doc.copies, doc.required = index + 1, name, copy_type, copies, required
            doc.full_clean()
            doc.save()
        for doc in existing[len(wanted["documents"]) :]:
            doc.delete()


def _digest(record: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(record, sort_keys=True, ensure_ascii=False, default=str).encode()).hexdigest()


def procedure_apply_national(*, national: NationalProcedure, actor: AbstractBaseUser | None = None) -> SyncItem:
    """Create or update the procedure of NATIONAL in one transaction; return its report line."""
    item = SyncItem(code=national.code, outcome=UNCHANGED)
    with transaction.atomic():
        procedure = Procedure.objects.select_for_update().filter(code=national.code).first()
        created = procedure is None
        if created:
            procedure = Procedure(code=national.code, is_published=False, source=NATIONAL_SOURCE)
            link = NationalCatalogueLink()
        else:
            link = NationalCatalogueLink.objects.filter(procedure=procedure).first() or NationalCatalogueLink(
                procedure=procedure
            )
        overrides = {f for f in (link.local_overrides or []) if f in NATIONAL_FIELDS}
        current = _master(procedure)
        wanted = _desired(current, national, overrides=overrides, warnings=item.warnings)
        item.changed = [name for name in wanted if wanted[name] != current[name]]
        if created or item.changed:
            _write(procedure, wanted, changed=item.changed if not created else list(wanted))
            item.outcome = CREATED if created else UPDATED
            audit_record(
                action="procedure.national_create" if created else "procedure.national_update",
                actor=actor,
                obj=procedure,
                data={"code": procedure.code, "changed": item.changed, "kept_local": sorted(overrides)},
            )
        link.procedure = procedure
        link.last_synced_at = timezone.now()
        link.last_digest = _digest(national.raw)
        link.last_record = national.raw
        link.missing_since = None
        link.save()
        if item.outcome == UPDATED and procedure.is_published:
            problems = catalogue.procedure_problems(procedure)
            if problems:
                item.warnings += problems
            version = catalogue.procedure_version_freeze(procedure=procedure, actor=actor)
            item.version = version.number
    return item


# --- a whole run -----------------------------------------------------------------------------------


def _run_start(*, trigger: str, actor: AbstractBaseUser | None) -> CatalogueSyncRun:
    stale = timezone.now() - dt.timedelta(minutes=settings.NATIONAL_CATALOGUE_SYNC_STALE_MINUTES)
    with transaction.atomic():
        for run in CatalogueSyncRun.objects.select_for_update().filter(
            status=CatalogueSyncRun.Status.RUNNING, started_at__lt=stale
        ):
            run.status = CatalogueSyncRun.Status.FAILED
            run.finished_at = timezone.now()
            run.error = _("Abandoned: the run did not finish in time (the process probably stopped).")
            run.save(update_fields=["status", "finished_at", "error"])
            audit_record(action="catalogue.sync_abandoned", obj=run, data={"started_at": run.started_at.isoformat()})
    try:
        with transaction.atomic():
            run = CatalogueSyncRun.objects.create(trigger=trigger, actor=actor if _is_user(actor) else None)
            audit_record(action="catalogue.sync_start", actor=actor, obj=run, data={"trigger": trigger})
    except IntegrityError:
        raise ApplicationError(
            _("A synchronisation with the national procedure database is already running.")
        ) from None
    return run


def _is_user(actor: AbstractBaseUser | None) -> bool:
    return actor is not None and getattr(actor, "is_authenticated", False)


def _run_finish(run: CatalogueSyncRun, items: list[SyncItem], *, actor, error: str = "") -> CatalogueSyncRun:
    counts = {
        outcome: sum(1 for i in items if i.outcome == outcome) for outcome in (CREATED, UPDATED, UNCHANGED, FAILED)
    }
    run.created, run.updated, run.unchanged, run.failed = (counts[o] for o in (CREATED, UPDATED, UNCHANGED, FAILED))
    run.items = [asdict(i) for i in items]
    run.error = error
    run.finished_at = timezone.now()
    if error:
        run.status = CatalogueSyncRun.Status.FAILED
    elif run.failed:
        run.status = CatalogueSyncRun.Status.PARTIAL
    else:
        run.status = CatalogueSyncRun.Status.SUCCEEDED
    with transaction.atomic():
        run.save()
        audit_record(
            action="catalogue.sync",
            actor=actor,
            obj=run,
            data={"status": run.status, "listed": run.listed, **counts, "error": error[:500]},
        )
    logger.info("catalogue sync %s: %s (%s)", run.pk, run.status, counts)
    return run


def national_catalogue_sync(
    *,
    trigger: str,
    actor: AbstractBaseUser | None = None,
    codes: list[str] | None = None,
    portal: NationalPortal | None = None,
) -> CatalogueSyncRun:
    """Synchronise every procedure the national database lists (or only CODES); return the run."""
    run = _run_start(trigger=trigger, actor=actor)
    portal = portal or get_national_portal()
    items: list[SyncItem] = []
    try:
        wanted = list(dict.fromkeys(codes)) if codes else [code for code, _name in portal.list_procedures()]
    except NationalPortalError as exc:
        return _run_finish(
            run, items, actor=actor, error=_("The national procedure list could not be read: %(e)s") % {"e": exc}
        )
    run.listed = len(wanted)
    for code in wanted:
        try:
            national = portal.procedure_detail(code)
        except NationalPortalError as exc:
            items.append(
                SyncItem(
                    code=code, outcome=FAILED, reason=_("The national record could not be read: %(e)s") % {"e": exc}
                )
            )
            continue
        if national is None:
            items.append(
                SyncItem(code=code, outcome=FAILED, reason=_("The national database has no procedure with this code."))
            )
            continue
        try:
            items.append(procedure_apply_national(national=national, actor=actor))
        except ValidationError as exc:
            reasons = (
                "; ".join(f"{k}: {' '.join(v)}" for k, v in exc.message_dict.items())
                if hasattr(exc, "error_dict")
                else " ".join(exc.messages)
            )
            items.append(
                SyncItem(
                    code=code, outcome=FAILED, reason=_("The national data is not valid here: %(e)s") % {"e": reasons}
                )
            )
        except DatabaseError as exc:
            logger.exception("catalogue sync: %s could not be saved", code)
            items.append(
                SyncItem(
                    code=code,
                    outcome=FAILED,
                    reason=_("The procedure could not be saved: %(e)s") % {"e": exc.__class__.__name__},
                )
            )
    if not codes:
        listed = set(wanted)
        now = timezone.now()
        with transaction.atomic():
            NationalCatalogueLink.objects.filter(missing_since__isnull=True).exclude(procedure__code__in=listed).update(
                missing_since=now
            )
    return _run_finish(run, items, actor=actor)
