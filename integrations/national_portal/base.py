"""The national public service portal (DVCQG) interface: records we send and the error type."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from integrations.national_portal.catalogue import NationalProcedure


class NationalPortalError(Exception):
    """A call to the national portal failed; `permanent` says whether retrying can help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class UnknownDossierError(NationalPortalError):
    """The portal has no dossier with that code (e.g. an update before the creation)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=True)


@dataclass(frozen=True)
class DossierRecord:
    """One dossier as DongBoHoSoMC reports it (create or update)."""

    dossier_code: str  # MaHoSo, format of domain.md §2.1
    procedure_code: str  # MaTTHC, the national procedure code
    procedure_name: str
    sector_code: str
    sector_name: str
    applicant_name: str
    applicant_kind: str  # "citizen" | "organisation"
    applicant_id: str  # personal ID or tax code; may be empty
    applicant_email: str
    applicant_phone: str
    summary: str
    agency_name: str  # the agency processing the dossier
    status: int  # DVCQG status code 1..10 (domain.md §1.3)
    received_at: datetime
    due_at: datetime | None
    returned_at: datetime | None


@dataclass(frozen=True)
class ProgressRecord:
    """One processing step as CapNhatTienDoHoSoMC reports it."""

    dossier_code: str
    actor_name: str
    actor_title: str
    acted_at: datetime
    department: str
    note: str
    status: int  # DVCQG status code 1..10
    step_started_at: datetime
    step_due_at: datetime | None


class NationalPortal(Protocol):
    """What the rest of the project may ask of the national portal."""

    def sync_dossiers(self, records: list[DossierRecord], *, is_updating: bool = False) -> None:
        """Create (or, with is_updating, update) dossiers on the portal."""

    def push_progress(self, records: list[ProgressRecord]) -> None:
        """Report processing steps of dossiers the portal already knows."""

    def lookup(self, dossier_code: str) -> dict[str, Any] | None:
        """Return the portal's record of DOSSIER_CODE, or None if it has none."""

    def list_procedures(self) -> list[tuple[str, str]]:
        """Return (code, name) of every procedure of our agency in the national TTHC database."""

    def procedure_detail(self, code: str) -> NationalProcedure | None:
        """Return the national master data of procedure CODE, or None if the database has none."""
