"""Synthetic demo citizens of the VNeID simulator; none of them is a real person.

Every number follows the 12-digit structure PPP G YY NNNNNN (domain.md §3.1): PPP a province code, G the
century-and-sex digit, YY the last two digits of the birth year.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


@dataclass(frozen=True)
class DemoCitizen:
    """One electronic identification account of the simulator."""

    national_id: str
    family_name: str
    given_name: str
    birthdate: str  # YYYY-MM-DD, the OpenID Connect format
    gender: str  # "male" or "female", the OpenID Connect values
    acr: str  # identification level: "1" created in the app, "2" verified in person
    note: str = ""
    # An organisation account (VNeID e-ID for organisations): the organisation's tax/enterprise code and name; the
    # person above is its legal representative, who signs in for it.
    tax_code: str = ""
    organisation: str = ""

    @property
    def is_organisation(self) -> bool:
        return bool(self.tax_code)

    @property
    def name(self) -> str:
        return f"{self.family_name} {self.given_name}"

    @property
    def sub(self) -> str:
        # An opaque, stable subject: the same across restarts, and not the personal ID number itself.
        if self.tax_code:
            return "sim-org-" + hashlib.sha256(f"vneid-simulator-org:{self.tax_code}".encode()).hexdigest()[:20]
        return "sim-" + hashlib.sha256(f"vneid-simulator:{self.national_id}".encode()).hexdigest()[:24]

    def userinfo(self) -> dict[str, str]:
        """Return the claims of the userinfo endpoint."""
        organisation = (
            {"account_type": "organisation", "ma_so_thue": self.tax_code, "ten_to_chuc": self.organisation}
            if self.tax_code
            else {}
        )
        return organisation | {
            "sub": self.sub,
            "name": self.name,
            "given_name": self.given_name,
            "family_name": self.family_name,
            "birthdate": self.birthdate,
            "gender": self.gender,
            "so_dinh_danh": self.national_id,
            "acr": self.acr,
        }


DEMO_CITIZENS: tuple[DemoCitizen, ...] = (
    # Hà Nội (001), female born 1995 (G=1, YY=95).
    DemoCitizen("001195012345", "Nguyễn", "Thị Hồng Nhung", "1995-03-14", "female", "2"),
    # TP. Hồ Chí Minh (079), male born 1988 (G=0, YY=88).
    DemoCitizen("079088004321", "Trần", "Văn Minh", "1988-11-02", "male", "2"),
    # Cần Thơ (092), male born 2003 (G=2, YY=03).
    DemoCitizen("092203001122", "Phạm", "Quốc Bảo", "2003-07-21", "male", "2"),
    # Đà Nẵng (048), female born 2001 (G=3, YY=01); level 1, so the portal must refuse her.
    DemoCitizen(
        "048301006789", "Lê", "Thị Thu Hà", "2001-05-09", "female", "1", note="level 1: the portal refuses this account"
    ),
    # An organisation account: a synthetic company (tax code of the 10-digit enterprise-code shape, not a real one)
    # whose legal representative is a synthetic Hà Nội man born 1980 (G=0, YY=80).
    DemoCitizen(
        "001080004455",
        "Đỗ",
        "Mạnh Hùng",
        "1980-02-17",
        "male",
        "2",
        note="organisation account",
        tax_code="0109998877",
        organisation="Công ty TNHH Thiết bị Y tế Minh An (demo)",
    ),
)


def demo_citizens_table(citizens: tuple[DemoCitizen, ...] = DEMO_CITIZENS) -> str:
    """Return the demo citizens as a plain-text table, for `make run` and the command line."""
    lines = ["VNeID demo citizens (synthetic):"]
    for c in citizens:
        note = f"  ({c.note})" if c.note else ""
        who = f"{c.organisation} (tax code {c.tax_code}), legal representative {c.name}" if c.tax_code else c.name
        lines.append(f"  {c.national_id}  level {c.acr}  {c.birthdate}  {who}{note}")
    return "\n".join(lines)
