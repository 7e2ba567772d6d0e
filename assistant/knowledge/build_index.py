"""Builds (or confirms up to date) the semantic index of the PUBLISHED content:
`python -m assistant.knowledge.build_index [--full]`.

The published content is the YAML files in `knowledge_base/` with the officers' published
versions (`CONTENT_DB`) over them; without a content store, the YAML files alone. Rows
whose text did not change keep their vectors from the saved index; only the others are
embedded (`--full`: all of them, as after a change of the embedding model, which is detected
anyway). `make kb-index` runs it after converting the embedding model; the API would
otherwise do the same at start-up.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # torch's idle threads must not spin

from assistant.embeddings.encoder import SentenceTransformerEncoder  # noqa: E402
from assistant.knowledge.live import build_search, save_if_changed, saved_vectors  # noqa: E402
from assistant.knowledge.search import SearchTuning  # noqa: E402
from assistant.knowledge.store import PublishedContent  # noqa: E402
from assistant.settings import load_settings  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Build the knowledge-base search index.")
    parser.add_argument("--full", action="store_true", help="embed every row again")
    args = parser.parse_args(argv)
    settings = load_settings()
    started = time.perf_counter()
    encoder = SentenceTransformerEncoder(settings.embedding_model)
    generation, kb = PublishedContent(settings.knowledge_base_dir, settings.content_db).load()
    reuse = {} if args.full else saved_vectors(settings.kb_index_dir, encoder.name)
    search, report = build_search(kb, encoder, SearchTuning.load(settings.search_tuning_file),
                                  settings.nlu_data_dir, reuse, generation)
    if args.full:
        search.semantic.save(settings.kb_index_dir)
    saved = args.full or save_if_changed(search.semantic, settings.kb_index_dir)
    manifest = search.semantic.manifest
    print(f"kb index: {manifest['passages']} passages, {manifest['rows']} rows ({encoder.name}), "
          f"content generation {generation}, {report.embedded} rows embedded "
          f"({report.embed_seconds:.1f} s), ready in {time.perf_counter() - started:.1f} s"
          f"{' and saved' if saved else ''} -> {settings.kb_index_dir}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
