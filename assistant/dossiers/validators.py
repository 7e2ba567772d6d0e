"""Validators for the answers a citizen types while filling a residence dossier in chat.

Each validator takes the raw text and returns the parsed value or raises `FieldError`,
whose message is a polite Vietnamese sentence saying what is wrong and giving an example.
Input typed without diacritics works ("5 thang 3 nam 1990", "2 nam", "con trai"): the text
is folded with `assistant.text.normalize.fold` before matching.

Addresses are resolved to a 2025 commune (xã, phường, đặc khu) from `vietnam-provinces`;
pre-2025 addresses (with a district, or a merged province) are converted with the old->new
ward table that `underthesea` ships (underthesea/address/data/mapping.json, built from
`vietnamadminunits`), joined to the `vietnam-provinces` codes by name.
"""
from __future__ import annotations

import calendar
import json
import re
import unicodedata
from dataclasses import dataclass
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from types import MappingProxyType
from typing import Callable, Iterable, Mapping

from assistant.identity import (
    FEMALE,
    MALE,
    IdNumberError,
    id_number_problems,
    is_mobile_phone,
    parse_id_number,
)
from assistant.text.normalize import fold

__all__ = [
    "MAX_INPUT_CHARS", "RELATIONS", "FieldError", "ResolvedAddress", "format_date", "parse_date",
    "parse_free_text", "parse_id_number_field", "parse_id_numbers", "parse_phone", "parse_relation",
    "parse_stay_months", "resolve_address",
]

MAX_INPUT_CHARS = 500
MAX_STAY_MONTHS = 24  # Luật Cư trú 2020, art. 27: at most 2 years per registration, renewable


class FieldError(ValueError):
    """An answer that cannot be used; the message is for the citizen (Vietnamese)."""


def _clean(text: str, missing: str) -> str:
    """NFC, whitespace collapsed; FieldError when empty or longer than MAX_INPUT_CHARS."""
    if not isinstance(text, str):
        text = ""
    text = unicodedata.normalize("NFC", text)
    if len(text) > MAX_INPUT_CHARS:
        raise FieldError(f"Câu trả lời dài quá ({len(text)} ký tự, tối đa {MAX_INPUT_CHARS}); "
                         "anh/chị nhắn ngắn gọn giúp em.")
    text = " ".join("".join(" " if unicodedata.category(ch) == "Cc" else ch for ch in text).split())
    if not text:
        raise FieldError(missing)
    return text


def _words(text: str) -> list[str]:
    """Folded words and numbers ("Ngày 5/3" -> ["ngay", "5", "3"])."""
    return re.findall(r"[a-z]+|\d+", fold(text))


# --------------------------------------------------------------------------- dates

_DATE_EXAMPLE = "ví dụ 05/03/1990 hoặc \"ngày 5 tháng 3 năm 1990\""
_NUMERIC_DATE = re.compile(r"(?<!\d)(\d{1,4})\s*([/.\-])\s*(\d{1,2})\s*\2\s*(\d{1,4})(?!\d)")
_WORDED_DATE = re.compile(r"(?<!\d)(\d{1,2})\s*(?:thang|thg|th|t)\s*(\d{1,2})\s*(?:nam|n|,)?\s*(\d{1,4})"
                          r"(?!\d)")
_COMPACT_DATE = re.compile(r"(?<![\d/.\-])(\d{2})(\d{2})(\d{4})(?![\d/.\-])")
_PARTIAL_DATE = re.compile(r"(?<!\d)\d{1,2}\s*[/.\-]\s*\d{1,4}(?!\d)|\d{1,2}\s*(?:thang|thg)\s*\d{1,2}"
                           r"|thang\s*\d{1,2}\s*(?:nam|/)\s*\d{4}")
_RELATIVE_DAYS = {"hom nay": 0, "bay gio": 0, "mai": 1, "hom qua": -1, "kia": 2}  # "ngày" is a filler
_FILLERS = re.compile(r"\b(?:la|a|ạ|nhe|nha|nhen|ah|ngay)\b")


def format_date(d: date) -> str:
    """date(1990, 3, 5) -> "05/03/1990"."""
    return f"{d.day:02d}/{d.month:02d}/{d.year:04d}"


def parse_date(text: str, *, today: date, allow_future: bool = False, earliest: date | None = None) -> date:
    """A day typed day-first ("5/3/1990", "ngay 5 thang 3 nam 1990", "1990-03-05", "hôm nay")."""
    cleaned = _clean(text, f"Anh/chị chưa nhập ngày; anh/chị nhắn ngày, tháng, năm, {_DATE_EXAMPLE}.")
    folded = fold(cleaned)
    day = _relative_day(folded, today)
    if day is None:
        day = _calendar_day(folded)
    if not allow_future and day > today:
        raise FieldError(f"Ngày {format_date(day)} chưa tới (hôm nay là {format_date(today)}); "
                         "anh/chị kiểm tra lại giúp em.")
    if earliest is not None and day < earliest:
        raise FieldError(f"Ngày {format_date(day)} sớm hơn ngày {format_date(earliest)}; anh/chị nhắn "
                         f"một ngày từ {format_date(earliest)} trở đi giúp em.")
    return day


def _relative_day(folded: str, today: date) -> date | None:
    words = " ".join(_FILLERS.sub(" ", re.sub(r"[^\w\s]", " ", folded)).split())
    offset = _RELATIVE_DAYS.get(words)
    return None if offset is None else today + timedelta(days=offset)


