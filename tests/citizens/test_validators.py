"""The 12-digit personal identification number: format, province, century-and-sex digit, birth year."""

from __future__ import annotations

from datetime import date

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from citizens.validators import PROVINCE_CODES, SEX_FEMALE, SEX_MALE, validate_personal_id
from integrations.vneid.simulator import DEMO_CITIZENS

TODAY = date(2026, 6, 1)


def _codes(exc: pytest.ExceptionInfo[ValidationError]) -> set[str]:
    return {error.code for error in exc.value.error_list}


@pytest.mark.parametrize(
    ("number", "province", "sex", "year"),
    [
        ("001095012345", "Hà Nội", SEX_MALE, 1995),  # domain.md's own examples
        ("079301001234", "TP. Hồ Chí Minh", SEX_FEMALE, 2001),
        ("001195012345", "Hà Nội", SEX_FEMALE, 1995),
        ("096000000001", "Cà Mau", SEX_MALE, 1900),
        ("026326000001", "Vĩnh Phúc", SEX_FEMALE, 2026),
    ],
)
def test_valid_numbers_decode(number, province, sex, year):
    info = validate_personal_id(number, today=TODAY)
    assert (info.province_name, info.sex, info.birth_year) == (province, sex, year)
    assert info.province_code == number[:3]


@pytest.mark.parametrize(
    "number",
    [
        "",
        "00109501234",
        "0010950123456",
        "00109501234a",
        " 001095012345",
        "001095 12345",
        "٠٠١٠٩٥٠١٢٣٤٥",
        None,
        1095012345,
    ],
)
def test_format_is_exactly_twelve_ascii_digits(number):
    with pytest.raises(ValidationError) as exc:
        validate_personal_id(number, today=TODAY)
    assert _codes(exc) == {"format"}


@pytest.mark.parametrize("code", ["000", "003", "013", "028", "050", "097", "123", "999"])
def test_unknown_province_code_is_refused(code):
    with pytest.raises(ValidationError) as exc:
        validate_personal_id(f"{code}095012345", today=TODAY)
    assert _codes(exc) == {"province"}


def test_province_table_has_the_63_provinces_before_2025():
    assert len(PROVINCE_CODES) == 63
    assert all(len(code) == 3 and code.isdigit() and code.startswith("0") for code in PROVINCE_CODES)


@pytest.mark.parametrize(
    ("g", "yy", "sex", "year"),
    [
        ("0", "00", SEX_MALE, 1900),
        ("1", "99", SEX_FEMALE, 1999),
        ("2", "00", SEX_MALE, 2000),
        ("3", "26", SEX_FEMALE, 2026),
    ],
)
def test_century_and_sex_digit(g, yy, sex, year):
    info = validate_personal_id(f"001{g}{yy}000001", today=TODAY)
    assert (info.sex, info.birth_year) == (sex, year)


@pytest.mark.parametrize(("g", "yy"), [("2", "27"), ("3", "99"), ("4", "00"), ("5", "10"), ("8", "00"), ("9", "99")])
def test_birth_year_in_the_future_is_refused(g, yy):
    with pytest.raises(ValidationError) as exc:
        validate_personal_id(f"001{g}{yy}000001", today=TODAY)
    assert _codes(exc) == {"century"}


def test_birth_year_must_match_the_date_of_birth():
    assert validate_personal_id("001195012345", birth_date=date(1995, 3, 14), today=TODAY).birth_year == 1995
    with pytest.raises(ValidationError) as exc:
        validate_personal_id("001195012345", birth_date=date(1996, 3, 14), today=TODAY)
    assert _codes(exc) == {"birth_year"}
    # Same YY, other century: G=3 means 2000-2099.
    with pytest.raises(ValidationError) as exc:
        validate_personal_id("001395012345", birth_date=date(1995, 3, 14), today=TODAY)
    assert _codes(exc) == {"century"}
    with pytest.raises(ValidationError) as exc:
        validate_personal_id("001301012345", birth_date=date(1901, 1, 1), today=TODAY)
    assert _codes(exc) == {"birth_year"}


def test_every_problem_is_reported_at_once():
    with pytest.raises(ValidationError) as exc:
        validate_personal_id("123495012345", today=TODAY)
    assert _codes(exc) == {"province", "century"}


def test_messages_are_translated():
    with pytest.raises(ValidationError) as exc:
        validate_personal_id("123", today=TODAY)
    with translation.override("en"):
        assert exc.value.messages == ["A personal identification number has exactly 12 digits."]
    with translation.override("vi"):
        assert exc.value.messages == ["Số định danh cá nhân gồm đúng 12 chữ số."]
    with pytest.raises(ValidationError) as exc:
        validate_personal_id("999095012345", today=TODAY)
    with translation.override("en"):
        assert exc.value.messages == ["999 is not the province code of a personal identification number."]
    with translation.override("vi"):
        assert exc.value.messages == ["999 không phải mã tỉnh của số định danh cá nhân."]


def test_today_defaults_to_the_local_date():
    assert validate_personal_id("001095012345").birth_year == 1995


@pytest.mark.parametrize("citizen", DEMO_CITIZENS, ids=lambda c: c.national_id)
def test_demo_citizens_of_the_simulator_are_valid(citizen):
    info = validate_personal_id(citizen.national_id, birth_date=date.fromisoformat(citizen.birthdate))
    assert info.sex == (SEX_MALE if citizen.gender == "male" else SEX_FEMALE)
