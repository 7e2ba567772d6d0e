"""Entity extraction for citizens' messages.

Numbers and codes are found by patterns in the original text; names (procedures,
provinces, communes, relations) by longest match over the normalised, accent-folded
syllables, so "dk tam tru", "ĐK tạm trú" and "đăng ký tạm trú" give the same entity.
All spans point into the original text.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache
from typing import Iterable

from assistant.text.normalize import NormWord, fold, normalize_words
from assistant.text.places import commune_index, province_index


@dataclass(frozen=True)
class Entity:
    entity: str
    value: str
    start: int
    end: int


DOSSIER_CODE = re.compile(r"(?<![\w.])[A-Za-z]\d{2}(?:\.[A-Za-z0-9]{1,4}){1,3}-\d{6}-\d{4}(?![\w])")
# the assistant's own draft reference for a dossier waiting in the outbox (assistant/dossiers/outbox.py)
DRAFT_REFERENCE = re.compile(r"(?<![\w.])NHAP-[0-9A-Fa-f]{8}(?![\w])", re.IGNORECASE)
NUMERIC_DATE = re.compile(r"(?<![\d/.\-])(\d{1,2})([/.\-])(\d{1,2})\2(\d{4})(?![\d/.\-])")
WORDED_DATE = re.compile(r"ngay\s+(\d{1,2})\s+thang\s+(\d{1,2})\s+nam\s+(\d{4})")
PHONE = re.compile(r"(?<![\d+])(?:\+84[\s.]?|0)\d{2,3}(?:[\s.\-]?\d){6,7}(?!\d)")
DIGITS = re.compile(r"(?<!\d)\d(?:[\s.]?\d){8,11}(?!\d)")

# Relation to the household head (folded form -> value shown).
RELATIONS: dict[str, str] = {
    "con": "con", "con trai": "con", "con gai": "con", "vo": "vợ", "chong": "chồng",
    "bo": "bố", "ba": "bố", "cha": "bố", "me": "mẹ", "ong": "ông", "ba noi": "bà", "ba ngoai": "bà",
    "ong noi": "ông", "ong ngoai": "ông", "chau": "cháu", "anh trai": "anh", "chi gai": "chị",
    "em trai": "em", "em gai": "em", "con dau": "con dâu", "con re": "con rể",
    "bo me": "bố mẹ", "cha me": "bố mẹ", "nguoi thue tro": "người thuê trọ",
    "nguoi thue nha": "người thuê trọ",
}
_RELATION_CONTEXT_BEFORE = {"cho", "la", "cua", "voi", "he"}  # "he": "quan hệ (với chủ hộ): con"
# Pronoun-like words that are relations only when they clearly refer to family.
_AMBIGUOUS_RELATIONS = {"ba", "ong", "anh", "chi", "em", "con"}
_OLD_UNIT_WORDS = ("thi tran", "huyen", "thi xa")  # "quận" left out: "quan hệ" is far commoner


def _folded_date(day: int, month: int, year: int) -> str | None:
    try:
        return date(year, month, day).isoformat()
    except ValueError:
        return None


def _digits(text: str) -> str:
    return re.sub(r"\D", "", text)


class EntityFinder:
    def __init__(self, procedure_aliases: dict[str, str]) -> None:
        # folded alias ("dang ky tam tru") -> procedure id
        self._procedures = {fold(alias): proc for alias, proc in procedure_aliases.items()}
        self._max_alias = max((len(a.split()) for a in self._procedures), default=1)

    @classmethod
    def with_knowledge_base(cls, extra_aliases: dict[str, str] | None = None) -> "EntityFinder":
        """Aliases from the knowledge base, plus `extra_aliases` (e.g. learned from training data)."""
        aliases = dict(extra_aliases or {})
        aliases.update(_knowledge_base_aliases())
        return cls(aliases)

    @classmethod
    @lru_cache(maxsize=1)
    def default(cls) -> "EntityFinder":
        return cls.with_knowledge_base()

    # --- patterns over the original text -------------------------------------------------
    def _pattern_entities(self, text: str) -> list[Entity]:
        found: list[Entity] = []
        taken: list[tuple[int, int]] = []

        def add(entity: str, value: str, start: int, end: int) -> None:
            if any(s < end and start < e for s, e in taken):
                return
            taken.append((start, end))
            found.append(Entity(entity, value, start, end))

        for m in DOSSIER_CODE.finditer(text):
            add("dossier_code", m.group().upper(), *m.span())
        for m in DRAFT_REFERENCE.finditer(text):
            add("dossier_code", m.group().upper(), *m.span())
        for m in NUMERIC_DATE.finditer(text):
            iso = _folded_date(int(m.group(1)), int(m.group(3)), int(m.group(4)))
            add("date", iso or m.group(), *m.span())
        folded, index = _fold_with_index(text)
        for m in WORDED_DATE.finditer(folded):
            iso = _folded_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            add("date", iso or text[index[m.start()]:index[m.end() - 1] + 1],
                index[m.start()], index[m.end() - 1] + 1)
        for m in PHONE.finditer(text):
            digits = _digits(m.group())
            national = "0" + digits[2:] if m.group().startswith("+84") else digits
            if len(national) == 10:
                add("phone", national, *m.span())
        for m in DIGITS.finditer(text):
            digits = _digits(m.group())
            if len(digits) == 12:
                add("id_number", digits, *m.span())
            elif len(digits) == 9:
                add("cmnd_number", digits, *m.span())
        return found

    # --- names over the normalised syllables ----------------------------------------------
    def _name_entities(self, words: list[NormWord]) -> list[Entity]:
        folded = [w.folded for w in words]
        found: list[Entity] = []
        provinces, communes = province_index(), commune_index()
        i = 0
        while i < len(words):
            match = self._longest(folded, i, words, provinces, communes)
            if match is None:
                i += 1
                continue
            entity, value, length = match
            found.append(Entity(entity, value, words[i].start, words[i + length - 1].end))
            i += length
        places = [e for e in found if e.entity in ("province", "commune")]
        # Relations get their own pass: "làm căn cước cho con" names a procedure and a relation.
        for entity in self._relations(folded, words):
            if not any(p.start < entity.end and entity.start < p.end for p in places):
                found.append(entity)
        return found

    def _relations(self, folded: list[str], words: list[NormWord]) -> list[Entity]:
        found = []
        i = 0
        while i < len(folded):
            for length in (3, 2, 1):
                phrase = " ".join(folded[i : i + length])
                if i + length <= len(folded) and phrase in RELATIONS and self._relation_context(folded, i, length):
                    found.append(Entity("relation", RELATIONS[phrase], words[i].start,
                                        words[i + length - 1].end))
                    i += length
                    break
            else:
                i += 1
        return found

    def _longest(self, folded: list[str], i: int, words: list[NormWord], provinces: dict,
                 communes: dict) -> tuple[str, str, int] | None:
        for length in range(min(6, len(folded) - i), 0, -1):
            phrase = " ".join(folded[i : i + length])
            if length <= self._max_alias and phrase in self._procedures:
                return "procedure", self._procedures[phrase], length
            if phrase.split(" ", 1)[0] in ("xa", "phuong") or phrase.startswith("dac khu "):
                if phrase in communes and length >= 2:
                    return "commune", communes[phrase][0].name, length
            for unit in _OLD_UNIT_WORDS:
                if phrase.startswith(unit + " ") and length == len(unit.split()) + 2:
                    # a pre-2025 unit (district, town) of two syllables, as most are;
                    # converting it to a 2025 commune is the address resolver's job
                    return "commune", " ".join(w.text for w in words[i : i + length]), length
            stripped = phrase[6:] if phrase.startswith("tinh ") else phrase
            if stripped in provinces and (length >= 2 or stripped in ("hue",)):
                return "province", provinces[stripped].name, length
        return None

    @staticmethod
    def _relation_context(folded: list[str], i: int, length: int) -> bool:
        before = folded[i - 1] if i > 0 else ""
        if " ".join(folded[max(i - 2, 0) : i]) == "chu ho":  # "quan hệ với chủ hộ: con"
            before = "he"
        after = " ".join(folded[i + length : i + length + 2])
        phrase = " ".join(folded[i : i + length])
        if after.startswith("chu ho") or after.startswith("cua chu"):
            return True
        if phrase in _AMBIGUOUS_RELATIONS:
            return before in {"cho", "la", "he"} and not after.startswith(("oi", "a ", "nhe"))
        return before in _RELATION_CONTEXT_BEFORE

    def find(self, text: str, words: list[NormWord] | None = None) -> list[Entity]:
        words = words if words is not None else normalize_words(text)
        patterns = self._pattern_entities(text)
        names = [
            e for e in self._name_entities(words)
            if not any(p.start < e.end and e.start < p.end for p in patterns)
        ]
        return sorted(patterns + names, key=lambda e: e.start)


def _fold_with_index(text: str) -> tuple[str, list[int]]:
    """Folded text and, for each folded character, its index in `text`."""
    chars: list[str] = []
    index: list[int] = []
    for position, ch in enumerate(text):
        for out in fold(ch):
            chars.append(out)
            index.append(position)
    return "".join(chars), index


@lru_cache(maxsize=1)
def _knowledge_base_aliases() -> dict[str, str]:
    from assistant.knowledge.loader import load_knowledge_base
    from assistant.settings import load_settings

    kb = load_knowledge_base(load_settings().knowledge_base_dir, strict=False)
    return procedure_aliases(kb.procedures.values())


def procedure_aliases(procedures: Iterable) -> dict[str, str]:
    """Every alias and official name of every procedure -> its id (longer aliases win)."""
    aliases: dict[str, str] = {}
    for procedure in procedures:
        for alias in (procedure.name, *procedure.aliases):
            normalized = " ".join(w.text for w in normalize_words(alias))
            aliases.setdefault(normalized, procedure.id)
    return aliases