def _calendar_day(folded: str) -> date:
    found: list[tuple[str, str, str]] = []
    for match in _NUMERIC_DATE.finditer(folded):
        first, _, middle, last = match.groups()
        found.append((last, middle, first) if len(first) == 4 else (first, middle, last))
    if not found:
        found = [m.groups() for m in _WORDED_DATE.finditer(folded)]
    if not found:
        found = [m.groups() for m in _COMPACT_DATE.finditer(folded)]
    if not found:
        if _PARTIAL_DATE.search(folded):
            raise FieldError(f"Anh/chị nhắn đủ cả ngày, tháng và năm giúp em, {_DATE_EXAMPLE}.")
        if re.fullmatch(r"\D*\d{4}\D*", folded):
            raise FieldError(f"Em mới thấy năm; anh/chị nhắn đủ ngày, tháng, năm giúp em, {_DATE_EXAMPLE}.")
        raise FieldError(f"Em chưa đọc được ngày; anh/chị nhắn theo thứ tự ngày/tháng/năm, {_DATE_EXAMPLE}.")
    if len(set(found)) > 1:
        raise FieldError(f"Em thấy nhiều hơn một ngày; anh/chị chỉ nhắn một ngày thôi, {_DATE_EXAMPLE}.")
    day_text, month_text, year_text = found[0]
    return _make_date(int(day_text), int(month_text), year_text)


def _make_date(day: int, month: int, year_text: str) -> date:
    if len(year_text) != 4:
        raise FieldError(f"Năm cần ghi đủ 4 chữ số (ví dụ 1990 chứ không phải 90) để em không hiểu nhầm; "
                         f"anh/chị nhắn lại, {_DATE_EXAMPLE}.")
    year = int(year_text)
    if not 1900 <= year <= 2100:
        raise FieldError(f"Năm {year} không hợp lệ; anh/chị kiểm tra lại, {_DATE_EXAMPLE}.")
    if not 1 <= month <= 12:
        raise FieldError(f"Không có tháng {month} (tháng chỉ từ 1 đến 12); anh/chị nhắn theo thứ tự "
                         f"ngày/tháng/năm, {_DATE_EXAMPLE}.")
    days_in_month = calendar.monthrange(year, month)[1]
    if not 1 <= day <= days_in_month:
        raise FieldError(f"Tháng {month} năm {year} chỉ có {days_in_month} ngày, không có ngày {day}; "
                         "anh/chị kiểm tra lại giúp em.")
    return date(year, month, day)


# --------------------------------------------------------------------------- ID numbers and phones

_ID_EXAMPLE = "ví dụ 022090001234"
_DIGIT_RUN = re.compile(r"\+?\(?\d[\d\s.\-()]*\d|\d")


def _digit_runs(text: str) -> list[str]:
    """The numbers in `text` with their spaces, dots, dashes and brackets removed."""
    return [re.sub(r"\D", "", run) if not run.startswith("+") else "+" + re.sub(r"\D", "", run)
            for run in _DIGIT_RUN.findall(text)]


def _spaced_numbers(text: str) -> list[str]:
    """The numbers in `text` when only spaces separate them ("0912345678 0987654321")."""
    return re.findall(r"\+?\d+", re.sub(r"(?<=\d)[.\-](?=\d)", "", text))


def _id_number(digits: str) -> str:
    if len(digits) == 9:
        raise FieldError("Đây có vẻ là số chứng minh nhân dân cũ (9 chữ số); em cần số định danh cá nhân "
                         f"12 chữ số in trên thẻ căn cước, {_ID_EXAMPLE}.")
    try:
        return parse_id_number(digits).value
    except IdNumberError as error:
        raise FieldError(str(error)) from None


def parse_id_number_field(text: str, *, born: date | None = None, sex: str | None = None) -> str:
    """The 12 digits of an ID number typed with spaces, dots or words around it."""
    cleaned = _clean(text, f"Anh/chị chưa nhập số định danh cá nhân (12 chữ số), {_ID_EXAMPLE}.")
    runs = [run.lstrip("+") for run in _digit_runs(cleaned)]
    if not runs:
        raise FieldError(f"Em chưa thấy số định danh cá nhân; anh/chị nhắn đủ 12 chữ số, {_ID_EXAMPLE}.")
    twelve = sorted({run for run in runs if len(run) == 12})
    if not twelve and len({part for part in _spaced_numbers(cleaned) if len(part) == 12}) > 1:
        twelve = ["", ""]
    if len(twelve) > 1:
        raise FieldError(f"Em thấy nhiều hơn một số; anh/chị chỉ nhắn một số định danh thôi, {_ID_EXAMPLE}.")
    value = _id_number(twelve[0] if twelve else max(runs, key=len))
    if born is not None or sex is not None:
        number = parse_id_number(value)
        wanted_sex = {"nam": MALE, "nu": FEMALE}.get(fold(sex or ""), number.sex)
        problems = id_number_problems(number, born or date(number.birth_year, 1, 1), wanted_sex)
        if problems:
            raise FieldError(" ".join(problems) + " Anh/chị kiểm tra lại số định danh giúp em.")
    return value


def _phone_digits(run: str) -> str:
    digits = run.lstrip("+")
    if digits.startswith("0084"):
        digits = digits[4:]
    elif digits.startswith("84") and len(digits) in (11, 12):
        digits = digits[2:]
    if not digits.startswith("0") and len(digits) == 9:
        digits = "0" + digits
    return digits


