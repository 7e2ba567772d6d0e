"""The structure of a 12-digit ID number (số định danh cá nhân / số căn cước) and the
masks used to show personal numbers without revealing them.

Per Circular 59/2021/TT-BCA (art. 7): digits 1-3 are the code of the province where the
birth was registered, digit 4 encodes century and sex, digits 5-6 are the last two digits
of the birth year, digits 7-12 are a random serial. The province codes are the 63 codes
of the provinces *before* the 2025 merger: nobody's ID number changed on 1/7/2025, so
a person born in Hải Dương keeps 030 although Hải Dương is now part of Hải Phòng.

Pure Python without dependencies: the portal sandbox (Python 3.11) and the action
server's validators (Python 3.10) share it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

# Circular 59/2021/TT-BCA, appendix: code of the province of birth registration.
BIRTH_PROVINCES: dict[str, str] = {
    "001": "Hà Nội", "002": "Hà Giang", "004": "Cao Bằng", "006": "Bắc Kạn", "008": "Tuyên Quang",
    "010": "Lào Cai", "011": "Điện Biên", "012": "Lai Châu", "014": "Sơn La", "015": "Yên Bái",
    "017": "Hòa Bình", "019": "Thái Nguyên", "020": "Lạng Sơn", "022": "Quảng Ninh", "024": "Bắc Giang",
    "025": "Phú Thọ", "026": "Vĩnh Phúc", "027": "Bắc Ninh", "030": "Hải Dương", "031": "Hải Phòng",
    "033": "Hưng Yên", "034": "Thái Bình", "035": "Hà Nam", "036": "Nam Định", "037": "Ninh Bình",
    "038": "Thanh Hóa", "040": "Nghệ An", "042": "Hà Tĩnh", "044": "Quảng Bình", "045": "Quảng Trị",
    "046": "Thừa Thiên Huế", "048": "Đà Nẵng", "049": "Quảng Nam", "051": "Quảng Ngãi",
    "052": "Bình Định", "054": "Phú Yên", "056": "Khánh Hòa", "058": "Ninh Thuận", "060": "Bình Thuận",
    "062": "Kon Tum", "064": "Gia Lai", "066": "Đắk Lắk", "067": "Đắk Nông", "068": "Lâm Đồng",
    "070": "Bình Phước", "072": "Tây Ninh", "074": "Bình Dương", "075": "Đồng Nai",
    "077": "Bà Rịa - Vũng Tàu", "079": "Hồ Chí Minh", "080": "Long An", "082": "Tiền Giang",
    "083": "Bến Tre", "084": "Trà Vinh", "086": "Vĩnh Long", "087": "Đồng Tháp", "089": "An Giang",
    "091": "Kiên Giang", "092": "Cần Thơ", "093": "Hậu Giang", "094": "Sóc Trăng", "095": "Bạc Liêu",
    "096": "Cà Mau",
}

MALE, FEMALE = "nam", "nữ"

# Mobile prefixes in use since the 2018 switch to 10 digits (Viettel, MobiFone, VinaPhone,
# Vietnamobile, Gmobile, Itelecom, Reddi).
MOBILE_PREFIXES: frozenset[str] = frozenset({
    "032", "033", "034", "035", "036", "037", "038", "039", "086", "096", "097", "098",
    "070", "076", "077", "078", "079", "089", "090", "093",
    "081", "082", "083", "084", "085", "088", "091", "094",
    "052", "056", "058", "092", "059", "099", "087", "055",
})

_SEPARATORS = re.compile(r"[\s.\-]")


class IdNumberError(ValueError):
    """A number that cannot be an ID number; the message is for the citizen (Vietnamese)."""


@dataclass(frozen=True)
class IdNumber:
    value: str
    province_code: str
    province: str  # province of birth registration, by its pre-2025 name
    sex: str  # MALE | FEMALE
    birth_year: int


def parse_id_number(text: str) -> IdNumber:
    """The parts of an ID number typed with or without spaces/dots; IdNumberError if it
    cannot be one (wrong length, unknown province code)."""
    digits = _SEPARATORS.sub("", text or "")
    if not digits.isdigit() or len(digits) != 12:
        shown = len(digits) if digits.isdigit() else "không phải"
        raise IdNumberError(f"Số định danh cá nhân phải gồm đúng 12 chữ số ({shown} chữ số); "
                            "anh/chị kiểm tra lại giúp em.")
    province = BIRTH_PROVINCES.get(digits[:3])
    if province is None:
        raise IdNumberError(f"Ba số đầu '{digits[:3]}' không phải mã tỉnh nơi đăng ký khai sinh; "
                            "anh/chị kiểm tra lại số định danh giúp em.")
    century_sex = int(digits[3])
    return IdNumber(value=digits, province_code=digits[:3], province=province,
                    sex=MALE if century_sex % 2 == 0 else FEMALE,
                    birth_year=1900 + 100 * (century_sex // 2) + int(digits[4:6]))


def id_number_problems(number: IdNumber, born: date, sex: str) -> list[str]:
    """Why an ID number does not fit a date of birth and sex (empty when it does)."""
    problems = []
    if number.birth_year != born.year:
        problems.append(f"Số định danh cho năm sinh {number.birth_year}, nhưng ngày sinh là "
                        f"{born:%d/%m/%Y}.")
    if number.sex != sex:
        problems.append(f"Chữ số thứ tư của số định danh ứng với giới tính {number.sex}, "
                        f"không phải {sex}.")
    return problems


def make_id_number(province_code: str, sex: str, birth_year: int, serial: int) -> str:
    """Builds an ID number (for synthetic data): the inverse of `parse_id_number`."""
    if province_code not in BIRTH_PROVINCES or not 1900 <= birth_year <= 2399 or not 0 <= serial < 10**6:
        raise ValueError("province code, birth year or serial out of range")
    century_sex = 2 * ((birth_year - 1900) // 100) + (0 if sex == MALE else 1)
    return f"{province_code}{century_sex}{birth_year % 100:02d}{serial:06d}"


def is_mobile_phone(text: str) -> bool:
    digits = _SEPARATORS.sub("", text or "")
    return len(digits) == 10 and digits.isdigit() and digits[:3] in MOBILE_PREFIXES


def mask_id_number(value: str) -> str:
    """'022190001234' -> '022*******34': the province code and last two digits, enough for a
    citizen to recognise their number on screen or in a log."""
    return value[:3] + "*" * (len(value) - 5) + value[-2:] if len(value) > 5 else "*" * len(value)


def mask_phone(value: str) -> str:
    """'0912345612' -> '09******12'."""
    return value[:2] + "*" * (len(value) - 4) + value[-2:] if len(value) > 4 else "*" * len(value)
