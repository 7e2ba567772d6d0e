"""Diacritic restoration for messages typed without tone marks.

Learned from accented text the project already has (training examples, knowledge base):
for every run of 1-4 syllables it remembers the accented forms seen for its folded form,
and restores an unaccented message by greedy longest match. Restoration never changes
a syllable's length in NFC, so offsets into the original text stay valid.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Iterable

from assistant.text.normalize import NormWord, fold, has_diacritics, normalize_words

MAX_NGRAM = 4


@dataclass
class DiacriticRestorer:
    # folded n-gram ("dang ky") -> accented form -> count
    table: dict[str, dict[str, int]] = field(default_factory=dict)

    @classmethod
    def fit(cls, texts: Iterable[str]) -> "DiacriticRestorer":
        counts: dict[str, Counter] = defaultdict(Counter)
        for text in texts:
            syllables = [w.text for w in normalize_words(text) if w.text.isalpha()]
            if not any(has_diacritics(s) for s in syllables):
                continue  # only learn from text that was typed with diacritics
            for n in range(1, MAX_NGRAM + 1):
                for i in range(len(syllables) - n + 1):
                    gram = " ".join(syllables[i : i + n])
                    counts[fold(gram)][gram] += 1
        return cls({key: dict(forms) for key, forms in counts.items()})

    def best(self, folded: str) -> str | None:
        forms = self.table.get(folded)
        if not forms:
            return None
        return max(forms.items(), key=lambda item: (item[1], item[0]))[0]

    def restore(self, words: list[NormWord]) -> list[NormWord]:
        """Restore tone marks on unaccented, non-expanded alphabetic syllables."""
        out = list(words)
        i = 0
        while i < len(out):
            if not _restorable(out[i]):
                i += 1
                continue
            for n in range(MAX_NGRAM, 0, -1):
                window = out[i : i + n]
                if len(window) < n or not all(_restorable(w) for w in window):
                    continue
                accented = self.best(" ".join(w.text for w in window))
                if accented is None:
                    continue
                parts = accented.split(" ")
                for k, part in enumerate(parts):
                    if len(part) == len(window[k].text):
                        out[i + k] = NormWord(part, window[k].start, window[k].end)
                i += n
                break
            else:
                i += 1
        return out

    def to_dict(self) -> dict[str, dict[str, int]]:
        return self.table

    @classmethod
    def from_dict(cls, table: dict[str, dict[str, int]]) -> "DiacriticRestorer":
        return cls(table)


def _restorable(word: NormWord) -> bool:
    return word.text.isalpha() and not word.expanded and fold(word.text) == word.text