def parse_phone(text: str) -> str:
    """A Vietnamese mobile number as 10 digits ("+84 912 345 678" -> "0912345678")."""
    example = "ví dụ 0912 345 678"
    cleaned = _clean(text, f"Anh/chị chưa nhập số điện thoại; anh/chị nhắn số di động 10 chữ số, {example}.")
    runs = [_phone_digits(run) for run in _digit_runs(cleaned)]
    if not runs:
        raise FieldError(f"Em chưa thấy số điện thoại; anh/chị nhắn số di động 10 chữ số, {example}.")
    mobiles = sorted({run for run in runs if is_mobile_phone(run)}) or sorted(
        {digits for part in _spaced_numbers(cleaned) if is_mobile_phone(digits := _phone_digits(part))})
    if len(mobiles) > 1:
        raise FieldError(f"Em thấy nhiều hơn một số; anh/chị chỉ nhắn một số di động thôi, {example}.")
    if mobiles:
        return mobiles[0]
    digits = max(runs, key=len)
    if digits.startswith("02") and len(digits) == 11:
        raise FieldError(f"Số {digits} là số máy bàn; em cần số di động để gửi tin nhắn về hồ sơ, {example}.")
    if digits.startswith("01") and len(digits) == 11:
        raise FieldError("Số di động 11 chữ số (đầu 01…) đã được đổi sang 10 chữ số từ năm 2018; "
                         f"anh/chị nhắn số mới giúp em, {example}.")
    if len(digits) != 10:
        raise FieldError(f"Số di động gồm đúng 10 chữ số (anh/chị nhắn {len(digits)} chữ số); "
                         f"anh/chị kiểm tra lại giúp em, {example}.")
    raise FieldError(f"Đầu số {digits[:3]} không phải đầu số di động ở Việt Nam; anh/chị kiểm tra lại "
                     f"giúp em, {example}.")


_NONE_ANSWERS = frozenset({"khong", "ko", "k", "kh", "khg", "hok", "khong co", "ko co", "k co", "khong ai",
                           "khong co ai", "khong a", "khong co a", "ko a", "khong co ai ca", "khong co ai a"})
_LIST_SEPARATORS = re.compile(r"[,;\n+&/]|\b(?:và|va|voi|với|and)\b", re.IGNORECASE)


def parse_id_numbers(text: str) -> list[str]:
    """Several ID numbers (household members) separated by commas, lines or "và"; "không" -> []."""
    cleaned = _clean(text, "Anh/chị nhắn số định danh của từng người, cách nhau bằng dấu phẩy "
                           "(ví dụ 022090001234, 022190005678), hoặc nhắn \"không\" nếu không có ai.")
    if " ".join(_words(cleaned)) in _NONE_ANSWERS:
        return []
    numbers: list[str] = []
    for chunk in _LIST_SEPARATORS.split(unicodedata.normalize("NFC", cleaned)):
        for raw in _split_numbers(chunk):
            try:
                value = _id_number(raw)
            except FieldError as error:
                raise FieldError(f"Số thứ {len(numbers) + 1} ({raw}): {error}") from None
            if value in numbers:
                raise FieldError(f"Số {value} được nhắn hai lần; mỗi người chỉ ghi một lần thôi ạ.")
            numbers.append(value)
    if not numbers:
        raise FieldError("Em chưa thấy số định danh nào; anh/chị nhắn số 12 chữ số của từng người, cách "
                         "nhau bằng dấu phẩy, hoặc nhắn \"không\" nếu không có ai.")
    return numbers


def _split_numbers(chunk: str) -> list[str]:
    """Digit groups of one chunk joined into numbers: "022 090 001 234 022190005678" -> two numbers."""
    groups = re.findall(r"\d+", chunk)
    numbers: list[str] = []
    current = ""
    for group in groups:
        if current and len(current) + len(group) > 12:
            numbers.append(current)
            current = ""
        current += group
        if len(current) >= 12:
            numbers.append(current)
            current = ""
    if current:
        numbers.append(current)
    return numbers


# --------------------------------------------------------------------------- stay duration

_UNITS = {"thang": 1, "thg": 1, "th": 1, "t": 1, "nam": 12, "n": 12}
_NUMBER_WORDS = {"mot": 1, "hai": 2, "ba": 3, "bon": 4, "nam": 5, "sau": 6, "bay": 7, "tam": 8,
                 "chin": 9, "muoi": 10, "muoi mot": 11, "muoi hai": 12}
_AFTER_TEN = {"mot": 1, "hai": 2, "ba": 3, "bon": 4, "tu": 4, "lam": 5, "nham": 5, "sau": 6, "bay": 7,
              "tam": 8, "chin": 9}
_STAY_FILLERS = frozenset(
    "khoang tam chung du kien dang ky dk o tru trong vong thoi han gian la a nhe nha em anh chi toi minh "
    "muon xin can thue tai nha tro den het se co the thi duoc lan nay thoi luc chi ah vay "
    "gia them nua".split())  # an extension: "gia hạn thêm 1 năm nữa"
_OTHER_UNITS = frozenset({"ngay", "tuan", "gio", "phut"})


def parse_stay_months(text: str, *, maximum: int = MAX_STAY_MONTHS) -> int:
    """Whole months of a temporary stay, 1..maximum ("6 tháng", "2 nam", "1 năm rưỡi" -> 18)."""
    example = "ví dụ \"6 tháng\" hoặc \"1 năm\""
    cleaned = _clean(text, f"Anh/chị chưa nhập thời hạn tạm trú; anh/chị nhắn số tháng, {example}.")
    if re.search(r"\d\s*[/\-]\s*\d", cleaned):
        raise FieldError(f"Em cần thời hạn tính bằng tháng chứ không phải một ngày; {example}.")
    months = _duration_months(re.findall(r"[a-z]+|\d+(?:[.,]\d+)?", fold(cleaned)), example)
    if months != int(months) or months < 0:
        raise FieldError(f"Thời hạn tạm trú tính theo tháng tròn; {example}.")
    if months < 1:
        raise FieldError(f"Thời hạn tạm trú ít nhất là 1 tháng; {example}.")
    if months > maximum:
        limit = f"{maximum // 12} năm ({maximum} tháng)" if maximum % 12 == 0 else f"{maximum} tháng"
        raise FieldError(f"Mỗi lần đăng ký tạm trú được tối đa {limit} (Luật Cư trú 2020, Điều 27); hết hạn "
                         f"anh/chị có thể gia hạn tiếp. Anh/chị nhắn thời hạn không quá {limit} giúp em, "
                         f"{example}.")
    return int(months)


