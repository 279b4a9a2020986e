"""Identity comparison rules (domain.md §7; written down in docs/identity-matching.md).

Pure functions, no Django: classify one input record against the population database's answer.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from integrations.population_registry.base import CitizenRecord
from integrations.population_registry.simulator.population import PROVINCE_INDEX

MATCHED = "matched"
WRONG_DOB = "wrong_dob"
WRONG_NAME = "wrong_name"
WRONG_NAME_AND_DOB = "wrong_name_and_dob"
ID_NOT_FOUND = "id_not_found"
OTHER = "other"
CATEGORIES = (MATCHED, WRONG_DOB, WRONG_NAME, WRONG_NAME_AND_DOB, ID_NOT_FOUND, OTHER)
MISMATCHES = (WRONG_DOB, WRONG_NAME, WRONG_NAME_AND_DOB, ID_NOT_FOUND, OTHER)

DECEASED = "deceased"
OLD_ID_ONLY = "old_id_only"
INVALID_INPUT = "invalid_input"
SERVICE_ERROR = "service_error"
SUB_REASONS = (DECEASED, OLD_ID_ONLY, INVALID_INPUT, SERVICE_ERROR)

# Tone marks (after NFD): huyền, sắc, ngã, hỏi, nặng. Their position inside a syllable is a spelling
# convention (Hòa / Hoà, Thủy / Thuỷ), never a different name, so a syllable is compared as
# (letters without tone marks, tone).
TONES = {"\u0300": "`", "\u0301": "'", "\u0303": "~", "\u0309": "?", "\u0323": "."}
INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"))
LOOKALIKES = {ord("\u00d0"): "\u0110", ord("\u00f0"): "\u0111"}  # Icelandic eth typed for Vietnamese Đ/đ
_DATE_SPLIT = re.compile(r"[/.\-\s]+")


class InvalidInput(ValueError):
    """An input field cannot be read (the record is classified OTHER / invalid_input)."""


@lru_cache(maxsize=100_000)
def _syllable_key(word: str) -> str:
    letters = []
    tones = []
    for char in unicodedata.normalize("NFD", word):
        tone = TONES.get(char)
        if tone is None:
            letters.append(char)
        else:
            tones.append(tone)
    return unicodedata.normalize("NFC", "".join(letters)).upper() + "".join(tones)


@lru_cache(maxsize=200_000)
def name_key(name: str) -> str:
    """Return the comparison key of a full name: NFC, invisible characters removed, spaces collapsed,
    upper case, tone-mark placement normalised. Diacritics other than placement still count."""
    cleaned = unicodedata.normalize("NFC", name.translate(INVISIBLE).translate(LOOKALIKES))
    return " ".join(_syllable_key(word) for word in cleaned.split())


@dataclass(frozen=True)
class PartialDate:
    """A date of birth of some precision: year, year and month, or full."""

    year: int
    month: int | None = None
    day: int | None = None

    def iso(self) -> str:
        return "-".join(f"{v:0{n}d}" for v, n in ((self.year, 4), (self.month, 2), (self.day, 2)) if v is not None)


def _checked(year: int, month: int | None, day: int | None) -> PartialDate:
    if not 1850 <= year <= 2200:
        raise InvalidInput("year out of range")
    if month is not None and not 1 <= month <= 12:
        raise InvalidInput("month out of range")
    if day is not None:
        try:
            date(year, month or 1, day)
        except ValueError as exc:
            raise InvalidInput("no such day") from exc
    return PartialDate(year, month, day)


@lru_cache(maxsize=50_000)
def parse_birth_date(value: str) -> PartialDate:
    """Read a date of birth: YYYY-MM-DD, DD/MM/YYYY (also - . separators), MM/YYYY, YYYY-MM, YYYY,
    YYYYMMDD, DDMMYYYY (the chip-card QR code's form). Raise InvalidInput otherwise."""
    text = (value or "").strip()
    if not text:
        raise InvalidInput("empty date")
    if text.isdigit():
        if len(text) == 4:
            return _checked(int(text), None, None)
        if len(text) == 6:
            return _checked(int(text[:4]), int(text[4:]), None)  # yyyyMM (the registry's NgayThangNam)
        if len(text) == 8:
            if 1850 <= int(text[:4]) <= 2200 and 1 <= int(text[4:6]) <= 12:
                return _checked(int(text[:4]), int(text[4:6]), int(text[6:]))
            return _checked(int(text[4:]), int(text[2:4]), int(text[:2]))
        raise InvalidInput("unreadable date")
    parts = _DATE_SPLIT.split(text)
    if not all(p.isdigit() for p in parts) or not 2 <= len(parts) <= 3:
        raise InvalidInput("unreadable date")
    numbers = [int(p) for p in parts]
    if len(parts[0]) == 4:  # year first
        year, month, *rest = numbers
        return _checked(year, month, rest[0] if rest else None)
    if len(parts[-1]) == 4:  # year last: DD/MM/YYYY or MM/YYYY
        if len(parts) == 3:
            return _checked(numbers[2], numbers[1], numbers[0])
        return _checked(numbers[1], numbers[0], None)
    raise InvalidInput("unreadable date")


def compare_birth_dates(given: PartialDate, known: PartialDate) -> tuple[bool, bool]:
    """Return (match, partial): the parts both dates know agree; partial when either lacks a part."""
    partial = (given.month is None) != (known.month is None) or (given.day is None) != (known.day is None)
    if given.year != known.year:
        return False, partial
    if given.month is not None and known.month is not None and given.month != known.month:
        return False, partial
    if given.day is not None and known.day is not None and given.day != known.day:
        return False, partial
    return True, partial


def clean_personal_id(value: str) -> str:
    """Return the ID with spaces, dots and dashes removed (as typed or exported by spreadsheets)."""
    return (value or "").strip().replace(" ", "").replace(".", "").replace("-", "")


def id_problem(personal_id: str) -> str | None:
    """Return OLD_ID_ONLY for a 9-digit number, INVALID_INPUT for anything that is not a
    well-formed 12-digit personal ID (format, province code), or None if it is well-formed."""
    if len(personal_id) == 9 and personal_id.isdigit():
        return OLD_ID_ONLY
    if len(personal_id) != 12 or not personal_id.isdigit() or personal_id[:3] not in PROVINCE_INDEX:
        return INVALID_INPUT
    return None


@dataclass(frozen=True)
class Verdict:
    """The classification of one record, with per-field results (None = not compared)."""

    category: str
    sub_reason: str = ""
    name_match: bool | None = None
    dob_match: bool | None = None
    dob_partial: bool = False


def classify(*, full_name: str, birth_date: str, record: CitizenRecord | None) -> Verdict:
    """Classify an input (already past the ID checks) against the registry's RECORD (None = not found)."""
    if not name_key(full_name):
        return Verdict(OTHER, INVALID_INPUT)
    try:
        given = parse_birth_date(birth_date)
    except InvalidInput:
        return Verdict(OTHER, INVALID_INPUT)
    if record is None:
        return Verdict(ID_NOT_FOUND)
    name_ok = name_key(full_name) == name_key(record.full_name)
    try:
        dob_ok, partial = compare_birth_dates(given, parse_birth_date(record.birth_date))
    except InvalidInput:
        dob_ok, partial = False, False
    if record.deceased:
        return Verdict(OTHER, DECEASED, name_ok, dob_ok, partial)
    if name_ok and dob_ok:
        category = MATCHED
    elif name_ok:
        category = WRONG_DOB
    elif dob_ok:
        category = WRONG_NAME
    else:
        category = WRONG_NAME_AND_DOB
    return Verdict(category, "", name_ok, dob_ok, partial)
