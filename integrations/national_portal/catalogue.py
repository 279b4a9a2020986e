"""Procedure master data from the national TTHC database: the wire records and their parsing.

``LayDanhSachTTHC`` (no parameter) answers ``{"error_code": "00", "result": [{"MATTHC", "TENTTHC"}, ...]}``;
``LayThuTuc`` (parameter ``maTTHC``) answers ``{"error_code": "00", "result": [<record>]}``, an empty
result for an unknown code. Verified key names (domain.md §4.2, OpenCPS constants): TENTTHC,
LINHVUCTHUCHIEN[].MALINHVUC/TENLINHVUC, TRINHTUTHUCHIEN[].TRUONGHOP/TRINHTU[].TENTRINHTU,
CACHTHUCTHUCHIEN[].KENH/THOIGIAN[].THOIGIANGIAIQUYET/DONVITINH/MOTA/PHILEPHI.

OUR ASSUMPTIONS, to confirm with the operator (no public specification was found): the list
entries and records carry MATTHC; CAPTHUCHIEN ("Cấp Bộ" | "Cấp Tỉnh"); COQUANTHUCHIEN[] with
MADONVI/TENDONVI; CANCUPHAPLY[] with SOVANBAN/TENVANBAN; THANHPHANHOSO[] with
TENGIAYTO/SOBANCHINH/SOBANSAO/BATBUOC; PHILEPHI entries are objects MOTA/SOTIEN (VND)/LOAIPHILEPHI
(1 fee, 2 appraisal, 3 extension, as in domain.md §4.2); KENH uses the channel codes of domain.md
§1.5 (1 in person, 2 online, 3 post). ``_MINHHOA`` is a simulator-only list of parts that are
illustrative data. This module is standard library only (the simulator shares it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from integrations.national_portal.base import NationalPortalError

PROCEDURE_CODE_RE = re.compile(r"^[0-9A-Za-z][0-9A-Za-z._-]{0,39}$")
ONLINE_CHANNEL = "2"
DAY_UNITS = {"ngày làm việc", "ngay lam viec", "working days"}
HOUR_UNITS = {"giờ làm việc", "gio lam viec", "working hours"}
LEVELS = {"cấp bộ": "central", "cấp trung ương": "central", "cấp tỉnh": "provincial"}
FEE_KINDS = {1, 2, 3}


class MalformedProcedureError(NationalPortalError):
    """A procedure record from the portal cannot be read; the reason names the field."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


@dataclass(frozen=True)
class NationalFee:
    name: str
    amount_vnd: int | None
    kind: int


@dataclass(frozen=True)
class NationalDocument:
    name: str
    originals: int
    copies: int
    required: bool


@dataclass(frozen=True)
class NationalProcedure:
    """One procedure as the national database gives it, in neutral terms."""

    code: str
    name: str
    level: str  # "central" | "provincial" | "" (unknown)
    sector_code: str
    sector_name: str
    agency_code: str  # "" when the record names no coded agency
    agency_name: str
    legal_basis: str
    time_limit_days: int | None
    time_limit_hours: int | None
    time_limit_note: str
    fees: tuple[NationalFee, ...] | None  # None: the record says nothing about fees
    documents: tuple[NationalDocument, ...] | None  # None: the record has no checklist
    steps: tuple[str, ...] = ()
    illustrative_parts: tuple[str, ...] = ()
    raw: dict[str, Any] = field(default_factory=dict, compare=False, repr=False)


def _text(value: Any, where: str, *, required: bool = False, limit: int = 500) -> str:
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise MalformedProcedureError(f"{where} must be text")
    value = value.strip()
    if required and not value:
        raise MalformedProcedureError(f"{where} is missing")
    if len(value) > limit:
        raise MalformedProcedureError(f"{where} is longer than {limit} characters")
    return value