def _duration_months(words: list[str], example: str) -> float:
    """Sum of "<quantity> <unit> [rưỡi]" terms; a bare number is months."""
    total, seen, i = 0.0, False, 0
    while i < len(words):
        word = words[i]
        if word == "nua" and i + 1 < len(words) and words[i + 1] in _UNITS:  # "nửa năm"
            total, seen, i = total + _UNITS[words[i + 1]] / 2, True, i + 2
            continue
        start = i
        quantity, i = _quantity(words, i)
        if (quantity is not None and not word[0].isdigit() and i < len(words)
                and words[i] not in _UNITS and words[i] not in _OTHER_UNITS and words[i] != "ruoi"):
            quantity, i = None, start  # a number word only counts with its unit: "tạm trú" is not "tám"
        if quantity is None:
            if word in _OTHER_UNITS:
                raise FieldError(f"Thời hạn tạm trú tính theo tháng; {example}.")
            if word not in _STAY_FILLERS:
                raise FieldError(f"Em chưa hiểu thời hạn tạm trú \"{' '.join(words)[:40]}\"; anh/chị nhắn "
                                 f"số tháng, {example}.")
            i += 1
            continue
        unit = 1
        if i < len(words) and words[i] in _UNITS:
            unit, i = _UNITS[words[i]], i + 1
        elif i < len(words) and words[i] in _OTHER_UNITS:
            raise FieldError(f"Thời hạn tạm trú tính theo tháng; {example}.")
        if i < len(words) and words[i] == "ruoi":
            quantity, i = quantity + 0.5, i + 1
        total, seen = total + quantity * unit, True
    if not seen:
        raise FieldError(f"Em chưa thấy thời hạn; anh/chị nhắn số tháng tạm trú, {example}.")
    return total


def _quantity(words: list[str], i: int) -> tuple[float | None, int]:
    """The number starting at words[i] (digits, "1,5" or Vietnamese number words) and the next index."""
    word = words[i]
    if word[0].isdigit():
        return float(word.replace(",", ".")), i + 1
    if word == "muoi" or (word in _NUMBER_WORDS and i + 1 < len(words) and words[i + 1] == "muoi"):
        tens = 1 if word == "muoi" else _NUMBER_WORDS[word]
        j = i + 1 if word == "muoi" else i + 2
        if j < len(words) and words[j] in _AFTER_TEN and not (j + 1 == len(words) and words[j] == "nam"):
            return float(tens * 10 + _AFTER_TEN[words[j]]), j + 1
        return float(tens * 10), j
    if word in _NUMBER_WORDS:
        return float(_NUMBER_WORDS[word]), i + 1
    return None, i


# --------------------------------------------------------------------------- relation to the household head

RELATIONS: tuple[str, ...] = (
    "chủ hộ", "vợ", "chồng", "con", "con dâu", "con rể", "cha", "mẹ", "cha vợ", "mẹ vợ", "cha chồng",
    "mẹ chồng", "ông", "bà", "cháu", "chắt", "anh", "chị", "em", "cô", "dì", "chú", "bác", "cậu", "thím",
    "mợ",
    "người ở nhờ", "người thuê nhà", "khác",
)

# Folded phrases -> canonical relation. Typed-with-accent words that fold alike are in _ACCENTED.
_RELATION_ALIASES: dict[str, str] = {
    **{fold(r): r for r in RELATIONS},
    "chu ho": "chủ hộ", "chinh toi": "chủ hộ", "toi": "chủ hộ", "ban than": "chủ hộ", "chinh minh": "chủ hộ",
    "la chu ho": "chủ hộ", "chu nha": "chủ hộ",
    "vo": "vợ", "vk": "vợ", "ba xa": "vợ", "vo toi": "vợ",
    "chong": "chồng", "ck": "chồng", "ong xa": "chồng",
    "con trai": "con", "con gai": "con", "con nuoi": "con", "con ruot": "con", "con de": "con",
    "bo": "cha", "ba": "cha", "tia": "cha", "thay": "cha", "bo de": "cha", "cha de": "cha",
    "me": "mẹ", "ma": "mẹ", "u": "mẹ", "bam": "mẹ", "me de": "mẹ", "me ruot": "mẹ",
    "bo vo": "cha vợ", "ba vo": "cha vợ", "bo chong": "cha chồng", "ba chong": "cha chồng",
    "ma vo": "mẹ vợ", "ma chong": "mẹ chồng",
    "ong noi": "ông", "ong ngoai": "ông", "ba noi": "bà", "ba ngoai": "bà",
    "chau noi": "cháu", "chau ngoai": "cháu", "chau trai": "cháu", "chau gai": "cháu",
    "anh trai": "anh", "anh ruot": "anh", "chi gai": "chị", "chi ruot": "chị", "em trai": "em",
    "em gai": "em", "em ruot": "em",
    "o nho": "người ở nhờ", "nguoi o nho": "người ở nhờ", "o cung": "người ở nhờ", "o ghep": "người ở nhờ",
    "thue nha": "người thuê nhà", "thue tro": "người thuê nhà", "o tro": "người thuê nhà",
    "thue phong": "người thuê nhà", "nguoi thue": "người thuê nhà", "nguoi thue tro": "người thuê nhà",
    "sinh vien thue tro": "người thuê nhà", "khach thue": "người thuê nhà",
    "ban": "khác", "ban be": "khác", "nguoi yeu": "khác", "giup viec": "khác", "nguoi giup viec": "khác",
    "ho hang": "khác", "nguoi quen": "khác",
}
_ACCENTED: dict[str, str] = {"bà": "bà", "ba": "cha", "bà nội": "bà", "bà ngoại": "bà", "má": "mẹ",
                             "mạ": "mẹ", "bố": "cha", "ba vợ": "cha vợ"}
