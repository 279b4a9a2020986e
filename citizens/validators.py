"""The 12-digit personal identification number (số định danh cá nhân): structure checks and decoding.

Structure PPP G YY NNNNNN (Circular 59/2021/TT-BCA; domain.md §3.1): PPP the province of birth registration,
G the century-and-sex digit, YY the last two digits of the birth year, NNNNNN a random sequence. There is no
public check digit, so nothing here pretends to verify one.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

# The 63 provinces before the 2025 merger: numbers already issued keep their prefix, so this table is for
# validating and decoding numbers only, never for addresses.
PROVINCE_CODES: dict[str, str] = {
    "001": "Hà Nội",
    "002": "Hà Giang",
    "004": "Cao Bằng",
    "006": "Bắc Kạn",
    "008": "Tuyên Quang",
    "010": "Lào Cai",
    "011": "Điện Biên",
    "012": "Lai Châu",
    "014": "Sơn La",
    "015": "Yên Bái",
    "017": "Hòa Bình",
    "019": "Thái Nguyên",
    "020": "Lạng Sơn",
    "022": "Quảng Ninh",
    "024": "Bắc Giang",
    "025": "Phú Thọ",
    "026": "Vĩnh Phúc",  # missing from domain.md's table (62 rows for 63 provinces); 26 in Decision 124/2004
    "027": "Bắc Ninh",
    "030": "Hải Dương",
    "031": "Hải Phòng",
    "033": "Hưng Yên",
    "034": "Thái Bình",
    "035": "Hà Nam",
    "036": "Nam Định",
    "037": "Ninh Bình",
    "038": "Thanh Hóa",
    "040": "Nghệ An",
    "042": "Hà Tĩnh",
    "044": "Quảng Bình",
    "045": "Quảng Trị",
    "046": "Thừa Thiên Huế",
    "048": "Đà Nẵng",
    "049": "Quảng Nam",
    "051": "Quảng Ngãi",
    "052": "Bình Định",
    "054": "Phú Yên",
    "056": "Khánh Hòa",
    "058": "Ninh Thuận",
    "060": "Bình Thuận",
    "062": "Kon Tum",
    "064": "Gia Lai",
    "066": "Đắk Lắk",
    "067": "Đắk Nông",
    "068": "Lâm Đồng",
    "070": "Bình Phước",
    "072": "Tây Ninh",
    "074": "Bình Dương",
    "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu",
    "079": "TP. Hồ Chí Minh",
    "080": "Long An",
    "082": "Tiền Giang",
    "083": "Bến Tre",
    "084": "Trà Vinh",
    "086": "Vĩnh Long",
    "087": "Đồng Tháp",
    "089": "An Giang",
    "091": "Kiên Giang",
    "092": "Cần Thơ",
    "093": "Hậu Giang",
    "094": "Sóc Trăng",
    "095": "Bạc Liêu",
    "096": "Cà Mau",
}

SEX_MALE = "M"
SEX_FEMALE = "F"

# ASCII digits only: \d would also accept other scripts' digits.
_FORMAT = re.compile(r"[0-9]{12}")


@dataclass(frozen=True)
class PersonalIdInfo:
    """What a valid number says about its holder."""

    province_code: str
    province_name: str
    sex: str  # SEX_MALE or SEX_FEMALE
    birth_year: int


def validate_personal_id(value: str, *, birth_date: date | None = None, today: date | None = None) -> PersonalIdInfo:
    """Check a 12-digit personal ID number (and its birth year against BIRTH_DATE); raise ValidationError."""
    if not isinstance(value, str) or not _FORMAT.fullmatch(value):
        raise ValidationError(_("A personal identification number has exactly 12 digits."), code="format")
    province_code, century_sex, year_digits = value[:3], int(value[3]), int(value[4:6])
    # G: 0/1 for 1900-1999, 2/3 for 2000-2099, ... 8/9 for 2300-2399; even is male, odd is female.
    birth_year = 1900 + 100 * (century_sex // 2) + year_digits
    today = today or timezone.localdate()
    errors = []
    if province_code not in PROVINCE_CODES:
        errors.append(
            ValidationError(
                _("%(code)s is not the province code of a personal identification number."),
                code="province",
                params={"code": province_code},
            )
        )
    if birth_year > today.year:
        errors.append(
            ValidationError(
                _("The century digit and the year digits give a birth year in the future (%(year)s)."),
                code="century",
                params={"year": birth_year},
            )
        )
    elif birth_date is not None and birth_date.year != birth_year:
        errors.append(
            ValidationError(
                _("The birth year in the number (%(year)s) does not match the date of birth (%(birth_year)s)."),
                code="birth_year",
                params={"year": birth_year, "birth_year": birth_date.year},
            )
        )
    if errors:
        raise ValidationError(errors)
    return PersonalIdInfo(
        province_code=province_code,
        province_name=PROVINCE_CODES[province_code],
        sex=SEX_MALE if century_sex % 2 == 0 else SEX_FEMALE,
        birth_year=birth_year,
    )
