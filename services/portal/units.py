"""Communes (xã, phường, đặc khu) and provinces after the 2025 reorganisation, by their
national codes, from the pinned `vietnam-provinces` data.

The portal identifies a commune by its 5-digit national code (an int here): names repeat
across provinces ("Xã Tân Lập" exists in several), codes do not.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class Commune:
    code: int
    name: str  # "Phường Hồng Gai"
    province_code: int
    province: str  # "Quảng Ninh", "Thành phố Hải Phòng"

    @property
    def label(self) -> str:
        return f"{self.name}, {self.province}"


@lru_cache(maxsize=1)
def communes() -> dict[int, Commune]:
    """Every 2025 commune by code (immutable reference data, read once)."""
    from vietnam_provinces import Province, Ward

    provinces = {int(p.code): p.name for p in Province.iter_all()}
    return {int(w.code): Commune(int(w.code), w.name, int(w.province_code), provinces[int(w.province_code)])
            for w in Ward.iter_all()}


def commune(code: int) -> Commune | None:
    return communes().get(code)
