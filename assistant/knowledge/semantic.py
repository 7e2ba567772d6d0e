"""Semantic index: FAISS over embeddings of every passage, stored beside its metadata.

Each passage is embedded more than once: its body (as an e5 "passage") and each of the
questions it is asked by (FAQ question variants; for a procedure section, questions made
from the procedure's names and the aspect: "đăng ký tạm trú lệ phí bao nhiêu"), as e5 "queries",
since a citizen's question is closest to another question. A passage scores the best
cosine over its rows. The index is an `IndexIDMap2` over exact inner product (a few
thousand rows: exact search takes well under a millisecond), so rows can later be added
or removed one passage at a time.

On disk (`KB_INDEX_DIR`): `index.faiss`, `rows.json` (row id -> passage key, text) and
`manifest.json` (encoder, content hash, build time). A changed knowledge base changes the
content hash, and `load_or_build` rebuilds.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from assistant.embeddings.encoder import Encoder
from assistant.knowledge.passages import Passage

FORMAT_VERSION = 1


@dataclass(frozen=True)
class Row:
    key: str      # passage key
    text: str
    kind: str     # "body" (embedded as a passage) or "question" (embedded as a query)


def index_rows(passages: list[Passage]) -> list[Row]:
    rows: list[Row] = []
    for passage in passages:
        rows.append(Row(passage.key, f"{passage.title}. {passage.text}", "body"))
        questions = dict.fromkeys((*passage.questions, *passage.extra_questions, passage.title))
        rows.extend(Row(passage.key, q, "question") for q in questions)
    return rows


def content_hash(rows: list[Row], encoder_name: str) -> str:
    payload = json.dumps([encoder_name, FORMAT_VERSION, [(r.key, r.kind, r.text) for r in rows]],
                         ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def embed_rows(rows: list[Row], encoder: Encoder) -> np.ndarray:
    bodies = [i for i, r in enumerate(rows) if r.kind == "body"]
    questions = [i for i, r in enumerate(rows) if r.kind == "question"]
    body_vectors = encoder.encode_passages([rows[i].text for i in bodies])
    question_vectors = encoder.encode_queries([rows[i].text for i in questions])
    dim = body_vectors.shape[1] if len(bodies) else question_vectors.shape[1]
    vectors = np.zeros((len(rows), dim), dtype=np.float32)
    vectors[bodies] = body_vectors
    vectors[questions] = question_vectors
    return vectors


class SemanticIndex:
    """Read-only after construction: safe to share between concurrent requests."""

    def __init__(self, passages: list[Passage], rows: list[Row], index: faiss.Index,
                 manifest: dict) -> None:
        position = {p.key: i for i, p in enumerate(passages)}
        unknown = [r.key for r in rows if r.key not in position]
        if unknown:
            raise ValueError(f"index rows name passages that do not exist: {unknown[:3]}")
        self.passages = passages
        self.rows = rows
        self.manifest = manifest
        self._index = index
        self._row_passage = np.array([position[r.key] for r in rows], dtype=np.int64)

    @property
    def faiss_index(self) -> faiss.Index:
        """The FAISS index itself, read only (live.py reuses its vectors in a new index)."""
        return self._index

    @classmethod
    def build(cls, passages: list[Passage], encoder: Encoder) -> "SemanticIndex":
        started = time.perf_counter()
        rows = index_rows(passages)
        vectors = embed_rows(rows, encoder)
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(vectors.shape[1]))
        index.add_with_ids(vectors, np.arange(len(rows), dtype=np.int64))
        manifest = {
            "format": FORMAT_VERSION, "encoder": encoder.name, "dimension": int(vectors.shape[1]),
            "rows": len(rows), "passages": len(passages), "content_sha256": content_hash(rows, encoder.name),
            "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
            "build_seconds": round(time.perf_counter() - started, 1),
        }
        return cls(passages, rows, index, manifest)

    def save(self, directory: Path) -> None:
        """Written to a temporary directory and swapped in, so a reader never sees half."""
        directory.parent.mkdir(parents=True, exist_ok=True)
        staging = Path(tempfile.mkdtemp(prefix=".kb-index-", dir=directory.parent))
        faiss.write_index(self._index, str(staging / "index.faiss"))
        (staging / "rows.json").write_text(json.dumps(
            [{"key": r.key, "kind": r.kind, "text": r.text} for r in self.rows], ensure_ascii=False),
            encoding="utf-8")
        (staging / "manifest.json").write_text(json.dumps(self.manifest, indent=2), encoding="utf-8")
        old = directory.with_name(directory.name + ".old")
        if directory.exists():
            os.replace(directory, old)
        os.replace(staging, directory)
        if old.exists():
            for child in old.iterdir():
                child.unlink()
            old.rmdir()

    @classmethod
    def load(cls, directory: Path, passages: list[Passage], encoder_name: str) -> "SemanticIndex | None":
        """The saved index if it matches these passages and this encoder, else None."""
        try:
            manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
            rows = [Row(r["key"], r["text"], r["kind"])
                    for r in json.loads((directory / "rows.json").read_text(encoding="utf-8"))]
            index = faiss.read_index(str(directory / "index.faiss"))
        except (OSError, ValueError, KeyError, RuntimeError):
            return None
        expected = index_rows(passages)
        if (manifest.get("format") != FORMAT_VERSION or rows != expected
                or manifest.get("content_sha256") != content_hash(expected, encoder_name)
                or index.ntotal != len(rows)):
            return None
        return cls(passages, rows, index, manifest)

    def passage_scores(self, query_vector: np.ndarray) -> np.ndarray:
        """Best cosine per passage (−1 for a passage without rows)."""
        query = np.asarray(query_vector, dtype=np.float32).reshape(1, -1)
        similarities, ids = self._index.search(query, self._index.ntotal)
        scores = np.full(len(self.passages), -1.0, dtype=np.float32)
        valid = ids[0] >= 0
        np.maximum.at(scores, self._row_passage[ids[0][valid]], similarities[0][valid])
        return scores


def load_or_build(directory: Path, passages: list[Passage], encoder: Encoder) -> SemanticIndex:
    index = SemanticIndex.load(directory, passages, encoder.name)
    if index is None:
        index = SemanticIndex.build(passages, encoder)
        index.save(directory)
    return index
