"""Live updates of the knowledge-base search: what an officer publishes is searched within
seconds, without a restart.

A `LiveSearch` keeps a `SearchHolder` (services/api/main.py) on the published content
(`store.PublishedContent`: the YAML files with the console's published versions over them).
A watcher thread polls the content store's `generation` (one SQLite read) every
`KB_WATCH_INTERVAL_S`; when it changed, it builds a NEW `KnowledgeSearch` beside the one
serving: index rows whose (passage key, kind, text) are unchanged keep their vectors from the
current FAISS index, only new or changed rows go through the encoder; the knowledge base, its
passages, the BM25 index and the query preparer (about 2 s of pure Python, some of it in
single calls holding the GIL for 200 ms) are made in a helper process (`ContentParts`), so the
threads serving requests do not wait on them. The new search is swapped in with one attribute
assignment: a request that already holds the old instance finishes on it, none waits. A
rebuild that fails leaves the old search serving (logged, retried after `RETRY_S` or at the
next publish).

Each new index is saved (`SemanticIndex.save` swaps the directory atomically), so content and
index survive a restart; at start-up the saved index's vectors are reused for the rows that
still match and only the rest is embedded. `python -m assistant.knowledge.build_index` does
the same from the command line (`--full` embeds everything again).
"""
from __future__ import annotations

import json
import logging
import multiprocessing
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import faiss
import numpy as np

from assistant.embeddings.encoder import Encoder
from assistant.knowledge.lexical import LexicalIndex
from assistant.knowledge.model import KnowledgeBase
from assistant.knowledge.passages import Passage
from assistant.knowledge.search import KnowledgeSearch, SearchTuning
from assistant.knowledge.semantic import (
    FORMAT_VERSION,
    Row,
    SemanticIndex,
    content_hash,
    embed_rows,
    index_rows,
)
from assistant.knowledge.store import PublishedContent
from assistant.text.query import QueryPreparer

logger = logging.getLogger(__name__)

RowKey = tuple[str, str, str]  # passage key, kind, text: what a row's vector depends on
RETRY_S = 30.0  # a failed rebuild is tried again after this long (or at the next publish)
PARTS_TIMEOUT_S = 300.0


def row_key(row: Row) -> RowKey:
    return (row.key, row.kind, row.text)


# ---------------------------------------------------------------- vectors to reuse

def faiss_vectors(index: faiss.Index) -> np.ndarray:
    """The vectors of an `IndexIDMap2` over a flat index, by id (our ids are row numbers)."""
    n = index.ntotal
    try:
        inner = faiss.downcast_index(index.index)
        ids = faiss.vector_to_array(index.id_map)
        vectors = np.empty((n, inner.d), dtype=np.float32)
        vectors[ids] = inner.reconstruct_n(0, n)
        return vectors
    except (AttributeError, IndexError, RuntimeError):
        if not n:
            return np.zeros((0, index.d), dtype=np.float32)
        return np.vstack([index.reconstruct(i) for i in range(n)])


def vectors_of(semantic: SemanticIndex, encoder_name: str) -> dict[RowKey, np.ndarray]:
    """Row key -> vector of a loaded index (nothing if another encoder made it)."""
    if semantic.manifest.get("encoder") != encoder_name:
        return {}
    vectors = faiss_vectors(semantic.faiss_index)
    return {row_key(r): vectors[i] for i, r in enumerate(semantic.rows)}


def saved_vectors(directory: Path, encoder_name: str) -> dict[RowKey, np.ndarray]:
    """Row key -> vector of the index saved in `directory`, whatever content it was built
    from; nothing if it is missing, unreadable, of another format or another encoder."""
    try:
        manifest = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
        rows = [Row(r["key"], r["text"], r["kind"])
                for r in json.loads((directory / "rows.json").read_text(encoding="utf-8"))]
        index = faiss.read_index(str(directory / "index.faiss"))
    except (OSError, ValueError, KeyError, TypeError, RuntimeError):
        return {}
    if (manifest.get("format") != FORMAT_VERSION or manifest.get("encoder") != encoder_name
            or index.ntotal != len(rows)):
        return {}
    vectors = faiss_vectors(index)
    return {row_key(r): vectors[i] for i, r in enumerate(rows)}


# ---------------------------------------------------------------- building

@dataclass(frozen=True)
class Rebuild:
    """What one (re)build did: rows in the index, rows embedded, and how long it took."""

    generation: int
    rows: int
    embedded: int
    embed_seconds: float
    seconds: float


