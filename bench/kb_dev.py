"""Development loop for the knowledge-base search, on bench/dev/kb_dev_questions.yml only
(never on the held-out tests/kb/questions.yml): R@1 / R@3 / MRR per ranker, the shipped
decision shares, and the dev questions the shipped ranking misses.

Usage: ``python bench/kb_dev.py [--index-dir DIR] [--misses] [--grid]``
(the index is built in DIR, default var/kb-dev-index, if the passages changed).
"""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import faiss  # noqa: E402
import numpy as np  # noqa: E402
from kb_common import dev_questions, metrics, out_of_scope_texts, ranks  # noqa: E402

from assistant.embeddings.encoder import SentenceTransformerEncoder  # noqa: E402
from assistant.knowledge.loader import load_knowledge_base  # noqa: E402
from assistant.knowledge.search import KnowledgeSearch, SearchTuning  # noqa: E402
from assistant.settings import load_settings  # noqa: E402
from assistant.text.normalize import is_mostly_unaccented, normalize_words  # noqa: E402


def line(name: str, found: list, unaccented: list[int]) -> str:
    m, u = metrics(found), metrics([found[i] for i in unaccented])
    return (f"{name:<28}{m['recall_at_1']:>7.3f}{m['recall_at_3']:>7.3f}{m['mrr']:>7.3f}"
            f"   unacc {u['recall_at_1']:.3f} {u['recall_at_3']:.3f} {u['mrr']:.3f}")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--index-dir", type=Path, default=ROOT / "var" / "kb-dev-index")
    parser.add_argument("--misses", action="store_true")
    parser.add_argument("--from", dest="start", type=int, default=0, help="only questions from this index")
    parser.add_argument("--diff", action="store_true", help="questions whose rank the new preparation changed")
    parser.add_argument("--lexical", action="store_true", help="try BM25 document variants")
    parser.add_argument("--grid", action="store_true", help="also try fusion weights")
    args = parser.parse_args()
    settings = load_settings()
    tuning = SearchTuning.load(settings.search_tuning_file)
    started = time.perf_counter()
    search = KnowledgeSearch.create(load_knowledge_base(settings.knowledge_base_dir), args.index_dir,
                                    SentenceTransformerEncoder(settings.embedding_model), tuning,
                                    settings.nlu_data_dir)
    print(f"loaded in {time.perf_counter() - started:.1f} s, {search.semantic.manifest['rows']} rows")
    keys = [p.key for p in search.passages]
    questions = dev_questions()[args.start:]
    unaccented = [i for i, q in enumerate(questions) if q.unaccented]
    dense = np.array([search.dense_scores(q.text) for q in questions])

    def legacy(text: str) -> str:  # the preparation before the search's own abbreviations and repairs
        words = normalize_words(text)
        return " ".join(w.text for w in (search.preparer.restorer.restore(words)
                                         if is_mostly_unaccented(words) else words))
    dense_old = np.array([search.semantic.passage_scores(search.encoder.encode_queries([legacy(q.text)])[0])
                          for q in questions]).astype(np.float64)
    bm25_raw = np.array([search.lexical.scores(q.text) for q in questions])
    bm25 = np.array([search.lexical.scores(search.prepare(q.text)) for q in questions])
    shipped = np.array([search.scores(q.text) for q in questions])
    print(f"{'ranker':<28}{'R@1':>7}{'R@3':>7}{'MRR':>7}   (n={len(questions)}, unaccented {len(unaccented)})")
    print(line("bm25 (as typed)", ranks(bm25_raw, keys, questions), unaccented))
    print(line("bm25 (prepared query)", ranks(bm25, keys, questions), unaccented))
    print(line("dense (legacy preparation)", ranks(dense_old, keys, questions), unaccented))
    print(line("dense (prepared query)", ranks(dense, keys, questions), unaccented))
    t = search.tuning
    for name, d, b in (("fused legacy/as typed", dense_old, bm25_raw), ("fused new/as typed", dense, bm25_raw),
                       ("fused new/prepared", dense, bm25)):
        print(line(name, ranks(d + t.lexical_weight * b / (b + t.lexical_half), keys, questions), unaccented))
    found = ranks(shipped, keys, questions)
    print(line("shipped", found, unaccented))
    if args.grid:
        index = search.semantic
        vectors = index._index.index.reconstruct_n(0, index._index.ntotal) if hasattr(index._index, "index") else None
        ids = faiss.vector_to_array(index._index.id_map)
        vectors = vectors[np.argsort(ids)]
        row_passage = index._row_passage
        qvecs = np.array([search.embed_query(q.text) for q in questions])
        sims = qvecs @ vectors.T
        order = np.argsort(row_passage, kind="stable")
        bounds = np.searchsorted(row_passage[order], np.arange(len(keys) + 1))
        for pool in ("max", "top2", "top3", "mean"):
            pooled = np.full((len(questions), len(keys)), -1.0)
            for p in range(len(keys)):
                block = np.sort(sims[:, order[bounds[p]:bounds[p + 1]]], axis=1)[:, ::-1]
                if block.shape[1] == 0:
                    continue
                if pool == "max":
                    pooled[:, p] = block[:, 0]
                elif pool == "top2":
                    pooled[:, p] = 0.7 * block[:, 0] + 0.3 * block[:, :2].mean(axis=1)
                elif pool == "top3":
                    pooled[:, p] = block[:, :3].mean(axis=1)
                else:
                    pooled[:, p] = 0.8 * block[:, 0] + 0.2 * block.mean(axis=1)
            t = search.tuning
            print(line(f"dense pool {pool}", ranks(pooled, keys, questions), unaccented),
                  "| fused", metrics(ranks(pooled + t.lexical_weight * bm25 / (bm25 + t.lexical_half), keys, questions)))
        best = []
        for weight in (0.3, 0.5, 0.7, 1.0, 1.5):
            for half in (1.0, 2.5, 5.0, 10.0):
                f = ranks(dense + weight * bm25 / (bm25 + half), keys, questions)
                best.append((metrics(f)["mrr"], weight, half, metrics(f)))
        for mrr, weight, half, m in sorted(best, reverse=True)[:5]:
            print(f"  w={weight} half={half}: {m}")
    day = settings.today()
    decisions = [search.decide(q.text, day) for q in questions]
    answered = [(d, q) for d, q in zip(decisions, questions) if d.kind == "answer"]
    offered = [(d, q) for d, q in zip(decisions, questions) if d.kind == "choices"]
    negatives = [search.decide(t, day).kind for t in out_of_scope_texts()]
    print(f"decisions: answer {len(answered) / len(questions):.2f} (right "
          f"{sum(d.hits[0].passage.key in q.expected for d, q in answered) / max(len(answered), 1):.2f}), "
          f"choices {len(offered) / len(questions):.2f} (contain "
          f"{sum(any(h.passage.key in q.expected for h in d.hits) for d, q in offered) / max(len(offered), 1):.2f}), "
          f"unknown {sum(d.kind == 'unknown' for d in decisions) / len(questions):.2f}; "
          f"out-of-scope answered {negatives.count('answer') / len(negatives):.2f}, "
          f"unknown {negatives.count('unknown') / len(negatives):.2f}")
    if args.lexical:
        from rank_bm25 import BM25Okapi

        from assistant.knowledge.lexical import document_terms, terms
        prepared = [search.prepare(q.text) for q in questions]
        variants = {
            "as shipped": None,
            "before field weights": lambda p: p.search_text,
            "names+questions twice": lambda p: " ".join((*p.names, *p.questions, *p.names, *p.questions, p.title, p.text)),
            "with extra questions": lambda p: " ".join(dict.fromkeys((*p.names, *p.questions, *p.extra_questions, p.title, p.text))),
            "without body": lambda p: " ".join(dict.fromkeys((*p.names, *p.questions, p.title))),
            "title twice": lambda p: p.search_text + " " + p.title,
        }
        t = search.tuning
        for name, doc in variants.items():
            bm = BM25Okapi([terms(doc(p)) if name != "as shipped" else document_terms(p) for p in search.passages])
            b = np.array([bm.get_scores(terms(text)) for text in prepared])
            print(line(f"bm25 {name}", ranks(b, keys, questions), unaccented), "| fused",
                  metrics(ranks(dense + t.lexical_weight * b / (b + t.lexical_half), keys, questions)))
    if args.diff:
        t = search.tuning
        a = ranks(dense_old + t.lexical_weight * bm25_raw / (bm25_raw + t.lexical_half), keys, questions)
        for q, r_old, r_new in zip(questions, a, found):
            if r_old != r_new:
                print(f"  legacy {r_old} -> new {r_new}: {q.text!r} -> {search.prepare(q.text)!r}")
    if args.misses:
        for q, r, row in zip(questions, found, shipped):
            if r != 1:
                top = [keys[i] for i in np.argsort(-row, kind="stable")[:3]]
                print(f"  rank {r}: {q.text!r}\n      want {q.expected[0]}; got {top}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
