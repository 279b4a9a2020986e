"""A deterministic synthetic population: person number i <-> a valid personal ID, and back.

Nobody here is real. Person i (0 <= i < size) lives in province PROVINCES[i % 63]; k = i // 63 gives
the birth year 1930 + k % 90 and the sequence k // 90; a keyed 64-bit mix of i gives sex, name,
day of birth, precision of the birth date, residence and whether the person has died. The ID
follows domain.md §3.1 (province, century-and-sex digit, year, six-digit sequence), so a number
decodes back to i without any table: a population of any size costs no memory.
"""

from __future__ import annotations

from datetime import UTC, datetime

from integrations.population_registry.base import CitizenRecord

PROVINCES = (
    ("001", "Hà Nội"), ("002", "Hà Giang"), ("004", "Cao Bằng"), ("006", "Bắc Kạn"), ("008", "Tuyên Quang"),
    ("010", "Lào Cai"), ("011", "Điện Biên"), ("012", "Lai Châu"), ("014", "Sơn La"), ("015", "Yên Bái"),
    ("017", "Hòa Bình"), ("019", "Thái Nguyên"), ("020", "Lạng Sơn"), ("022", "Quảng Ninh"), ("024", "Bắc Giang"),
    ("025", "Phú Thọ"), ("026", "Vĩnh Phúc"), ("027", "Bắc Ninh"), ("030", "Hải Dương"), ("031", "Hải Phòng"),
    ("033", "Hưng Yên"), ("034", "Thái Bình"), ("035", "Hà Nam"), ("036", "Nam Định"), ("037", "Ninh Bình"),
    ("038", "Thanh Hóa"), ("040", "Nghệ An"), ("042", "Hà Tĩnh"), ("044", "Quảng Bình"), ("045", "Quảng Trị"),
    ("046", "Thừa Thiên Huế"), ("048", "Đà Nẵng"), ("049", "Quảng Nam"), ("051", "Quảng Ngãi"), ("052", "Bình Định"),
    ("054", "Phú Yên"), ("056", "Khánh Hòa"), ("058", "Ninh Thuận"), ("060", "Bình Thuận"), ("062", "Kon Tum"),
    ("064", "Gia Lai"), ("066", "Đắk Lắk"), ("067", "Đắk Nông"), ("068", "Lâm Đồng"), ("070", "Bình Phước"),
    ("072", "Tây Ninh"), ("074", "Bình Dương"), ("075", "Đồng Nai"), ("077", "Bà Rịa - Vũng Tàu"),
    ("079", "TP. Hồ Chí Minh"), ("080", "Long An"), ("082", "Tiền Giang"), ("083", "Bến Tre"), ("084", "Trà Vinh"),
    ("086", "Vĩnh Long"), ("087", "Đồng Tháp"), ("089", "An Giang"), ("091", "Kiên Giang"), ("092", "Cần Thơ"),
    ("093", "Hậu Giang"), ("094", "Sóc Trăng"), ("095", "Bạc Liêu"), ("096", "Cà Mau"),
)  # fmt: skip
PROVINCE_INDEX = {code: n for n, (code, _) in enumerate(PROVINCES)}
FIRST_YEAR, YEARS = 1930, 90
MASK = (1 << 64) - 1

FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô",
          "Dương", "Lý", "Đinh", "Trịnh", "Đoàn", "Lương")  # fmt: skip