def build_semantic(passages: list[Passage], encoder: Encoder,
                   reuse: dict[RowKey, np.ndarray]) -> tuple[SemanticIndex, int, float]:
    """A semantic index over `passages`, the vectors of rows found in `reuse` taken as they
    are; returns the index, how many rows were embedded and the seconds that took."""
    started = time.perf_counter()
    rows = index_rows(passages)
    missing = [i for i, r in enumerate(rows) if row_key(r) not in reuse]
    embedded = embed_rows([rows[i] for i in missing], encoder) if missing else None
    embed_seconds = time.perf_counter() - started
    if embedded is not None:
        dim = embedded.shape[1]
    else:
        dim = len(next(iter(reuse.values()))) if reuse else 0
    vectors = np.zeros((len(rows), dim), dtype=np.float32)
    if embedded is not None:
        vectors[missing] = embedded
    for i, row in enumerate(rows):
        vector = reuse.get(row_key(row))
        if vector is not None:
            vectors[i] = vector
    index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
    index.add_with_ids(vectors, np.arange(len(rows), dtype=np.int64))
    manifest = {
        "format": FORMAT_VERSION, "encoder": encoder.name, "dimension": int(dim),
        "rows": len(rows), "passages": len(passages), "content_sha256": content_hash(rows, encoder.name),
        "built_at": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
        "build_seconds": round(time.perf_counter() - started, 1), "embedded_rows": len(missing),
    }
    return SemanticIndex(passages, rows, index, manifest), len(missing), embed_seconds


def build_search(kb: KnowledgeBase, encoder: Encoder, tuning: SearchTuning, nlu_dir: Path | None,
                 reuse: dict[RowKey, np.ndarray], generation: int = 0) -> tuple[KnowledgeSearch, Rebuild]:
    """A new search over `kb`, embedding only the rows `reuse` has no vector for."""
    started = time.perf_counter()
    counts: list[tuple[int, float]] = []

    def semantic_for(passages: list[Passage]) -> SemanticIndex:
        semantic, embedded, embed_seconds = build_semantic(passages, encoder, reuse)
        counts.append((embedded, embed_seconds))
        return semantic

    search = KnowledgeSearch.create_with(kb, semantic_for, encoder, tuning, nlu_dir)
    embedded, embed_seconds = counts[0]
    return search, Rebuild(generation, len(search.semantic.rows), embedded, round(embed_seconds, 3),
                           round(time.perf_counter() - started, 3))


