"""Turns what a citizen typed into the text the search embeds: abbreviations expanded
("cccd" -> "căn cước công dân") and, when it was typed without diacritics, tone marks
restored, because the embedding model reads unaccented Vietnamese poorly."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from assistant.text.normalize import is_mostly_unaccented, normalize_words
from assistant.text.restore import DiacriticRestorer


@dataclass(frozen=True)
class QueryPreparer:
    restorer: DiacriticRestorer

    @classmethod
    def fit(cls, accented_texts: Iterable[str]) -> "QueryPreparer":
        return cls(DiacriticRestorer.fit(accented_texts))

    def prepare(self, text: str) -> str:
        words = normalize_words(text)
        if is_mostly_unaccented(words):
            words = self.restorer.restore(words)
        return " ".join(w.text for w in words)
