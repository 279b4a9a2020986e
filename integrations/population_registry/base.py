"""The population database (C06) interface: the records it answers with and the error types."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class RegistryError(Exception):
    """A call to the population database failed; `permanent` says whether retrying can help."""

    def __init__(self, message: str, *, permanent: bool) -> None:
        super().__init__(message)
        self.message = message
        self.permanent = permanent


class RegistryUnavailable(RegistryError):
    """The population database cannot answer now (timeout, 5xx, malformed answer, circuit open)."""

    def __init__(self, message: str) -> None:
        super().__init__(message, permanent=False)


@dataclass(frozen=True)
class CitizenRecord:
    """One citizen as XacMinhThongTinNhanThan answers (CongDan), reduced to what we use.

    ``birth_date`` keeps the database's precision: ``YYYY-MM-DD``, ``YYYY-MM`` or ``YYYY``.
    """

    personal_id: str  # SoDinhDanh, 12 digits
    old_id: str  # SoCMND, 9 digits or ""
    family_name: str  # Ho
    middle_name: str  # ChuDem
    given_name: str  # Ten
    birth_date: str
    sex: str  # "Nam" | "Nữ"
    residence: str  # ThuongTru
    deceased: bool
    data_time: str = ""  # ThoiDiemDuLieu of the answer

    @property
    def full_name(self) -> str:
        """Return the name as one string, parts joined by single spaces."""
        return " ".join(part for part in (self.family_name, self.middle_name, self.given_name) if part)


class PopulationRegistry(Protocol):
    """What the gateway may ask of the population database."""

    def lookup(self, personal_id: str, *, request_id: str, official: str) -> CitizenRecord | None:
        """Return the citizen with PERSONAL_ID, or None if the database has none."""

    def lookup_bulk(self, personal_ids: list[str], *, request_id: str, official: str) -> dict[str, CitizenRecord]:
        """Return the citizens found among PERSONAL_IDS, keyed by ID (absent = not found). Our extension."""

    def exists(self, personal_id: str, full_name: str, *, request_id: str, official: str, old_id: str = "") -> bool:
        """Return XacThucThongTinCongDan's TonTai for the (ID, old ID, name) triple."""
