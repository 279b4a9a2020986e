"""Service levels and time limits per rule version (Decree 63/2024/NĐ-CP, amended by Decree 301/2026).

The values live in settings.FACILITIES_RULE_VERSIONS (see the FACILITIES block of portal/settings/base.py)
so that a change of the decree is a configuration change; every document keeps the version that
applied when it was issued. Working hours are counted on procedures.deadlines' pure calendar,
built from the public-holiday rows.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings

from procedures import deadlines


@dataclass(frozen=True)
class RuleVersion:
    code: str
    valid_from: dt.date | None
    sync_minutes: int
    ack_working_hours: float
    signed_data_working_hours: float
    target: str
    source: str
    group_limits: dict[str, Any]


def rule_versions() -> list[RuleVersion]:
    versions = []
    for code, spec in settings.FACILITIES_RULE_VERSIONS.items():
        versions.append(
            RuleVersion(
                code=code,
                valid_from=dt.date.fromisoformat(spec["valid_from"]) if spec.get("valid_from") else None,
                sync_minutes=int(spec["sync_minutes"]),
                ack_working_hours=float(spec["ack_working_hours"]),
                signed_data_working_hours=float(spec["signed_data_working_hours"]),
                target=spec.get("target", ""),
                source=spec.get("source", ""),
                group_limits=spec.get("group_limits", {}),
            )
        )
    return sorted(versions, key=lambda v: v.valid_from or dt.date.min)


def rule_version_on(day: dt.date) -> RuleVersion:
    """Return the rule version in force on DAY (the latest that started on or before it)."""
    applicable = [v for v in rule_versions() if v.valid_from is None or v.valid_from <= day]
    if not applicable:
        raise LookupError(f"no facilities rule version in force on {day}")
    return applicable[-1]


def rule_version_get(code: str) -> RuleVersion:
    for version in rule_versions():
        if version.code == code:
            return version
    raise LookupError(f"unknown facilities rule version {code}")


def working_calendar() -> deadlines.Calendar:
    """The portal's working-hours calendar (holidays, days off and make-up working days; cached)."""
    from procedures.clock import calendar_load

    return calendar_load()


def add_working_hours(start: dt.datetime, hours: float, *, calendar: deadlines.Calendar | None = None) -> dt.datetime:
    """Return the moment HOURS working hours after START (lunch, nights, weekends, holidays excluded)."""
    calendar = calendar or working_calendar()
    return calendar.from_hour_coordinate(calendar.hour_coordinate(start) + hours * 60)
