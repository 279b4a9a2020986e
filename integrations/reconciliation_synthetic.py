"""Synthetic reconciliation input with a stated ground truth (tests and bench/reconcile.py).

Draws people from the simulator's deterministic population and writes each as a health system
would have typed it: most match (many in another case, spacing, Unicode form, tone placement or
date format: these must still match), the rest fall in every category of domain.md §7.
"""

from __future__ import annotations

import random
import unicodedata
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass

from integrations.population_registry.simulator.population import Population

FACILITIES = (
    "Trạm Y tế phường Điện Biên",
    "Bệnh viện Đa khoa tỉnh Thái Bình",
    "Trung tâm Y tế quận Hoàn Kiếm",
    "Trạm Y tế xã Tân Hòa",
    "Bệnh viện Nhi Trung ương",
)
# Old-style tone placement (Hòa) and the new style (Hoà) of the same syllables.
TONE_SWAPS = {"òa": "oà", "óa": "oá", "ỏa": "oả", "ọa": "oạ", "ủy": "uỷ", "úy": "uý", "ùy": "uỳ", "ỏe": "oẻ"}
OTHER_NAMES = ("Phương", "Bảo", "Trâm", "Khánh", "Vy", "Nguyên")

# Share of each expected outcome; the rest match. At least 15 % mismatches over all five categories.
MIX = (
    ("wrong_dob", 0.05),
    ("wrong_name", 0.05),
    ("wrong_name_and_dob", 0.03),
    ("id_not_found", 0.04),
    ("other:deceased", 0.01),
    ("other:old_id_only", 0.01),
    ("other:invalid_input", 0.01),
)


@dataclass(frozen=True)
class SyntheticRow:
    reference: str
    personal_id: str
    full_name: str
    birth_date: str
    facility: str
    expected: str  # count key: category or "other:<sub-reason>"
    variant: str  # how a matching record was typed ("" = verbatim)


def _dob_text(iso: str, rng: random.Random) -> str:
    parts = iso.split("-")
    if len(parts) == 3 and rng.random() < 0.5:
        return f"{parts[2]}/{parts[1]}/{parts[0]}"  # DD/MM/YYYY as typed at a counter
    if len(parts) == 2 and rng.random() < 0.5:
        return f"{parts[1]}/{parts[0]}"
    return iso


def _variant(name: str, rng: random.Random) -> tuple[str, str]:
    roll = rng.random()
    if roll < 0.10:
        return name.upper(), "upper"
    if roll < 0.18:
        return name.lower(), "lower"
    if roll < 0.26:
        return "  " + name.replace(" ", "   ") + " ", "spacing"
    if roll < 0.34:
        return unicodedata.normalize("NFD", name), "nfd"
    if roll < 0.50:
        swapped = name
        for old, new in TONE_SWAPS.items():
            swapped = swapped.replace(old, new)
        if swapped != name:
            return swapped, "tone"
    return name, ""


def _other_dob(iso: str, rng: random.Random) -> str:
    year = int(iso[:4])
    # Another year always differs, whatever the registry's precision.
    return f"{year + rng.choice((-3, -2, -1, 1, 2))}-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}"


def _other_name(record, rng: random.Random) -> str:
    choices = [n for n in OTHER_NAMES if n != record.given_name]
    return f"{record.family_name} {record.middle_name} {rng.choice(choices)}"


def synthetic_rows(population: Population, count: int, *, seed: int = 5) -> Iterator[SyntheticRow]:
    """Yield COUNT rows with their expected classification (deterministic for a seed)."""
    rng = random.Random(seed)  # noqa: S311  # nosec B311  # synthetic data, not secrets
    thresholds = []
    acc = 0.0
    for key, share in MIX:
        acc += share
        thresholds.append((acc, key))
    stride = max(1, population.size // max(count, 1))
    for n in range(count):
        i = (n * stride + rng.randrange(stride)) % population.size
        record = population.person(i)
        roll = rng.random()
        expected = next((key for limit, key in thresholds if roll < limit), "matched")
        if expected != "other:deceased" and record.deceased:
            expected = "other:deceased"  # people the registry lists as dead are "other" whatever was typed
        if expected == "other:deceased" and not record.deceased:
            while not record.deceased:
                i = (i + 1) % population.size
                record = population.person(i)
        name, dob, pid, variant = record.full_name, _dob_text(record.birth_date, rng), record.personal_id, ""
        if expected == "matched":
            name, variant = _variant(name, rng)
        elif expected == "wrong_dob":
            dob = _other_dob(record.birth_date, rng)
        elif expected == "wrong_name":
            name = _other_name(record, rng)
        elif expected == "wrong_name_and_dob":
            name, dob = _other_name(record, rng), _other_dob(record.birth_date, rng)
        elif expected == "id_not_found":
            pid = pid[:3] + str(int(pid[3]) ^ 1) + pid[4:]  # same format, other sex digit: nobody holds it
        elif expected == "other:old_id_only":
            pid = record.old_id or f"{rng.randrange(10**8, 10**9)}"
        elif expected == "other:invalid_input":
            pid, name, dob = rng.choice(
                ((pid[:7], name, dob), (pid, "", dob), (pid, name, "31/02/1990"), ("abc" + pid[3:], name, dob))
            )
        yield SyntheticRow(f"R{n + 1:09d}", pid, name, dob, FACILITIES[i % len(FACILITIES)], expected, variant)


def expected_counts(rows: list[SyntheticRow]) -> Counter:
    return Counter(row.expected for row in rows)
