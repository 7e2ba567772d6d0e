"""Corrections in natural language: "sửa thời hạn thành 6 tháng", "doi dia chi la so 5 to 2
phuong bai chay quang ninh", "sđt đúng là 0912345678".

`parse_correction` finds which field the citizen means and the new text; the caller reads
the text with that field's validator. Fields the registry holds (name, date of birth, ID
number…) are recognised too, so the citizen is told why they cannot be changed here.
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from assistant.dossiers.journeys import Journey
from assistant.text.normalize import fold

# Words naming a field (folded), by slot. Longer phrases are tried first.
FIELD_WORDS: dict[str, tuple[str, ...]] = {
    "field_address": ("dia chi tam tru", "dia chi thuong tru", "noi tam tru", "noi thuong tru",
                      "dia chi", "noi o", "noi dang ky", "cho o"),
    "field_stay_months": ("thoi han tam tru", "thoi han", "thoi gian tam tru", "thoi gian o", "so thang"),
    "field_head_relation": ("quan he voi chu ho", "quan he"),
    "field_head_id_number": ("so dinh danh chu ho", "so cccd chu ho", "so can cuoc chu ho", "cccd chu ho"),
    "field_phone": ("so dien thoai", "dien thoai", "sdt", "so dt", "phone"),
    "field_start_date": ("ngay bat dau", "tu ngay", "ngay di", "ngay vang"),
    "field_end_date": ("ngay ket thuc", "den ngay", "ngay ve"),
    "field_destination": ("noi den", "di den", "dia diem den"),
    "field_reason": ("ly do", "muc dich"),
    "field_members": ("thanh vien", "nguoi chuyen", "nguoi cung chuyen"),
    "field_appointment": ("lich hen", "buoi hen", "ngay hen"),
}
# What comes from the national population database and is not edited in a dossier.
REGISTRY_WORDS: tuple[str, ...] = ("ngay sinh", "ho ten", "ho va ten", "ten", "gioi tinh", "so dinh danh",
                                   "so can cuoc", "cccd", "cmnd", "que quan", "dan toc", "quoc tich")

_VERB = r"(?:sua|doi|thay|chinh|chinh sua|cap nhat|nham|sai)"
_LINK = r"(?:thanh|la|lai la|sang|=|:)"
_PATTERN = re.compile(rf"^\s*(?:em |toi |minh |cho (?:em |toi )?)?(?:muon )?(?:xin )?{_VERB}(?: lai)?\s+"
                      rf"(?P<what>.+?)\s+{_LINK}\s+(?P<value>.+?)\s*$")
_RIGHT = re.compile(rf"^\s*(?P<what>.+?)\s+(?:dung|chinh xac)\s+{_LINK}\s+(?P<value>.+?)\s*$")


@dataclass(frozen=True)
class Correction:
    slot: str | None  # None: a registry field (see `registry_field`)
    value_text: str  # the new value as typed (original spelling kept)
    registry_field: str | None = None


def parse_correction(text: str, journey: Journey) -> Correction | None:
    """A correction of one of `journey`'s fields or of registry data, or None if the text
    is not a correction."""
    text = unicodedata.normalize("NFC", text or "")[:500]
    folded = fold(text)
    if len(folded) != len(text):  # positions are shared below; true for Vietnamese letters in NFC
        return None
    match = _PATTERN.match(folded) or _RIGHT.match(folded)
    if not match:
        return None
    what = match.group("what").strip()
    value_text = text[match.start("value"):match.end("value")].strip()
    for slot, words in FIELD_WORDS.items():
        if slot in journey.slots and any(_names(what, w) for w in words):
            return Correction(slot, value_text)
    for word in REGISTRY_WORDS:
        if _names(what, word):
            return Correction(None, value_text, registry_field=word)
    return None


def _names(what: str, word: str) -> bool:
    return what == word or what.startswith(word + " ") or what.endswith(" " + word) or f" {word} " in what
