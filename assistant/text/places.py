"""Provinces and communes after the 2025 reorganisation (from `vietnam-provinces`),
with the pre-2025 province names citizens still use mapped to the new ones."""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from assistant.text.normalize import fold

# Nghị quyết 202/2025/QH15: 63 provinces became 34 on 12/6/2025 (effective 1/7/2025).
# Old name (folded) -> new province's codename in vietnam-provinces.
OLD_PROVINCES: dict[str, str] = {
    "ha giang": "tuyen_quang",
    "yen bai": "lao_cai",
    "bac kan": "thai_nguyen",
    "vinh phuc": "phu_tho",
    "hoa binh": "phu_tho",
    "bac giang": "bac_ninh",
    "thai binh": "hung_yen",
    "hai duong": "hai_phong",
    "ha nam": "ninh_binh",
    "nam dinh": "ninh_binh",
    "quang binh": "quang_tri",
    "quang nam": "da_nang",
    "kon tum": "quang_ngai",
    "binh dinh": "gia_lai",
    "ninh thuan": "khanh_hoa",
    "dak nong": "lam_dong",
    "binh thuan": "lam_dong",
    "phu yen": "dak_lak",
    "binh duong": "ho_chi_minh",
    "ba ria vung tau": "ho_chi_minh",
    "vung tau": "ho_chi_minh",
    "binh phuoc": "dong_nai",
    "long an": "tay_ninh",
    "soc trang": "can_tho",
    "hau giang": "can_tho",
    "ben tre": "vinh_long",
    "tra vinh": "vinh_long",
    "tien giang": "dong_thap",
    "bac lieu": "ca_mau",
    "kien giang": "an_giang",
    "thua thien hue": "hue",
}

_EXTRA_NAMES: dict[str, str] = {  # common short forms of current names
    "sai gon": "ho_chi_minh",
    "tp hcm": "ho_chi_minh",
    "hcm": "ho_chi_minh",
    "thanh pho ho chi minh": "ho_chi_minh",
    "ho chi minh": "ho_chi_minh",
}

_DIVISION_PREFIXES = ("thanh pho ", "tinh ", "phuong ", "xa ", "dac khu ")


@dataclass(frozen=True)
class Place:
    name: str  # official 2025 name
    codename: str
    province: str  # official name of the province (2025)
    old_name: str | None = None  # the pre-2025 name the citizen used, if any


def _strip_prefix(folded: str) -> str:
    for prefix in _DIVISION_PREFIXES:
        if folded.startswith(prefix):
            return folded[len(prefix):]
    return folded


@lru_cache(maxsize=1)
def province_index() -> dict[str, Place]:
    """Folded province names (current, short and pre-2025) -> the current province."""
    from vietnam_provinces import Province

    by_codename: dict[str, Place] = {}
    index: dict[str, Place] = {}
    for province in Province.iter_all():
        place = Place(province.name, province.codename, province.name)
        by_codename[province.codename] = place
        index[_strip_prefix(fold(province.name))] = place
    for alias, codename in _EXTRA_NAMES.items():
        index[alias] = by_codename[codename]
    for old, codename in OLD_PROVINCES.items():
        new = by_codename[codename]
        index[old] = Place(new.name, new.codename, new.province, old_name=old)
    return index


@lru_cache(maxsize=1)
def commune_index() -> dict[str, list[Place]]:
    """Folded commune names with their division word ("phuong hong gai") -> 2025 communes."""
    from vietnam_provinces import Province, Ward

    provinces = {p.code: p.name for p in Province.iter_all()}
    index: dict[str, list[Place]] = {}
    for ward in Ward.iter_all():
        place = Place(ward.name, ward.codename, provinces[ward.province_code])
        index.setdefault(fold(ward.name), []).append(place)
    return index
