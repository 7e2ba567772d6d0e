"""Lexical search (BM25 over accent-folded, segmented text) over FAQ entries and
procedure sections. The semantic index of a later issue ranks on top of this."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
from rank_bm25 import BM25Okapi

from assistant.knowledge.passages import Passage
from assistant.text.normalize import fold, normalize_words
from assistant.text.query import expand_abbreviations

# Words too common in this domain to tell passages apart.
STOPWORDS = frozenset(
    "la gi thi co khong duoc cho toi em anh chi minh a ak oi nhe vay the nao bao nhieu "
    "can phai o dau khi nao lam sao nhu the va voi cua nay do roi hoi xin".split()
)


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float


def terms(text: str) -> list[str]:
    """Folded syllables and syllable bigrams (bigrams stand in for compound words)."""
    words = expand_abbreviations(normalize_words(text))  # the search's own too: "tv", "hk", "25t"
    syllables = [fold(w.text) for w in words if any(c.isalnum() for c in w.text)]
    unigrams = [s for s in syllables if s not in STOPWORDS]
    bigrams = [f"{a}_{b}" for a, b in zip(syllables, syllables[1:])]
    return unigrams + bigrams


# How many times a passage's names and questions count against its body: a citizen's
# question shares its words with how a passage is asked for more than with what it says
# (measured on the development questions, bench/kb_dev.py --lexical).
QUESTION_FIELD_WEIGHT = 1


def document_terms(passage: Passage) -> list[str]:
    asked = " ".join(dict.fromkeys((*passage.names, *passage.questions)))
    return terms(asked) * QUESTION_FIELD_WEIGHT + terms(f"{passage.title} {passage.text}")


class LexicalIndex:
    """Immutable once built: safe to share between concurrent requests."""

    def __init__(self, passages: list[Passage]) -> None:
        self.passages = passages
        self._bm25 = BM25Okapi([document_terms(p) for p in passages])

    def scores(self, query: str) -> np.ndarray:
        """BM25 score of every passage (zeros when the query has no searchable word)."""
        query_terms = terms(query)
        if not query_terms:
            return np.zeros(len(self.passages))
        return np.asarray(self._bm25.get_scores(query_terms), dtype=np.float64)

    def search(self, query: str, day: date, k: int = 3) -> list[Hit]:
        """The best `k` passages in force on `day` (a long-running server crosses valid_to dates)."""
        return top_hits(self.passages, self.scores(query), day, k, positive_only=True)


def top_hits(passages: list[Passage], scores: np.ndarray, day: date, k: int,
             positive_only: bool = False) -> list[Hit]:
    """The `k` best-scoring passages in force on `day`, best first (ties keep passage order)."""
    hits: list[Hit] = []
    for i in np.argsort(-scores, kind="stable"):
        if positive_only and scores[i] <= 0:
            break
        if passages[i].validity.in_force(day):
            hits.append(Hit(passages[i], float(scores[i])))
            if len(hits) == k:
                break
    return hits