def save_if_changed(semantic: SemanticIndex, directory: Path) -> bool:
    """Save the index unless the saved one already holds this content (same hash)."""
    try:
        saved = json.loads((directory / "manifest.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        saved = {}
    if (saved.get("content_sha256") == semantic.manifest["content_sha256"]
            and saved.get("encoder") == semantic.manifest["encoder"]):
        return False
    semantic.save(directory)
    return True


# ---------------------------------------------------------------- the model-free parts, in a helper process

@dataclass(frozen=True)
class ContentParts:
    """What a search over the published content needs besides vectors: the knowledge base, its
    passages, the BM25 index and the query preparer. About 2 s of pure Python, some of it in
    single calls that hold the GIL for 200 ms: the live rebuild makes them in a helper process,
    so that the requests' threads never wait on them (unpickling them here takes 70 ms)."""

    generation: int
    kb: KnowledgeBase
    passages: list[Passage]
    lexical: LexicalIndex
    preparer: QueryPreparer
    seconds: float


def _no_vectors(passages: list[Passage]) -> SemanticIndex:
    return SemanticIndex(passages, [], faiss.IndexIDMap2(faiss.IndexFlatIP(1)), {})


def content_parts(content: PublishedContent, nlu_dir: Path | None) -> ContentParts:
    """The published content and the model-free parts of its search (`KnowledgeSearch.create_with`
    with an empty semantic index: the same passages, BM25 and preparer as a full build)."""
    started = time.perf_counter()
    generation, kb = content.load()
    shell = KnowledgeSearch.create_with(kb, _no_vectors, None, SearchTuning(), nlu_dir)  # type: ignore[arg-type]
    return ContentParts(generation, kb, shell.passages, shell.lexical, shell.preparer,
                        round(time.perf_counter() - started, 3))


_child_contents: dict[tuple[str, str], PublishedContent] = {}


def content_parts_in_child(base_dir: str, content_db: str, nlu_dir: str | None) -> ContentParts:
    """`content_parts` in the helper process, which keeps the YAML base between calls."""
    key = (base_dir, content_db)
    if key not in _child_contents:
        _child_contents[key] = PublishedContent(Path(base_dir), Path(content_db))
    content = _child_contents[key]
    return content_parts(content, Path(nlu_dir) if nlu_dir else None)


def _warm_up() -> bool:
    return True  # importing this module in the helper process is the point


def search_from_parts(parts: ContentParts, encoder: Encoder, tuning: SearchTuning,
                      reuse: dict[RowKey, np.ndarray]) -> tuple[KnowledgeSearch, Rebuild]:
    started = time.perf_counter()
    semantic, embedded, embed_seconds = build_semantic(parts.passages, encoder, reuse)
    search = KnowledgeSearch(parts.passages, parts.lexical, semantic, encoder, parts.preparer, tuning)
    return search, Rebuild(parts.generation, len(semantic.rows), embedded, round(embed_seconds, 3),
                           round(parts.seconds + time.perf_counter() - started, 3))


# ---------------------------------------------------------------- the running service

class LiveSearch:
    """Loads the search of the published content into `holder` and keeps it current.

    `holder` has attributes `search`, `status`, `ready` (threading.Event), `kb` and
    `generation` (services/api/main.py SearchHolder). `run(stop)` is the body of one
    background thread: the first load, then a poll every `interval_s` until `stop` is set."""

    def __init__(self, holder: Any, content: PublishedContent, make_encoder: Callable[[], Encoder],
                 tuning_file: Path, index_dir: Path, nlu_dir: Path | None, interval_s: float = 1.0,
                 on_ready: Callable[[Encoder], None] | None = None, retry_s: float = RETRY_S,
                 helper_process: bool = True) -> None:
        self.holder = holder
        self.content = content
        self.make_encoder = make_encoder
        self.tuning_file = tuning_file
        self.index_dir = index_dir
        self.nlu_dir = nlu_dir
        self.interval_s = interval_s
        self.on_ready = on_ready
        self.retry_s = retry_s
        self.encoder: Encoder | None = None
        self.last: Rebuild | None = None
        self._kb_lock = threading.Lock()
        self._failed: tuple[int, float] | None = None  # generation, when to try again
        self.helper_process = helper_process
        self._pool: ProcessPoolExecutor | None = None

    # the knowledge base alone (cheap; /health and /api/kb/* need it before the search is ready)

    def current_kb(self) -> KnowledgeBase:
        kb = self.holder.kb
        if kb is None:
            with self._kb_lock:
                if self.holder.kb is None:
                    self.holder.generation, self.holder.kb = self.content.load()
                kb = self.holder.kb
        return kb

    # building

    def _build(self, kb: KnowledgeBase, generation: int, previous: KnowledgeSearch | None,
               parts: ContentParts | None = None) -> KnowledgeSearch:
        assert self.encoder is not None
        reuse = (vectors_of(previous.semantic, self.encoder.name) if previous is not None
                 else saved_vectors(self.index_dir, self.encoder.name))
        tuning = SearchTuning.load(self.tuning_file)
        if parts is not None:
            search, report = search_from_parts(parts, self.encoder, tuning, reuse)
        else:
            search, report = build_search(kb, self.encoder, tuning, self.nlu_dir, reuse, generation)
        saved = save_if_changed(search.semantic, self.index_dir)
        self.last = report
        logger.info("search built for content generation %d: %d rows, %d embedded (%.2f s), %.2f s in all%s",
                    generation, report.rows, report.embedded, report.embed_seconds, report.seconds,
                    ", index saved" if saved else "")
        return search

    def _parts(self) -> ContentParts:
        """The model-free parts of the new search, from the helper process (this process if it
        cannot be used)."""
        if self.helper_process:
            try:
                if self._pool is None:
                    self._start_pool()
                assert self._pool is not None
                return self._pool.submit(content_parts_in_child, str(self.content.base_dir),
                                         str(self.content.content_db),
                                         str(self.nlu_dir) if self.nlu_dir else None).result(PARTS_TIMEOUT_S)
            except Exception:
                logger.warning("the helper process failed; building in this process", exc_info=True)
                self.close()
        return content_parts(self.content, self.nlu_dir)

    def _start_pool(self) -> None:
        self._pool = ProcessPoolExecutor(max_workers=1, mp_context=multiprocessing.get_context("spawn"))
        self._pool.submit(_warm_up)  # its imports now, not at the first publish

    def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False, cancel_futures=True)

    def start(self) -> None:
        """The first load: the published content, the encoder, the saved index's vectors."""
        holder = self.holder
        try:
            self.current_kb()
            with self._kb_lock:
                generation, kb = holder.generation, holder.kb
            self.encoder = self.make_encoder()
            holder.search = self._build(kb, generation, None)
            if self.on_ready is not None:
                self.on_ready(self.encoder)
            holder.status = "ready"
            logger.info("search ready: %s", holder.search.semantic.manifest)
            if self.helper_process:
                self._start_pool()
        except Exception:  # the API keeps serving everything else; /health reports "unavailable"
            logger.exception("search could not be loaded")
            holder.status = "unavailable"
        finally:
            holder.ready.set()

    def refresh(self) -> bool:
        """One poll: if the published content changed, build the new search and swap it in.
        True when something was swapped."""
        holder = self.holder
        generation = self.content.generation()
        if generation == holder.generation:
            return False
        if self._failed is not None and self._failed[0] == generation and time.monotonic() < self._failed[1]:
            return False
        try:
            search = holder.search
            if search is not None and self.encoder is not None:
                parts = self._parts()
                generation, kb = parts.generation, parts.kb
                new = self._build(kb, generation, search, parts)
            else:  # no search to update (it could not be loaded): the knowledge base alone
                generation, kb = self.content.load()
                new = None
        except Exception:
            logger.exception("content generation %d: the search could not be rebuilt; the previous one "
                             "keeps serving (generation %d)", generation, holder.generation)
            self._failed = (generation, time.monotonic() + self.retry_s)
            return False
        self._failed = None
        # one assignment each: a request in flight keeps the instance it already has
        holder.kb = kb
        if new is not None:
            holder.search = new
        holder.generation = generation
        return True

    def run(self, stop: threading.Event) -> None:
        self.start()
        try:
            while not stop.wait(self.interval_s):
                try:
                    self.refresh()
                except Exception:  # never let the watcher die (a locked or damaged store file)
                    logger.exception("content watcher: poll failed")
        finally:
            self.close()
