"""The rule versions in force by effective date, as shipped (administrators edit them in admin).

Form numbers come from domain.md §1.7: Circular 01/2018 Mẫu 01-06 (legacy) and Circular 03/2025
Annex I Mẫu 01-07 (current; numbers of 04 and 05 are reported, not verified, hence data). Suffixes
are the ones the MoH's BM forms print (Decision 3621/QĐ-BYT); the legacy receipt suffix is from
memory; the stop notice's suffix is unknown and left empty.
"""

from __future__ import annotations

import datetime as dt
import logging

logger = logging.getLogger(__name__)

DEFAULT_RULES = [
    {
        "code": "ND61-2018/TT01-2018",
        "name": "Nghị định 61/2018/NĐ-CP, Thông tư 01/2018/TT-VPCP",
        "effective_from": dt.date(2018, 6, 21),
        "effective_to": dt.date(2025, 6, 30),
        "legal_basis": "Circular 01/2018/TT-VPCP",
        "form_numbers": {
            "receipt": "01",
            "supplement_request": "02",
            "refusal": "03",
            "apology": "04",
            "control_slip": "05",
            "tracking_book": "06",
        },
        "form_suffixes": {"receipt": "TNHS", "supplement_request": "HDHS", "refusal": "TCHS", "apology": "PXL"},
        "unit_suffix": "BPTNTKQ",
    },
    {
        "code": "ND118-2025/TT03-2025/TT04-2025",
        "name": "Nghị định 118/2025/NĐ-CP, Thông tư 03/2025/TT-VPCP, Thông tư 04/2025/TT-VPCP",
        "effective_from": dt.date(2025, 7, 1),
        "effective_to": None,
        "legal_basis": "Circular 03/2025/TT-VPCP Annex I",
        "form_numbers": {
            "receipt": "01",
            "supplement_request": "02",
            "refusal": "03",
            "apology": "04",
            "stop_notice": "05",
            "control_slip": "06",
            "tracking_book": "07",
        },
        "form_suffixes": {
            "receipt": "",
            "supplement_request": "PBS",
            "refusal": "PTC",
            "apology": "PXL",
            "stop_notice": "",
            "control_slip": "PKS",
            "tracking_book": "STD",
        },
        "unit_suffix": "BPTNTKQ",
    },
]


def rule_versions_ensure() -> int:
    """Create the shipped rule versions when the table is empty (a flushed test database); return how many."""
    from procedures.models import RuleVersion

    if RuleVersion.objects.exists():
        return 0
    logger.warning("no rule versions in the database: creating the shipped ones")
    for rule in DEFAULT_RULES:
        RuleVersion.objects.get_or_create(code=rule["code"], defaults={k: v for k, v in rule.items() if k != "code"})
    return len(DEFAULT_RULES)