def _list(value: Any, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise MalformedProcedureError(f"{where} must be a list")
    for i, item in enumerate(value):
        if not isinstance(item, dict):
            raise MalformedProcedureError(f"{where}[{i}] must be an object")
    return value


def _whole(value: Any, where: str, *, allow_none: bool = False) -> int | None:
    if value in (None, "") and allow_none:
        return None
    if isinstance(value, bool):
        raise MalformedProcedureError(f"{where} must be a whole number")
    if isinstance(value, str) and re.fullmatch(r"\d{1,12}", value.strip().replace(".", "").replace(",", "")):
        return int(value.strip().replace(".", "").replace(",", ""))
    if isinstance(value, int) and value >= 0:
        return value
    if isinstance(value, float) and value.is_integer() and value >= 0:
        return int(value)
    raise MalformedProcedureError(f"{where} must be a whole number not below 0 (got {value!r})")


def parse_procedure_list(result: Any) -> list[tuple[str, str]]:
    """Return (code, name) of every entry of a LayDanhSachTTHC result."""
    entries = _list(result, "result")
    out = []
    for i, entry in enumerate(entries):
        code = _text(entry.get("MATTHC"), f"result[{i}].MATTHC", required=True, limit=40)
        if not PROCEDURE_CODE_RE.match(code):
            raise MalformedProcedureError(f"result[{i}].MATTHC {code!r} is not a procedure code")
        name = entry.get("TENTTHC")
        # The name is informative only here (LayThuTuc gives the one we keep): a bad one is no reason to stop.
        out.append((code, name.strip() if isinstance(name, str) else ""))
    return out


def _time_limit(record: dict[str, Any]) -> tuple[int | None, int | None, str, tuple[NationalFee, ...] | None]:
    channels = _list(record.get("CACHTHUCTHUCHIEN"), "CACHTHUCTHUCHIEN")
    if not channels:
        return None, None, "", None
    chosen = next((c for c in channels if str(c.get("KENH", "")).strip() == ONLINE_CHANNEL), channels[0])
    times = _list(chosen.get("THOIGIAN"), "CACHTHUCTHUCHIEN.THOIGIAN")
    if not times:
        return None, None, "", None
    entry = times[0]
    amount = _whole(entry.get("THOIGIANGIAIQUYET"), "THOIGIAN.THOIGIANGIAIQUYET", allow_none=True)
    unit = _text(entry.get("DONVITINH"), "THOIGIAN.DONVITINH").lower()
    note = _text(entry.get("MOTA"), "THOIGIAN.MOTA", limit=300)
    days = hours = None
    if amount is not None:
        if unit in DAY_UNITS:
            days = amount
        elif unit in HOUR_UNITS:
            hours = amount
        else:
            # Calendar days, months…: not a working-day limit the due-date engine can use.
            note = f"{amount} {entry.get('DONVITINH') or ''}".strip() + (f"; {note}" if note else "")
            note = note[:300]
    fees = None
    if "PHILEPHI" in entry:
        fees = tuple(
            NationalFee(
                name=_text(fee.get("MOTA"), f"PHILEPHI[{i}].MOTA", required=True, limit=300),
                amount_vnd=_whole(fee.get("SOTIEN"), f"PHILEPHI[{i}].SOTIEN", allow_none=True),
                kind=_fee_kind(fee.get("LOAIPHILEPHI"), i),
            )
            for i, fee in enumerate(_list(entry.get("PHILEPHI"), "PHILEPHI"))
        )
    return days, hours, note, fees


def _fee_kind(value: Any, i: int) -> int:
    if value in (None, ""):
        return 1
    kind = _whole(value, f"PHILEPHI[{i}].LOAIPHILEPHI")
    if kind not in FEE_KINDS:
        raise MalformedProcedureError(f"PHILEPHI[{i}].LOAIPHILEPHI must be 1, 2 or 3")
    return kind


def parse_procedure(record: Any, *, code: str) -> NationalProcedure:
    """Read one LayThuTuc record; raise MalformedProcedureError naming the first bad field."""
    if not isinstance(record, dict):
        raise MalformedProcedureError("the record is not an object")
    got = _text(record.get("MATTHC") or code, "MATTHC", required=True, limit=40)
    if got != code:
        raise MalformedProcedureError(f"MATTHC {got!r} does not match the requested code {code!r}")
    sectors = _list(record.get("LINHVUCTHUCHIEN"), "LINHVUCTHUCHIEN")
    sector = sectors[0] if sectors else {}
    agencies = _list(record.get("COQUANTHUCHIEN"), "COQUANTHUCHIEN")
    agency = agencies[0] if agencies else {}
    laws = _list(record.get("CANCUPHAPLY"), "CANCUPHAPLY")
    legal_basis = "\n".join(
        " ".join(
            p
            for p in (
                _text(law.get("SOVANBAN"), f"CANCUPHAPLY[{i}].SOVANBAN", limit=200),
                _text(law.get("TENVANBAN"), f"CANCUPHAPLY[{i}].TENVANBAN", limit=1000),
            )
            if p
        )
        for i, law in enumerate(laws)
    ).strip()
    days, hours, note, fees = _time_limit(record)
    documents = None
    if "THANHPHANHOSO" in record:
        documents = tuple(
            NationalDocument(
                name=_text(doc.get("TENGIAYTO"), f"THANHPHANHOSO[{i}].TENGIAYTO", required=True),
                originals=_whole(doc.get("SOBANCHINH") or 0, f"THANHPHANHOSO[{i}].SOBANCHINH"),
                copies=_whole(doc.get("SOBANSAO") or 0, f"THANHPHANHOSO[{i}].SOBANSAO"),
                required=str(doc.get("BATBUOC", "1")).strip() not in ("0", "False", "false"),
            )
            for i, doc in enumerate(_list(record.get("THANHPHANHOSO"), "THANHPHANHOSO"))
        )
    steps = []
    for i, case in enumerate(_list(record.get("TRINHTUTHUCHIEN"), "TRINHTUTHUCHIEN")):
        for j, step in enumerate(_list(case.get("TRINHTU"), f"TRINHTUTHUCHIEN[{i}].TRINHTU")):
            steps.append(_text(step.get("TENTRINHTU"), f"TRINHTUTHUCHIEN[{i}].TRINHTU[{j}].TENTRINHTU", limit=2000))
    illustrative = record.get("_MINHHOA") or []
    parts = {"LINHVUCTHUCHIEN": "sector", "THANHPHANHOSO": "documents", "CACHTHUCTHUCHIEN": "time_limit"}
    return NationalProcedure(
        code=code,
        name=_text(record.get("TENTTHC"), "TENTTHC", required=True),
        level=LEVELS.get(_text(record.get("CAPTHUCHIEN"), "CAPTHUCHIEN", limit=100).lower(), ""),
        sector_code=_text(sector.get("MALINHVUC"), "LINHVUCTHUCHIEN[0].MALINHVUC", limit=40),
        sector_name=_text(sector.get("TENLINHVUC"), "LINHVUCTHUCHIEN[0].TENLINHVUC", limit=200),
        agency_code=_text(agency.get("MADONVI"), "COQUANTHUCHIEN[0].MADONVI", limit=35),
        agency_name=_text(agency.get("TENDONVI"), "COQUANTHUCHIEN[0].TENDONVI", limit=255),
        legal_basis=legal_basis,
        time_limit_days=days,
        time_limit_hours=hours,
        time_limit_note=note,
        fees=fees,
        documents=documents,
        steps=tuple(s for s in steps if s),
        illustrative_parts=tuple(parts[p] for p in illustrative if p in parts)
        if isinstance(illustrative, list)
        else (),
        raw=record,
    )
