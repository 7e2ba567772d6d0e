"""Hybrid knowledge-base search: semantic similarity plus a saturating lexical signal.

    score = best cosine over the passage's rows  +  lexical_weight * bm25 / (bm25 + lexical_half)

The cosine carries meaning across wording; BM25 over accent-folded syllables carries the
exact terms (form codes, "CT01", procedure names typed without diacritics). Saturating
BM25 keeps a long passage from winning on term counts alone. The weights and the answer
thresholds are calibrated on data derived from the training material
(`bench/kb_calibrate.py`, never on the benchmark's held-out questions) and stored in
`knowledge_base/search.yml`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import yaml

from assistant.embeddings.encoder import Encoder
from assistant.knowledge.lexical import Hit, LexicalIndex, top_hits
from assistant.knowledge.model import KnowledgeBase
from assistant.knowledge.passages import Passage, build_passages
from assistant.knowledge.semantic import SemanticIndex, load_or_build
from assistant.text.corpus import nlu_training_texts
from assistant.text.query import QueryPreparer


@dataclass(frozen=True)
class SearchTuning:
    lexical_weight: float = 0.1
    lexical_half: float = 10.0
    restore_diacritics: bool = True
    answer_score: float = 0.9     # the top hit answers directly at or above this...
    answer_margin: float = 0.02   # ...when it leads the second by at least this
    suggest_score: float = 0.85   # below it, the assistant says it does not know

    @classmethod
    def load(cls, path: Path) -> "SearchTuning":
        data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.is_file() else None
        fields = cls.__dataclass_fields__
        return cls(**{k: v for k, v in (data or {}).items() if k in fields})


@dataclass(frozen=True)
class Decision:
    kind: str          # "answer" | "choices" | "unknown"
    hits: list[Hit]


class KnowledgeSearch:
    """Immutable after construction; a new knowledge base means a new instance."""

    def __init__(self, passages: list[Passage], lexical: LexicalIndex, semantic: SemanticIndex,
                 encoder: Encoder, preparer: QueryPreparer, tuning: SearchTuning) -> None:
        self.passages = passages
        self.lexical = lexical
        self.semantic = semantic
        self.encoder = encoder
        self.preparer = preparer
        self.tuning = tuning

    @classmethod
    def create(cls, kb: KnowledgeBase, index_dir: Path, encoder: Encoder, tuning: SearchTuning,
               nlu_dir: Path | None = None) -> "KnowledgeSearch":
        """Loads the saved semantic index, or builds and saves it if the content changed.
        The diacritic restorer learns from the knowledge base's own text and, when given,
        the NLU training examples."""
        return cls.create_with(kb, lambda passages: load_or_build(index_dir, passages, encoder),
                               encoder, tuning, nlu_dir)

    @classmethod
    def create_with(cls, kb: KnowledgeBase, semantic_for: Callable[[list[Passage]], SemanticIndex],
                    encoder: Encoder, tuning: SearchTuning, nlu_dir: Path | None = None) -> "KnowledgeSearch":
        """As `create`, with the semantic index made from the passages by `semantic_for`
        (live.py: reusing the vectors of unchanged rows and embedding only the others)."""
        passages = build_passages(kb)
        texts = [p.search_text for p in passages]
        if nlu_dir is not None and nlu_dir.is_dir():
            texts += nlu_training_texts(nlu_dir)
        return cls(passages, LexicalIndex(passages), semantic_for(passages),
                   encoder, QueryPreparer.fit(texts), tuning)

    def prepare(self, query: str) -> str:
        """Abbreviations expanded, misspellings repaired, diacritics restored (query.py)."""
        return (self.preparer.prepare(query) if self.tuning.restore_diacritics else query) or query

    def embed_query(self, query: str) -> np.ndarray:
        return self.encoder.encode_queries([self.prepare(query)])[0]

    def dense_scores(self, query: str) -> np.ndarray:
        return self.semantic.passage_scores(self.embed_query(query)).astype(np.float64)

    def scores(self, query: str) -> np.ndarray:
        prepared = self.prepare(query)
        dense = self.semantic.passage_scores(
            self.encoder.encode_queries([prepared])[0]).astype(np.float64)
        bm25 = self.lexical.scores(prepared)
        t = self.tuning
        return dense + t.lexical_weight * bm25 / (bm25 + t.lexical_half)

    def search(self, query: str, day: date, k: int = 5) -> list[Hit]:
        return top_hits(self.passages, self.scores(query), day, k)

    def decide(self, query: str, day: date) -> Decision:
        """Answer from the top passage, offer the top few, or admit not knowing."""
        hits = self.search(query, day, k=3)
        t = self.tuning
        if not hits or hits[0].score < t.suggest_score:
            return Decision("unknown", [])
        lead = hits[0].score - (hits[1].score if len(hits) > 1 else 0.0)
        if hits[0].score >= t.answer_score and lead >= t.answer_margin:
            return Decision("answer", hits[:1])
        return Decision("choices", [h for h in hits if h.score >= t.suggest_score])
