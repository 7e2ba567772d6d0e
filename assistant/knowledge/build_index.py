"""Builds (or confirms up to date) the semantic index: `python -m assistant.knowledge.build_index`.

`make kb-index` runs it after converting the embedding model; the API would otherwise
build the index at start-up, which takes a minute.
"""
from __future__ import annotations

import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # torch's idle threads must not spin

from assistant.embeddings.encoder import SentenceTransformerEncoder  # noqa: E402
from assistant.knowledge.loader import load_knowledge_base  # noqa: E402
from assistant.knowledge.search import KnowledgeSearch, SearchTuning  # noqa: E402
from assistant.settings import load_settings  # noqa: E402


def main() -> int:
    settings = load_settings()
    started = time.perf_counter()
    encoder = SentenceTransformerEncoder(settings.embedding_model)
    kb = load_knowledge_base(settings.knowledge_base_dir)
    search = KnowledgeSearch.create(kb, settings.kb_index_dir, encoder,
                                    SearchTuning.load(settings.search_tuning_file), settings.nlu_data_dir)
    manifest = search.semantic.manifest
    print(f"kb index: {manifest['passages']} passages, {manifest['rows']} rows "
          f"({encoder.name}), ready in {time.perf_counter() - started:.1f} s -> {settings.kb_index_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