_LEAD_IN = re.compile(r"^(?:(?:chinh )?(?:toi|em|minh|tui|chau|con|anh|chi|ong|ba|co|chu) )?"
                      r"(?:la |lam |dang |hien )?")
_TAIL = re.compile(r" (?:cua|voi|cho) .*$| (?:a|nhe|nha|ah|vay)$")


def parse_relation(text: str) -> str:
    """The relation to the household head, one of RELATIONS ("con trai" -> "con", "ck" -> "chồng")."""
    choices = "chủ hộ, vợ, chồng, con, cha, mẹ, người thuê nhà, người ở nhờ, khác"
    cleaned = _clean(text, f"Anh/chị chưa nhập quan hệ với chủ hộ; anh/chị chọn một trong: {choices}.")
    accented = " ".join(re.findall(r"\w+", cleaned.lower()))
    if accented in _ACCENTED:
        return _ACCENTED[accented]
    words = " ".join(_words(cleaned))
    for candidate in (words, _TAIL.sub("", words), _TAIL.sub("", _LEAD_IN.sub("", words, count=1))):
        if candidate in _RELATION_ALIASES:
            return _RELATION_ALIASES[candidate]
    found = _longest_alias(words.split())
    if found is not None:
        return found
    raise FieldError(f"Em chưa hiểu quan hệ với chủ hộ \"{cleaned[:40]}\"; anh/chị chọn một trong: {choices} "
                     "(ví dụ: \"con\").")


def _longest_alias(words: list[str]) -> str | None:
    """The relation named by the longest alias phrase inside `words`, if only one relation is named."""
    best: dict[int, set[str]] = {}
    for start in range(len(words)):
        for end in range(start + 1, min(len(words), start + 4) + 1):
            relation = _RELATION_ALIASES.get(" ".join(words[start:end]))
            if relation is not None and not (end - start == 1 and words[start] in {"toi", "em", "ba", "anh",
                                                                                    "chi", "con", "ma"}):
                best.setdefault(end - start, set()).add(relation)
    if not best:
        return None
    relations = best[max(best)]
    return next(iter(relations)) if len(relations) == 1 else None


# --------------------------------------------------------------------------- free text

def parse_free_text(text: str, *, min_len: int = 3, max_len: int = 300) -> str:
    """Trimmed text with whitespace collapsed, between min_len and max_len characters."""
    cleaned = _clean(text, "Anh/chị chưa nhập nội dung; anh/chị nhắn vài chữ giúp em.")
    if not any(ch.isalnum() for ch in cleaned):
        raise FieldError("Em chưa thấy chữ nào; anh/chị nhắn nội dung bằng chữ giúp em.")
    if len(cleaned) < min_len:
        raise FieldError(f"Nội dung ngắn quá (cần ít nhất {min_len} ký tự); anh/chị ghi rõ hơn giúp em.")
    if len(cleaned) > max_len:
        raise FieldError(f"Nội dung dài quá ({len(cleaned)} ký tự, tối đa {max_len}); anh/chị ghi ngắn gọn "
                         "giúp em.")
    return cleaned


# --------------------------------------------------------------------------- addresses

_ADDRESS_EXAMPLE = ("anh/chị ghi theo thứ tự \"số nhà, đường/thôn, xã/phường, tỉnh/thành phố\", ví dụ "
                    "\"số 12, tổ 3, phường Hồng Gai, Quảng Ninh\"")
_COMMUNE_WORDS = ("xa", "phuong", "thitran", "dackhu")
_DISTRICT_WORDS = ("huyen", "quan", "thixa", "thanhpho")
_EXPANSIONS: dict[str, tuple[str, ...]] = {
    "tp": ("thanh", "pho"), "tx": ("thi", "xa"), "tt": ("thi", "tran"), "ttr": ("thi", "tran"),
    "q": ("quan",), "h": ("huyen",), "p": ("phuong",), "f": ("phuong",), "x": ("xa",), "dk": ("dac", "khu"),
    "tphcm": ("thanh", "pho", "ho", "chi", "minh"), "hcm": ("ho", "chi", "minh"), "hn": ("ha", "noi"),
}
_LEAD_IN_ADDRESS = re.compile(r"^(?:(?:dia chi|noi o|cho o)(?: (?:cua )?(?:toi|em|minh|tui|nha toi))?"
                              r"(?: moi| tam tru| thuong tru)?(?: la| o)?|(?:nha )?(?:toi|em|minh|tui) "
                              r"(?:dang |se )?(?:o|song o|tam tru o)(?: tai)?|o tai|tai|la)\b[\s:,.\-]*")


@dataclass(frozen=True)
class ResolvedAddress:
    detail: str  # house number, street, hamlet as typed ("số 12, tổ 3"); may be ""
    commune_code: int
    commune: str  # 2025 name: "Phường Hồng Gai"
    province: str  # "Quảng Ninh", "Thành phố Hải Phòng"
    converted_from: str | None = None  # the pre-2025 wording, when the address was converted

    @property
    def text(self) -> str:
        return ", ".join(part for part in (self.detail, self.commune, self.province) if part)


@dataclass(frozen=True)
class _Commune:
    code: int
    name: str
    province_code: int
    province: str


