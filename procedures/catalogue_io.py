"""Import and export of the catalogue as JSON or XLSX (tablib + openpyxl).

JSON holds a list of procedures, each with its stages, fees, documents and form schema nested.
XLSX holds one row per procedure on the sheet "procedures"; the nested parts are JSON text in
their cells. An import is all-or-nothing: every row is checked first, every problem is reported
with its line (XLSX: the spreadsheet row, the header being row 1; JSON: the item number, from 1)
and reason, and nothing is written unless every row is valid.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import tablib
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext as _

from portal.spreadsheets import cell_neutralise, cell_restore
from procedures import catalogue
from procedures.models import Agency, Procedure, ProcedureDocument, ProcedureFee, ProcedureStage

if TYPE_CHECKING:
    from collections.abc import Iterable

    from django.contrib.auth.models import AbstractBaseUser

FORMATS = {
    "json": "application/json",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
NESTED = ("stages", "fees", "documents")
JSON_CELLS = ("form_schema", "illustrative_parts", *NESTED)
HEADERS = ["code", "agency", "is_published", *[f for f in catalogue.SCALAR_FIELDS if f != "code"], *NESTED]
CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$")


@dataclass
class RowError:
    line: int
    field: str
    message: str

    def __str__(self) -> str:
        where = f"{self.field}: " if self.field else ""
        return _("line %(line)d: %(where)s%(message)s") % {"line": self.line, "where": where, "message": self.message}


@dataclass
class ImportReport:
    rows: int = 0
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


# --- export ---------------------------------------------------------------------------------------


def _export_rows(procedures: Iterable[Procedure]) -> list[dict[str, Any]]:
    rows = []
    for procedure in procedures:
        data = catalogue.procedure_as_dict(procedure)
        data.pop("result_template", None)
        for item in data["documents"]:
            item.pop("template", None)
        data["is_published"] = procedure.is_published
        rows.append({key: data[key] for key in HEADERS})
    return rows


def catalogue_export(procedures, *, fmt: str) -> tuple[bytes, str]:
    """Return (content, content type) of PROCEDURES in FMT ('json' or 'xlsx')."""
    qs = procedures.select_related("agency").prefetch_related("stages", "fees", "documents").order_by("code")
    rows = _export_rows(qs)
    if fmt == "json":
        return json.dumps(rows, ensure_ascii=False, indent=1).encode(), FORMATS[fmt]
    dataset = tablib.Dataset(headers=HEADERS, title="procedures")
    for row in rows:
        dataset.append(
            [
                json.dumps(row[k], ensure_ascii=False)
                if k in JSON_CELLS
                else ("" if row[k] is None else cell_neutralise(row[k]))  # no formulas in the workbook (T17)
                for k in HEADERS
            ]
        )
    return dataset.export("xlsx"), FORMATS[fmt]


# --- import ---------------------------------------------------------------------------------------


def _read(content: bytes, filename: str, report: ImportReport) -> list[tuple[int, dict]]:
    if filename.lower().endswith(".json"):
        try:
            data = json.loads(content.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            report.errors.append(RowError(0, "", _("The file is not valid JSON (%(e)s).") % {"e": exc}))
            return []
        if isinstance(data, dict) and isinstance(data.get("procedures"), list):
            data = data["procedures"]
        if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
            report.errors.append(RowError(0, "", _("The JSON file must hold a list of procedures.")))
            return []
        return list(enumerate(data, start=1))
    if filename.lower().endswith(".xlsx"):
        try:
            dataset = tablib.Dataset().load(content, format="xlsx")
        except Exception as exc:  # openpyxl raises many kinds on a damaged file
            report.errors.append(RowError(0, "", _("The file is not a readable XLSX workbook (%(e)s).") % {"e": exc}))
            return []
        missing = {"code", "name"} - set(dataset.headers or [])
        if missing:
            report.errors.append(
                RowError(1, "", _("Missing column(s): %(cols)s.") % {"cols": ", ".join(sorted(missing))})
            )
            return []
        rows = []
        for index, values in enumerate(dataset.dict, start=2):
            row = {key: cell_restore(value) for key, value in dict(values).items()}  # our export's apostrophes
            if all(v in (None, "") for v in row.values()):
                continue
            for key in JSON_CELLS:
                cell = row.get(key)
                if isinstance(cell, str) and cell.strip():
                    try:
                        row[key] = json.loads(cell)
                    except json.JSONDecodeError as exc:
                        report.errors.append(RowError(index, key, _("not valid JSON (%(e)s)") % {"e": exc}))
                        row[key] = None
                elif cell in (None, ""):
                    row[key] = None
            rows.append((index, row))
        return rows
    report.errors.append(RowError(0, "", _("Use a .json or .xlsx file.")))
    return []


def _assign(instance: models.Model, data: dict, names: Iterable[str]) -> None:
    for name in names:
        if name not in data:
            continue
        model_field = instance._meta.get_field(name)
        value = data[name]
        if value is None and not model_field.null:
            value = model_field.get_default() if model_field.has_default() else ""
        if (
            isinstance(value, str)
            and value == ""
            and model_field.null
            and not isinstance(model_field, models.CharField)
        ):
            value = None
        setattr(instance, model_field.attname, value)


def _errors(exc: ValidationError, prefix: str = "") -> list[tuple[str, str]]:
    if hasattr(exc, "error_dict"):
        return [(f"{prefix}{name}", msg) for name, msgs in exc.message_dict.items() for msg in msgs]
    return [(prefix.rstrip("."), msg) for msg in exc.messages]


def _build(line: int, row: dict, agencies: dict[str, Agency], report: ImportReport):
    """Return (procedure, children, publish) for ROW, or None after recording its errors."""
    problems: list[tuple[str, str]] = []
    code = str(row.get("code") or "").strip()
    if not CODE_RE.match(code):
        problems.append(("code", _("'%(code)s' is not a procedure code.") % {"code": code}))
    procedure = Procedure.objects.filter(code=code).first() or Procedure(code=code)
    _assign(procedure, row, [f for f in catalogue.SCALAR_FIELDS if f != "code"])
    if procedure.form_schema is None:
        procedure.form_schema = {}
    if procedure.illustrative_parts is None:
        procedure.illustrative_parts = []
    agency_code = str(row.get("agency") or "").strip()
    procedure.agency = None
    if agency_code:
        if agency_code not in agencies:
            problems.append(("agency", _("no agency with the identifier %(code)s.") % {"code": agency_code}))
        else:
            procedure.agency = agencies[agency_code]
    try:
        procedure.full_clean(exclude=["current_version", "search_text", "code", "agency"], validate_unique=False)
    except ValidationError as exc:
        problems += _errors(exc)
    children: dict[str, list] = {}
    for key, model, names in (
        ("stages", ProcedureStage, catalogue.STAGE_FIELDS),
        ("fees", ProcedureFee, catalogue.FEE_FIELDS),
        ("documents", ProcedureDocument, catalogue.DOCUMENT_FIELDS),
    ):
        items = row.get(key) or []
        if not isinstance(items, list):
            problems.append((key, _("must be a list.")))
            continue
        built = []
        for n, item in enumerate(items, start=1):
            if not isinstance(item, dict):
                problems.append((f"{key}[{n}]", _("must be an object.")))
                continue
            child = model()
            _assign(child, item, names)
            try:
                child.full_clean(exclude=["procedure"])
            except ValidationError as exc:
                problems += _errors(exc, f"{key}[{n}].")
            built.append(child)
        children[key] = built
    if "stages" in children:
        error = catalogue.stage_budget_error(
            time_limit_days=procedure.time_limit_days,
            time_limit_hours=procedure.time_limit_hours,
            budgets=[s.budget for s in children["stages"]],
        )
        if error:
            problems.append(("stages", error))
    publish = row.get("is_published") in (True, 1, "1", "true", "True", "TRUE")
    if problems:
        report.errors += [RowError(line, name, str(msg)) for name, msg in problems]
        return None
    return procedure, children, publish


def catalogue_import(
    *, content: bytes, filename: str, actor: AbstractBaseUser | None = None, publish: bool = False
) -> ImportReport:
    """Import a catalogue file; write everything, or nothing and report every bad row.

    Procedures are matched by code: a new code creates a procedure, a known one is replaced
    (fields, stages, fees and checklist). A published procedure whose content changed gets a new
    version. PUBLISH publishes every imported procedure; otherwise the file's is_published decides.
    """
    report = ImportReport()
    rows = _read(content, filename, report)
    report.rows = len(rows)
    agencies = {a.code: a for a in Agency.objects.all()}
    seen: dict[str, int] = {}
    built = []
    for line, row in rows:
        code = str(row.get("code") or "").strip()
        if code in seen:
            report.errors.append(
                RowError(
                    line, "code", _("%(code)s is already on line %(other)d.") % {"code": code, "other": seen[code]}
                )
            )
            continue
        seen[code] = line
        result = _build(line, row, agencies, report)
        if result:
            built.append(result)
    if report.errors:
        return report
    with transaction.atomic():
        for procedure, children, row_publish in built:
            is_new = procedure.pk is None
            procedure.save()
            for key, items in children.items():
                getattr(procedure, key).all().delete()
                for child in items:
                    child.procedure = procedure
                    child.save()
            if publish or row_publish:
                catalogue.procedure_publish(procedure=procedure, actor=actor)
            elif procedure.is_published:
                catalogue.procedure_version_freeze(procedure=procedure, actor=actor)
            report.created += is_new
            report.updated += not is_new
    return report
