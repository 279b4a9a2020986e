"""Catalogue services: validate, freeze versions, publish, unpublish and duplicate procedures.

A Procedure row is the administrators' working copy. `procedure_version_freeze` turns its whole
configuration (fields, stages, fees, checklist, form) into an immutable ProcedureVersion; a new
version is made only when something changed. Dossiers are pinned to the version they were
submitted under, so a later edit never changes a dossier already in the system.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.utils.translation import gettext as _

from portal.audit import audit_record
from portal.errors import ApplicationError
from procedures.formschema import form_schema_errors
from procedures.models import Procedure, ProcedureVersion

if TYPE_CHECKING:
    from django.contrib.auth.models import AbstractBaseUser

SCALAR_FIELDS = [
    "code",
    "name",
    "name_en",
    "level",
    "sector",
    "sector_en",
    "sector_code",
    "applicant_type",
    "representative_allowed",
    "service_level",
    "return_online",
    "return_postal",
    "return_counter",
    "time_limit_days",
    "time_limit_hours",
    "time_limit_note",
    "cutoff_time",
    "cutoff_applies_to",
    "on_supplement",
    "fees_known",
    "legal_basis",
    "source",
    "description",
    "result_kind",
    "result_name",
    "form_schema",
    "illustrative_parts",
    "is_illustrative",
]
STAGE_FIELDS = ["order", "name", "role", "budget"]
FEE_FIELDS = ["name", "name_en", "kind", "amount_vnd", "timing", "exempt", "valid_from", "valid_to", "note"]
DOCUMENT_FIELDS = [
    "order",
    "name",
    "name_en",
    "copy_type",
    "copies",
    "required",
    "accepted_types",
    "max_size_mb",
    "replaced_by",
]


def _plain(value: Any) -> Any:
    if isinstance(value, dt.time):
        return value.strftime("%H:%M")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return format(value.normalize(), "f")
    return value


def _row(obj, fields: list[str]) -> dict[str, Any]:
    return {name: _plain(getattr(obj, name)) for name in fields}


def procedure_as_dict(procedure: Procedure) -> dict[str, Any]:
    """The whole configuration of PROCEDURE as plain JSON data (used for versions and export)."""
    data = _row(procedure, SCALAR_FIELDS)
    data["agency"] = procedure.agency.code if procedure.agency_id else None
    data["result_template"] = procedure.result_template.name or ""
    data["stages"] = [_row(s, STAGE_FIELDS) for s in procedure.stages.all()]
    data["fees"] = [_row(f, FEE_FIELDS) for f in procedure.fees.all()]
    data["documents"] = [
        {**_row(d, DOCUMENT_FIELDS), "template": d.template.name or ""} for d in procedure.documents.all()
    ]
    return data


def stage_budget_error(*, time_limit_days, time_limit_hours, budgets: list) -> str | None:
    """Return why the stage budgets do not fit the total time limit, or None."""
    known = [Decimal(str(b)) for b in budgets if b not in (None, "")]
    if not known:
        return None
    total = time_limit_days if time_limit_days is not None else time_limit_hours
    if total is None:
        return _("Stage budgets are given but the procedure's time limit is unknown.")
    spent = sum(known)
    if spent > total:
        unit = _("working days") if time_limit_days is not None else _("working hours")
        return _("The stage budgets add up to %(spent)s %(unit)s, more than the time limit of %(total)s.") % {
            "spent": format(spent.normalize(), "f"),
            "unit": unit,
            "total": total,
        }
    return None


def procedure_problems(procedure: Procedure) -> list[str]:
    """Everything that stops PROCEDURE from being published, as readable sentences."""
    problems = []
    if procedure.form_schema:  # an empty schema means the procedure has no online form of its own
        problems += [_("Form schema: %(problem)s") % {"problem": p} for p in form_schema_errors(procedure.form_schema)]
    if procedure.time_limit_days is not None and procedure.time_limit_hours is not None:
        problems.append(_("Give the time limit in working days or in working hours, not both."))
    budget = stage_budget_error(
        time_limit_days=procedure.time_limit_days,
        time_limit_hours=procedure.time_limit_hours,
        budgets=[s.budget for s in procedure.stages.all()],
    )
    if budget:
        problems.append(budget)
    for fee in procedure.fees.all():
        if fee.amount_vnd is not None and fee.amount_vnd < 0:
            problems.append(_("Fee '%(name)s' is negative.") % {"name": fee.name})
    return problems


def _digest(snapshot: dict) -> str:
    return hashlib.sha256(json.dumps(snapshot, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def procedure_version_freeze(*, procedure: Procedure, actor: AbstractBaseUser | None = None) -> ProcedureVersion:
    """Return the version matching PROCEDURE's configuration now, creating it if anything changed.

    The common case (nothing changed since the current version) takes no lock.
    """
    snapshot = procedure_as_dict(procedure)
    digest = _digest(snapshot)
    if Procedure.current_version.is_cached(procedure):  # loaded with the procedure (e.g. the online submission)
        current = procedure.current_version
    else:
        current = ProcedureVersion.objects.filter(pk=procedure.current_version_id).first()
    if current is not None and current.digest == digest:
        return current
    with transaction.atomic():
        Procedure.objects.select_for_update().filter(pk=procedure.pk).first()  # one new number at a time
        latest = ProcedureVersion.objects.filter(procedure=procedure).order_by("-number").first()
        if latest is not None and latest.digest == digest:
            version = latest
        else:
            version = ProcedureVersion.objects.create(
                procedure=procedure,
                number=(latest.number + 1) if latest else 1,
                snapshot=snapshot,
                digest=digest,
                time_limit_days=procedure.time_limit_days,
                time_limit_hours=procedure.time_limit_hours,
                on_supplement=procedure.on_supplement,
                cutoff_time=procedure.cutoff_time,
                cutoff_applies_to=procedure.cutoff_applies_to,
                created_by=actor if actor is not None and actor.is_authenticated else None,
            )
            audit_record(
                action="procedure.version",
                actor=actor,
                obj=procedure,
                data={"code": procedure.code, "version": version.number},
            )
        if procedure.current_version_id != version.pk:
            Procedure.objects.filter(pk=procedure.pk).update(current_version=version)
        procedure.current_version = version
    return version


def procedure_publish(*, procedure: Procedure, actor: AbstractBaseUser | None = None) -> ProcedureVersion:
    """Publish PROCEDURE (refused with every problem listed) and return its current version."""
    problems = procedure_problems(procedure)
    if problems:
        raise ApplicationError(
            _("%(code)s cannot be published: %(problems)s") % {"code": procedure.code, "problems": " ".join(problems)}
        )
    with transaction.atomic():
        if not procedure.is_published:
            procedure.is_published = True
            procedure.save(update_fields=["is_published", "updated_at"])
            audit_record(action="procedure.publish", actor=actor, obj=procedure, data={"code": procedure.code})
        return procedure_version_freeze(procedure=procedure, actor=actor)


def procedure_unpublish(*, procedure: Procedure, actor: AbstractBaseUser | None = None) -> None:
    """Withdraw PROCEDURE from the catalogue; dossiers already submitted keep their version."""
    with transaction.atomic():
        if procedure.is_published:
            procedure.is_published = False
            procedure.save(update_fields=["is_published", "updated_at"])
            audit_record(action="procedure.unpublish", actor=actor, obj=procedure, data={"code": procedure.code})


def _free_copy_code(code: str) -> str:
    for n in range(1, 1000):
        candidate = f"{code}-copy{n if n > 1 else ''}"[:40]
        if not Procedure.objects.filter(code=candidate).exists():
            return candidate
    raise ApplicationError(_("No free code for a copy of %(code)s.") % {"code": code})


def procedure_duplicate(*, procedure: Procedure, actor: AbstractBaseUser | None = None) -> Procedure:
    """Copy PROCEDURE with its stages, fees and checklist as a new unpublished draft."""
    with transaction.atomic():
        copy = Procedure.objects.get(pk=procedure.pk)
        copy.pk = None
        copy.id = None
        copy.code = _free_copy_code(procedure.code)
        copy.name = f"{procedure.name} ({_('copy')})"[:500]
        copy.is_published = False
        copy.current_version = None
        copy.save()
        for related in ("stages", "fees", "documents"):
            for child in getattr(procedure, related).all():
                child.pk = None
                child.id = None
                child.procedure = copy
                child.save()
        audit_record(
            action="procedure.duplicate", actor=actor, obj=copy, data={"from": procedure.code, "code": copy.code}
        )
    return copy