@dataclass(frozen=True)
class _OldWard:
    """One row of the old->new table: a pre-2025 ward (or island district) and a 2025 commune."""

    ward: str  # "Phường Hồng Hải" ("" for a district that became a đặc khu)
    district: str  # "Thành phố Hạ Long"
    district_key: str  # "thanhphohalong"
    province: str  # "Tỉnh Quảng Ninh"
    province_key: str  # "tinhquangninh"
    new: _Commune

    @property
    def wording(self) -> str:
        return ", ".join(part for part in (self.ward, self.district, self.province) if part)


@dataclass(frozen=True)
class _Province:
    code: int  # 2025 province code
    name: str  # 2025 official name: "Quảng Ninh", "Thành phố Hải Phòng"
    old_name: str | None  # official pre-2025 name, for names that are no longer a province ("Tỉnh Hải Dương")
    old_key: str | None  # key of the old province in the old->new table


@dataclass(frozen=True)
class _Token:
    word: str
    start: int  # span in the NFC text
    end: int
    segment: int  # commas, semicolons and new lines separate segments


def _key(text: str) -> str:
    """Folded letters and digits without spaces: "Xã Cư M'gar" -> "xacumgar", "Phường 01" -> "phuong1"."""
    return "".join(_normal_word(w) for w in re.findall(r"[a-z0-9]+", re.sub(r"['’ʼ`]", "", fold(text))))


def _normal_word(word: str) -> str:
    return str(int(word)) if word.isdigit() and len(word) < 5 else word


def _province_key(name: str) -> str:
    key = _key(name)
    for prefix in ("thanhpho", "tinh"):
        if key.startswith(prefix) and len(key) > len(prefix):
            return key[len(prefix):]
    return key


@lru_cache(maxsize=1)
def _communes_by_key() -> Mapping[str, tuple[_Commune, ...]]:
    """2025 communes by key with division word ("phuonghonggai")."""
    from services.portal.units import communes

    index: dict[str, list[_Commune]] = {}
    for c in communes().values():
        index.setdefault(_key(c.name), []).append(_Commune(c.code, c.name, c.province_code, c.province))
    return MappingProxyType({key: tuple(values) for key, values in index.items()})


@lru_cache(maxsize=1)
def _communes_by_short_key() -> Mapping[tuple[int, str], tuple[_Commune, ...]]:
    """2025 communes by (province code, key without division word): for "hong gai, quang ninh"."""
    index: dict[tuple[int, str], list[_Commune]] = {}
    for key, values in _communes_by_key().items():
        for c in values:
            short = next((key[len(w):] for w in _COMMUNE_WORDS if key.startswith(w)), key)
            index.setdefault((c.province_code, short), []).append(c)
    return MappingProxyType({key: tuple(values) for key, values in index.items()})


def _old_table() -> dict:
    """underthesea's old->new ward table (vietnamadminunits data), or {} if unavailable. Read once by
    `_name_indexes`, which keeps only what it needs."""
    try:
        import underthesea.address as source
    except ImportError:  # pragma: no cover - underthesea is pinned in both environments
        return {}
    with open(Path(source.__file__).parent / "data" / "mapping.json", encoding="utf-8") as handle:
        return json.load(handle)


@lru_cache(maxsize=1)
def _name_indexes() -> tuple[Mapping[str, _Province], Mapping[str, tuple[_OldWard, ...]]]:
    """Province names and pre-2025 wards, built once from one read of the old->new table."""
    table = _old_table()
    provinces = _build_provinces(table)
    return provinces, _build_old_wards(table, provinces)


def _provinces_by_key() -> Mapping[str, _Province]:
    return _name_indexes()[0]


def _old_wards_by_key() -> Mapping[str, tuple[_OldWard, ...]]:
    return _name_indexes()[1]


def _build_provinces(table: dict) -> Mapping[str, _Province]:
    """Province names (2025, pre-2025, short forms) by key without "tỉnh"/"thành phố"."""
    from vietnam_provinces import Province

    from assistant.text.places import province_index

    by_codename = {p.codename: int(p.code) for p in Province.iter_all()}
    names = {int(p.code): p.name for p in Province.iter_all()}
    index: dict[str, _Province] = {}
    old_names = table.get("old_province_names", {})
    new_names = table.get("province_names", {})
    old_to_new = table.get("province_mapping", {})
    current = {_province_key(p.name) for p in Province.iter_all()}
    for old_key, info in old_names.items():
        new_info = new_names.get(old_to_new.get(old_key, ""), {})
        if new_info:
            short = _province_key(info["name"])
            old_name = None if short in current else info["name"]
            code = int(new_info["code"])
            index[short] = _Province(code, names[code], old_name, old_key)
    for alias, place in province_index().items():
        code = by_codename[place.codename]
        key = _key(alias)
        if key not in index:
            index[key] = _Province(code, names[code], None, None)
    for p in Province.iter_all():
        key = _province_key(p.name)
        index[key] = _Province(int(p.code), p.name, None, index[key].old_key if key in index else None)
    return MappingProxyType(index)


def _build_old_wards(table: dict, provinces: Mapping[str, _Province]) -> Mapping[str, tuple[_OldWard, ...]]:
    """Pre-2025 wards by key with division word ("phuonghonghai"), joined to the 2025 commune."""
    communes = _communes_by_key()
    index: dict[str, list[_OldWard]] = {}
    for row in table.get("ward_mapping", ()):
        province = provinces.get(_province_key(row["new_province"]))
        candidates = [c for c in communes.get(_key(row["new_ward"]), ())
                      if province is not None and c.province_code == province.code]
        exact = [c for c in candidates if " ".join(c.name.split()) == " ".join(row["new_ward"].split())]
        if len(exact or candidates) != 1:
            continue  # a row without a 2025 commune we can name unambiguously
        key = _key(row["old_ward"]) or _key(row["old_ward_key"]) or _key(row["old_district"])
        index.setdefault(key, []).append(_OldWard(
            row["old_ward"], row["old_district"], _key(row["old_district"]), row["old_province"],
            row["old_province_key"], (exact or candidates)[0]))
    return MappingProxyType({key: tuple(dict.fromkeys(values)) for key, values in index.items()})


