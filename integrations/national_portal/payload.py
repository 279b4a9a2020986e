"""Turn the neutral outbox payload into DVCQG records, and records into the wire format.

The procedures app writes one outbox message per dossier status change, topic
``"national_portal.dossier"``, key = the dossier code, with this neutral payload (JSON)::

    dossier_code      str   MaHoSo, e.g. "G18.001.02-260315-180042"
    procedure_code    str   national procedure code (MaTTHC), e.g. "1.012327"
    procedure_name    str   TenTTHC
    sector_code       str   MaLinhVuc
    sector_name       str   TenLinhVuc
    applicant_name    str   ChuHoSo
    applicant_kind    str   "citizen" | "organisation"
    applicant_id      str   personal ID number or tax code ("" if unknown)
    applicant_email   str   "" if unknown
    applicant_phone   str   "" if unknown
    summary           str   TrichYeuHoSo
    agency_name       str   DonViXuLy, the agency processing the dossier
    status            int   DVCQG status code 1..10 after the change (domain.md §1.3)
    changed_at        str   ISO 8601 with offset: when the change happened
    received_at       str   ISO 8601 with offset: receipt (for status 1, the online submission)
    due_at            str?  ISO 8601 with offset or null: the appointment date (NgayHenTra)
    returned_at       str?  ISO 8601 with offset or null: when the result was handed over
    actor_name        str   who made the change ("" for the system: the agency name is sent)
    actor_title       str   the actor's title ("" if none)
    department        str   the actor's department ("" if none)
    note              str   what was done (NoiDungXuLy)
    step_started_at   str?  optional, ISO 8601: start of the current step (default changed_at)
    step_due_at       str?  optional, ISO 8601: statutory end of the current step (default due_at)

Every message carries the whole state of the dossier after the change, so sending it twice (or
a later one after a lost answer) sets the portal to the same state with the same timestamps.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from integrations.national_portal.base import DossierRecord, NationalPortalError, ProgressRecord

PORTAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")
PORTAL_DATETIME_FORMAT = "%Y%m%d%H%M%S"

# LoaiDoiTuong follows OpenCPS (1 citizen, 2 business). Another integration page lists
# 0 citizen / 1 business (domain.md §4.2): confirm with the portal operator before go-live.
APPLICANT_KIND_CODES = {"citizen": "1", "organisation": "2"}

_REQUIRED_TEXT = (
    "dossier_code",
    "procedure_code",
    "procedure_name",
    "sector_code",
    "sector_name",
    "applicant_name",
    "summary",
    "agency_name",
)


def format_portal_datetime(value: datetime | None) -> str:
    """Return VALUE as yyyyMMddHHmmss in Asia/Ho_Chi_Minh ("" for None)."""
    if value is None:
        return ""
    return value.astimezone(PORTAL_TZ).strftime(PORTAL_DATETIME_FORMAT)


def _text(payload: Mapping[str, Any], name: str, *, required: bool = False) -> str:
    value = payload.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        raise NationalPortalError(f"payload field {name} must be a string", permanent=True)
    if required and not value.strip():
        raise NationalPortalError(f"payload field {name} is required", permanent=True)
    return value.strip()


def _when(payload: Mapping[str, Any], name: str) -> datetime | None:
    value = payload.get(name)
    if value in (None, ""):
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except (TypeError, ValueError) as exc:
        raise NationalPortalError(f"payload field {name} is not an ISO 8601 date-time", permanent=True) from exc
    if parsed.tzinfo is None:
        # A naive time would be read in whatever zone the worker runs in; refuse it.
        raise NationalPortalError(f"payload field {name} has no UTC offset", permanent=True)
    return parsed


def _required_when(payload: Mapping[str, Any], name: str) -> datetime:
    parsed = _when(payload, name)
    if parsed is None:
        raise NationalPortalError(f"payload field {name} is required", permanent=True)
    return parsed


def _status(payload: Mapping[str, Any]) -> int:
    value = payload.get("status")
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10:
        raise NationalPortalError("payload field status must be an integer 1..10", permanent=True)
    return value


def dossier_record_from_payload(payload: Mapping[str, Any]) -> DossierRecord:
    """Build the DongBoHoSoMC record of a neutral payload; raise a permanent error if it is malformed."""
    if not isinstance(payload, Mapping):
        raise NationalPortalError("payload must be an object", permanent=True)
    text = {name: _text(payload, name, required=True) for name in _REQUIRED_TEXT}
    kind = _text(payload, "applicant_kind", required=True)
    if kind not in APPLICANT_KIND_CODES:
        raise NationalPortalError("payload field applicant_kind must be citizen or organisation", permanent=True)
    return DossierRecord(
        **text,
        applicant_kind=kind,
        applicant_id=_text(payload, "applicant_id"),
        applicant_email=_text(payload, "applicant_email"),
        applicant_phone=_text(payload, "applicant_phone"),
        status=_status(payload),
        received_at=_required_when(payload, "received_at"),
        due_at=_when(payload, "due_at"),
        returned_at=_when(payload, "returned_at"),
    )


def progress_record_from_payload(payload: Mapping[str, Any]) -> ProgressRecord:
    """Build the CapNhatTienDoHoSoMC record of a neutral payload; raise a permanent error if it is malformed."""
    if not isinstance(payload, Mapping):
        raise NationalPortalError("payload must be an object", permanent=True)
    acted_at = _required_when(payload, "changed_at")
    return ProgressRecord(
        dossier_code=_text(payload, "dossier_code", required=True),
        # NguoiXuLy is mandatory on the portal; a change made by the system is the agency's own.
        actor_name=_text(payload, "actor_name") or _text(payload, "agency_name", required=True),
        actor_title=_text(payload, "actor_title"),
        acted_at=acted_at,
        department=_text(payload, "department"),
        note=_text(payload, "note"),
        status=_status(payload),
        step_started_at=_when(payload, "step_started_at") or acted_at,
        step_due_at=_when(payload, "step_due_at") or _when(payload, "due_at"),
    )


def dossier_record_to_wire(record: DossierRecord) -> dict[str, Any]:
    """Return the DongBoHoSoMC data item of RECORD."""
    return {
        "MaHoSo": record.dossier_code,
        "MaTTHC": record.procedure_code,
        "TenTTHC": record.procedure_name,
        "MaLinhVuc": record.sector_code,
        "TenLinhVuc": record.sector_name,
        "ChuHoSo": record.applicant_name,
        "LoaiDoiTuong": APPLICANT_KIND_CODES[record.applicant_kind],
        "MaDoiTuong": record.applicant_id,
        "Email": record.applicant_email,
        "SoDienThoai": record.applicant_phone,
        "TrichYeuHoSo": record.summary,
        "NgayTiepNhan": format_portal_datetime(record.received_at),
        "NgayHenTra": format_portal_datetime(record.due_at),
        "NgayTra": format_portal_datetime(record.returned_at),
        "TrangThaiHoSo": str(record.status),
        "DonViXuLy": record.agency_name,
    }


def progress_record_to_wire(record: ProgressRecord) -> dict[str, Any]:
    """Return the CapNhatTienDoHoSoMC data item of RECORD."""
    return {
        "MaHoSo": record.dossier_code,
        "NguoiXuLy": record.actor_name,
        "ChucDanh": record.actor_title,
        "ThoiDiemXuLy": format_portal_datetime(record.acted_at),
        "PhongBanXuLy": record.department,
        "NoiDungXuLy": record.note,
        "TrangThai": str(record.status),
        "NgayBatDau": format_portal_datetime(record.step_started_at),
        "NgayKetThucTheoQuyDinh": format_portal_datetime(record.step_due_at),
    }
