"""Load the committed unit files and look units up by date."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

from django.db import transaction

from places.models import AdministrativeUnit, UnitMapping

DATA = Path(__file__).resolve().parent / "data"


def _read(name: str) -> dict:
    return json.loads((DATA / name).read_text(encoding="utf-8"))


@transaction.atomic
def admin_units_load() -> dict[str, int]:
    """Replace the unit tables with the committed files (idempotent; one transaction)."""
    current, legacy, mapping = _read("units-current.json"), _read("units-legacy.json"), _read("mapping-2025.json")
    reform_day = dt.date.fromisoformat(current["valid_from"])
    legacy_end = dt.date.fromisoformat(legacy["valid_to"])
    AdministrativeUnit.objects.all().delete()
    UnitMapping.objects.all().delete()
    units = [
        AdministrativeUnit(
            generation=AdministrativeUnit.Generation.REFORM_2025,
            level=level,
            code=code,
            name=name,
            kind=kind,
            parent_code=parent,
            valid_from=reform_day,
            note=note,
        )
        for level, code, name, kind, parent, note in current["rows"]
    ] + [
        AdministrativeUnit(
            generation=AdministrativeUnit.Generation.LEGACY,
            level=level,
            code=code,
            name=name,
            kind=kind,
            parent_code=parent,
            valid_to=legacy_end,
        )
        for level, code, name, kind, parent in legacy["rows"]
    ]
    AdministrativeUnit.objects.bulk_create(units, batch_size=2000)
    effective = dt.date.fromisoformat(mapping["effective"])
    UnitMapping.objects.bulk_create(
        [
            UnitMapping(old_level=level, old_code=old, new_code=new, relation=rel, effective=effective)
            for level, old, new, rel in mapping["rows"]
        ],
        batch_size=2000,
    )
    return {"units": len(units), "mappings": len(mapping["rows"])}


def unit_on(*, level: str, code: str, day: dt.date) -> AdministrativeUnit | None:
    """The unit that CODE named on DAY (codes were reused in 2025)."""
    for unit in AdministrativeUnit.objects.filter(level=level, code=code):
        if (unit.valid_from is None or unit.valid_from <= day) and (unit.valid_to is None or day <= unit.valid_to):
            return unit
    return None


def unit_successors(*, old_code: str, old_level: str = "commune") -> list[UnitMapping]:
    """The new communes an old unit became; for a split, the default target comes first."""
    order = {"whole": 0, "default": 1, "part": 2}
    return sorted(
        UnitMapping.objects.filter(old_level=old_level, old_code=old_code),
        key=lambda m: (order[m.relation], m.new_code),
    )
