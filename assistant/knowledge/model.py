"""Typed view of the knowledge base (procedures, FAQ entries, sources)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

# The catalogue: stable ids used by the API, the NLU data and the tests.
PROCEDURE_IDS: tuple[str, ...] = (
    "dang-ky-thuong-tru",
    "xoa-dang-ky-thuong-tru",
    "tach-ho",
    "dieu-chinh-thong-tin-cu-tru",
    "dang-ky-tam-tru",
    "gia-han-tam-tru",
    "xoa-dang-ky-tam-tru",
    "khai-bao-tam-vang",
    "thong-bao-luu-tru",
    "xac-nhan-thong-tin-cu-tru",
    "khai-bao-thong-tin-cu-tru",
    "cap-the-can-cuoc",
    "cap-doi-the-can-cuoc",
    "cap-lai-the-can-cuoc",
    "cap-giay-chung-nhan-can-cuoc",
    "tai-khoan-dinh-danh-dien-tu",
    "lien-thong-khai-sinh",
    "lien-thong-khai-tu",
)

# Aspects a citizen asks about, in the order an overview offers them.
ASPECTS: tuple[str, ...] = (
    "documents",
    "fee",
    "time",
    "where",
    "who",
    "forms",
    "online",
    "legal_basis",
    "pitfalls",
)

ASPECT_TITLES: dict[str, str] = {
    "documents": "Hồ sơ cần chuẩn bị",
    "fee": "Lệ phí",
    "time": "Thời gian giải quyết",
    "where": "Nơi nộp hồ sơ",
    "who": "Ai phải / được làm",
    "forms": "Biểu mẫu",
    "online": "Nộp trực tuyến",
    "legal_basis": "Căn cứ pháp lý",
    "pitfalls": "Lưu ý thường gặp",
}

GROUPS = ("cu-tru", "can-cuoc", "dinh-danh", "lien-thong")


@dataclass(frozen=True)
class Validity:
    valid_from: date | None = None
    valid_to: date | None = None
    verified: bool = True

    def in_force(self, day: date) -> bool:
        if self.valid_from and day < self.valid_from:
            return False
        return not (self.valid_to and day > self.valid_to)


@dataclass(frozen=True)
class Source:
    key: str
    kind: str
    label: str
    url: str | None = None


@dataclass(frozen=True)
class Fee:
    label: str
    amount: int
    sources: tuple[str, ...]
    validity: Validity
    kind: str = "base"  # base | reduction
    basis: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Item:
    """A list entry (a document, a form, a pitfall) with its own validity."""

    text: str
    validity: Validity = Validity()


@dataclass(frozen=True)
class Case:
    title: str
    items: tuple[Item, ...]
    validity: Validity = Validity()


@dataclass(frozen=True)
class Section:
    aspect: str
    text: str | None
    basis: str | None
    sources: tuple[str, ...]
    validity: Validity = Validity()
    items: tuple[Item, ...] = ()
    cases: tuple[Case, ...] = ()
    fees: tuple[Fee, ...] = ()


@dataclass(frozen=True)
class Procedure:
    id: str
    name: str
    group: str
    codes: tuple[str, ...]
    updated: date
    aliases: tuple[str, ...]
    summary: str
    sections: dict[str, Section]
    code_note: str | None = None


@dataclass(frozen=True)
class FaqEntry:
    id: str
    questions: tuple[str, ...]
    answer: str
    basis: str | None
    sources: tuple[str, ...]
    updated: date
    validity: Validity = Validity()
    procedure: str | None = None


@dataclass
class KnowledgeBase:
    procedures: dict[str, Procedure] = field(default_factory=dict)
    faq: dict[str, FaqEntry] = field(default_factory=dict)
    sources: dict[str, Source] = field(default_factory=dict)