@lru_cache(maxsize=1)
def _old_districts() -> frozenset[str]:
    return frozenset(w.district_key for values in _old_wards_by_key().values() for w in values)


@lru_cache(maxsize=1)
def _old_district_names() -> frozenset[tuple[int, str]]:
    """(2025 province code, old district name without "huyện"/"thành phố"...): "Hạ Long" is not a commune."""
    names = set()
    for values in _old_wards_by_key().values():
        for w in values:
            prefix = next((p for p in _DISTRICT_WORDS if w.district_key.startswith(p)), "")
            names.add((w.new.province_code, w.district_key[len(prefix):]))
    return frozenset(names)


def _tokens(text: str) -> list[_Token]:
    """Folded words of `text` with their spans; address abbreviations expanded ("tp" -> thanh pho)."""
    chars: list[str] = []
    offsets: list[int] = []
    for index, ch in enumerate(text):
        if ch in "'’ʼ`":
            continue
        for folded in fold(ch):
            chars.append(folded)
            offsets.append(index)
    folded_text = "".join(chars)
    tokens: list[_Token] = []
    segment, last = 0, 0
    for match in re.finditer(r"[a-z]+|\d+", folded_text):
        segment += sum(folded_text.count(sep, last, match.start()) for sep in ",;\n")
        last = match.start()
        start, end = offsets[match.start()], offsets[match.end() - 1] + 1
        parts = _EXPANSIONS.get(match.group(), (match.group(),))
        tokens.extend(_Token(_normal_word(part), start, end, segment) for part in parts)
    return tokens


@dataclass(frozen=True)
class _Match:
    start: int  # token indexes
    end: int
    key: str

    def inside(self, other: _Match) -> bool:
        return other.start <= self.start and self.end <= other.end and (self.start, self.end) != (
            other.start, other.end)


def _phrases(tokens: list[_Token], longest: int = 8) -> Iterable[_Match]:
    for start in range(len(tokens)):
        key = ""
        for end in range(start + 1, min(len(tokens), start + longest) + 1):
            if tokens[end - 1].segment != tokens[start].segment:
                break
            key += tokens[end - 1].word
            yield _Match(start, end, key)


def resolve_address(text: str) -> ResolvedAddress:
    """Free text -> a 2025 commune and province; pre-2025 addresses are converted."""
    cleaned = _clean(text, f"Anh/chị chưa nhập địa chỉ; {_ADDRESS_EXAMPLE}.")
    tokens = _tokens(cleaned)
    communes, old_wards, provinces = _communes_by_key(), _old_wards_by_key(), _provinces_by_key()
    commune_matches: list[_Match] = []
    district_matches: list[_Match] = []
    province_matches: list[_Match] = []
    for match in _phrases(tokens):
        if match.key.startswith(_COMMUNE_WORDS) and (match.key in communes or match.key in old_wards):
            commune_matches.append(match)
        if match.key.startswith(_DISTRICT_WORDS) and match.key in _old_districts():
            district_matches.append(match)
        if _province_key(match.key) in provinces:
            province_matches.append(match)
    # The last province name is the province ("..., xa dien xa quang ninh"), unless nothing then
    # resolves: then it was part of a commune's name ("xã Quảng Ninh", "phường Bắc Giang").
    last = _rightmost(m for m in province_matches if not any(m.inside(d) for d in district_matches))
    outside = _rightmost(m for m in province_matches
                         if not any(m.inside(u) for u in commune_matches + district_matches))
    for province_match in dict.fromkeys((last, outside)):
        found = _resolve_with(cleaned, tokens, province_match, commune_matches, district_matches)
        if found is not None:
            return found
    province = provinces[_province_key(last.key)] if last else None
    raise FieldError(_not_found(commune_matches, tokens, cleaned, province))


def _resolve_with(text: str, tokens: list[_Token], province_match: _Match | None,
                  commune_matches: list[_Match], district_matches: list[_Match]) -> ResolvedAddress | None:
    """The address when `province_match` names the province (None: nothing fits)."""
    communes, old_wards = _communes_by_key(), _old_wards_by_key()
    province = _provinces_by_key()[_province_key(province_match.key)] if province_match else None
    district_match = _rightmost(m for m in district_matches if province_match is None
                                or not (m.inside(province_match) or province_match.inside(m)))
    district = district_match.key if district_match else None
    named_district = district_match is not None and (
        province_match is None or district_match.start != province_match.start)  # not "TP Huế" alone
    old_era = named_district or (province is not None and province.old_name is not None)
    taken = [m for m in (province_match, district_match) if m is not None]

    def resolved(unit: _Match, commune: _Commune, converted_from: str | None) -> ResolvedAddress:
        cut = min([unit.start] + [m.start for m in taken])
        detail = _detail(text[:tokens[cut].start])
        return ResolvedAddress(detail, commune.code, commune.name, commune.province, converted_from)

    def overlaps(unit: _Match) -> bool:
        return any(not (unit.end <= m.start or m.end <= unit.start) for m in taken)

    for unit in sorted(commune_matches, key=lambda m: (-m.start, m.start - m.end)):
        if province_match is not None and (province_match.inside(unit) or unit.inside(province_match)):
            continue
        found = _choose(unit, tokens, text, province, district, old_era, communes.get(unit.key, ()),
                        old_wards.get(unit.key, ()))
        if found is not None:
            return resolved(unit, *found)
    if province is not None:  # commune names without "xã"/"phường": "hong gai, quang ninh"
        short_index, districts = _communes_by_short_key(), _old_district_names()
        for unit in sorted(_phrases(tokens), key=lambda m: (-m.start, m.start - m.end)):
            if overlaps(unit) or unit.key.isdigit():
                continue
            if (province.code, unit.key) in districts:
                break  # "Hạ Long, Quảng Ninh": the old city, not Phường Hạ Long; ask for the commune
            found = _choose(unit, tokens, text, province, district, old_era,
                            short_index.get((province.code, unit.key), ()), ())
            if found is not None:
                return resolved(unit, *found)
    if district_match is not None:  # a district that became a đặc khu ("huyện Côn Đảo")
        found = _choose(district_match, tokens, text, province, None, True, (), old_wards.get(district, ()))
        if found is not None:
            return resolved(district_match, *found)
    return None