MIDDLE = {
    "Nam": ("Văn", "Hữu", "Đức", "Minh", "Quốc", "Thành", "Công", "Xuân", "Quang", "Ngọc"),
    "Nữ": ("Thị", "Ngọc", "Thu", "Thanh", "Minh", "Thúy", "Kim", "Hồng", "Diệu", "Bảo"),
}
GIVEN = {
    "Nam": ("An", "Bình", "Cường", "Dũng", "Hòa", "Hùng", "Khỏe", "Long", "Nghĩa", "Phúc", "Quý", "Sơn", "Tuấn",
            "Thủy", "Toàn", "Việt", "Hoàng", "Đạt", "Khoa", "Huy"),
    "Nữ": ("Anh", "Chi", "Dung", "Giang", "Hà", "Hòa", "Hương", "Lan", "Linh", "Loan", "Mai", "Ngọc", "Nhung",
           "Oanh", "Quỳnh", "Thảo", "Thủy", "Thúy", "Trang", "Yến"),
}  # fmt: skip
STREETS = ("Lê Lợi", "Trần Hưng Đạo", "Nguyễn Trãi", "Hai Bà Trưng", "Quang Trung", "Lý Thường Kiệt", "Hùng Vương")
DATA_TIME = datetime(2026, 1, 1, tzinfo=UTC).strftime("%Y%m%d%H%M%S")


def mix(value: int, seed: int) -> int:
    """Return splitmix64 of VALUE keyed by SEED (a fast, well-spread deterministic hash)."""
    z = (value + seed * 0x9E3779B97F4A7C15 + 0x9E3779B97F4A7C15) & MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
    return z ^ (z >> 31)


class Population:
    """SIZE synthetic people drawn from SEED; look-ups cost O(1) time and no memory."""

    def __init__(self, *, size: int, seed: int = 2026) -> None:
        if not 0 <= size <= len(PROVINCES) * YEARS * 1_000_000:
            raise ValueError("population size out of range")
        self.size = size
        self.seed = seed

    def personal_id(self, i: int) -> str:
        """Return the ID of person I."""
        province, k = i % len(PROVINCES), i // len(PROVINCES)
        year = FIRST_YEAR + k % YEARS
        sex_bit = mix(i, self.seed) & 1
        century_digit = (year // 100 - 19) * 2 + sex_bit
        return f"{PROVINCES[province][0]}{century_digit}{year % 100:02d}{k // YEARS:06d}"

    def index(self, personal_id: str) -> int | None:
        """Return the person number of PERSONAL_ID, or None if nobody here holds it."""
        if len(personal_id) != 12 or not personal_id.isdigit():
            return None
        province = PROVINCE_INDEX.get(personal_id[:3])
        if province is None:
            return None
        digit = int(personal_id[3])
        year = 1900 + 100 * (digit // 2) + int(personal_id[4:6])
        if not FIRST_YEAR <= year < FIRST_YEAR + YEARS:
            return None
        k = int(personal_id[6:]) * YEARS + (year - FIRST_YEAR)
        i = k * len(PROVINCES) + province
        if i >= self.size or mix(i, self.seed) & 1 != digit % 2:
            return None
        return i

    def person(self, i: int) -> CitizenRecord:
        """Return person I's record."""
        h = mix(i, self.seed)
        province, k = i % len(PROVINCES), i // len(PROVINCES)
        year = FIRST_YEAR + k % YEARS
        sex = "Nữ" if h & 1 else "Nam"
        month, day = (h >> 20) % 12 + 1, (h >> 24) % 28 + 1
        precision = (h >> 32) % 100
        if precision < 2:
            birth = f"{year:04d}"  # year only: common in records of older people
        elif precision < 3:
            birth = f"{year:04d}-{month:02d}"
        else:
            birth = f"{year:04d}-{month:02d}-{day:02d}"
        return CitizenRecord(
            personal_id=self.personal_id(i),
            old_id=f"{(h >> 8) % 10**9:09d}" if year < 1990 else "",
            family_name=FAMILY[(h >> 1) % len(FAMILY)],
            middle_name=MIDDLE[sex][(h >> 6) % 10],
            given_name=GIVEN[sex][(h >> 12) % 20],
            birth_date=birth,
            sex=sex,
            residence=f"Số {(h >> 44) % 300 + 1} {STREETS[(h >> 52) % len(STREETS)]}, {PROVINCES[province][1]}",
            deceased=(h >> 40) % 100 == 0,  # about 1 %
            data_time=DATA_TIME,
        )

    def find(self, personal_id: str) -> CitizenRecord | None:
        """Return the record of PERSONAL_ID, or None."""
        i = self.index(personal_id)
        return None if i is None else self.person(i)