def _rightmost(matches: Iterable[_Match]) -> _Match | None:
    return max(matches, key=lambda m: (m.start, m.end - m.start), default=None)


def _choose(unit: _Match, tokens: list[_Token], text: str, province: _Province | None, district: str | None,
            old_era: bool, new: tuple[_Commune, ...], old: tuple[_OldWard, ...]
            ) -> tuple[_Commune, str | None] | None:
    """The 2025 commune a phrase names, given the province and old district typed (None: none fits).

    A current name wins over an old one, unless the address names an old district or province."""
    typed = text[tokens[unit.start].start:tokens[unit.end - 1].end]
    if province is not None:
        new = tuple(c for c in new if c.province_code == province.code)
        old = tuple(w for w in old if w.new.province_code == province.code
                    and (province.old_name is None or w.province_key == province.old_key))
    if district is not None and any(w.district_key == district for w in old):
        old = tuple(w for w in old if w.district_key == district)
    new = _same_accents(new, typed, lambda c: c.name)
    old = _same_accents(old, typed, lambda w: w.ward)
    if new and not ((old_era or unit.key.startswith("thitran")) and old):
        if len({c.code for c in new}) > 1:
            listed = ", ".join(f"{c.name} ({c.province})" for c in new[:3])
            raise FieldError(f"Có nhiều xã/phường trùng tên: {listed}. Anh/chị ghi rõ tên (có dấu) kèm "
                             f"tỉnh/thành phố giúp em, ví dụ \"{new[0].name}, {new[0].province}\".")
        converted = f"{new[0].name}, {province.old_name}" if province and province.old_name else None
        return new[0], converted
    if not old:
        return None
    targets = list(dict.fromkeys(w.new for w in old))
    if len(targets) == 1:
        return targets[0], old[0].wording
    places = list(dict.fromkeys((w.ward, w.district, w.province) for w in old))
    if len(places) == 1:
        listed = ", ".join(f"{c.name}" for c in targets[:3])
        raise FieldError(f"{old[0].wording} (địa chỉ cũ) nay được chia cho nhiều xã/phường: {listed}. "
                         f"Anh/chị cho em biết nhà mình thuộc xã/phường mới nào, ví dụ \"{targets[0].name}, "
                         f"{targets[0].province}\".")
    listed = "; ".join(", ".join(part for part in place if part) for place in places[:3])
    raise FieldError(f"Có nhiều nơi trước đây cùng tên: {listed}. Anh/chị ghi thêm quận/huyện và tỉnh/thành "
                     "phố cũ, hoặc tên xã/phường mới, giúp em.")


def _same_accents(items: tuple, typed: str, name: Callable[[object], str]) -> tuple:
    """When names differ only by accents ("Cẩm Giàng"/"Cẩm Giang"), those spelled as typed."""
    if len(items) < 2:
        return items
    typed_words = typed.lower().split()

    def same(item: object) -> bool:
        words = name(item).lower().split()
        size = len(words) - (2 if words[:2] in (["thị", "trấn"], ["đặc", "khu"]) else 1)
        return size > 0 and words[-size:] == typed_words[-size:]

    return tuple(item for item in items if same(item)) or items


def _detail(text: str) -> str:
    """The house number/street/hamlet part, without lead-ins ("địa chỉ:") or trailing commas."""
    detail = text.strip(" ,;.-:")
    folded = fold(detail)
    if len(folded) == len(detail):
        lead = _LEAD_IN_ADDRESS.match(folded)
        if lead:
            detail = detail[lead.end():]
    return detail.strip(" ,;.-:")


def _not_found(commune_matches: list[_Match], tokens: list[_Token], text: str,
               province: _Province | None) -> str:
    unit = _rightmost(commune_matches)
    if unit is not None and province is not None:
        typed = text[tokens[unit.start].start:tokens[unit.end - 1].end]
        elsewhere = sorted({c.province for c in _communes_by_key().get(unit.key, ())}
                           | {w.new.province for w in _old_wards_by_key().get(unit.key, ())})
        where = f" (tên này có ở {', '.join(elsewhere[:3])})" if elsewhere else ""
        return (f"Em không tìm thấy \"{typed}\" ở {province.name}{where}. Anh/chị kiểm tra lại tên xã/phường "
                "và tỉnh/thành phố giúp em, ví dụ \"số 12, tổ 3, phường Hồng Gai, Quảng Ninh\".")
    if province is not None:
        return f"Em chưa thấy tên xã/phường trong địa chỉ; {_ADDRESS_EXAMPLE}."
    return f"Em chưa tìm được địa chỉ này; {_ADDRESS_EXAMPLE}."
