"""Calibrates the hybrid ranking and the answer thresholds on data derived from the
training material only (never on tests/kb/questions.yml), and writes knowledge_base/search.yml.

Positives: NLU training questions that ask one aspect of one named procedure
("lệ phí [tạm trú]" -> the tạm trú fee section), from the quarter that the embedding
fine-tuning leaves out (`assistant.knowledge.training_pairs`). Negatives: the out-of-scope
training lines.
- lexical_weight / lexical_half: the grid point with the best MRR on the positives;
- answer_score: the lowest top score at which the top passage is right >= 90% of the time;
- suggest_score: 90% of the out-of-scope lines score below it (they get "không biết").
"""
from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import numpy as np  # noqa: E402
import yaml  # noqa: E402
from kb_common import calibration_questions, metrics, out_of_scope_texts, ranks  # noqa: E402

from assistant.embeddings.encoder import SentenceTransformerEncoder  # noqa: E402
from assistant.knowledge.loader import load_knowledge_base  # noqa: E402
from assistant.knowledge.search import KnowledgeSearch, SearchTuning  # noqa: E402
from assistant.settings import load_settings  # noqa: E402

TARGET_PRECISION = 0.9
NEGATIVES_BELOW = 0.9


def main() -> int:
    settings = load_settings()
    kb = load_knowledge_base(settings.knowledge_base_dir)
    search = KnowledgeSearch.create(kb, settings.kb_index_dir,
                                    SentenceTransformerEncoder(settings.embedding_model),
                                    SearchTuning(), settings.nlu_data_dir)
    keys = [p.key for p in search.passages]
    positives = calibration_questions(search.passages)
    negatives = out_of_scope_texts()
    # embed once; the grid only reweights
    pos_dense = np.array([search.semantic.passage_scores(search.embed_query(q.text)) for q in positives])
    pos_bm25 = np.array([search.lexical.scores(q.text) for q in positives])
    neg_dense = np.array([search.semantic.passage_scores(search.embed_query(t)) for t in negatives])
    neg_bm25 = np.array([search.lexical.scores(t) for t in negatives])

    best = None
    for weight in (0.0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.7, 1.0):
        for half in (2.5, 5.0, 10.0, 20.0, 40.0):
            scores = pos_dense + weight * pos_bm25 / (pos_bm25 + half)
            result = metrics(ranks(scores, keys, positives))
            if best is None or result["mrr"] > best[0]["mrr"]:
                best = (result, weight, half)
    result, weight, half = best
    pos = pos_dense + weight * pos_bm25 / (pos_bm25 + half)
    neg = neg_dense + weight * neg_bm25 / (neg_bm25 + half)
    top = pos.max(axis=1)
    correct = np.array([keys[int(np.argmax(row))] in q.expected for row, q in zip(pos, positives)])
    answer_score = float(top.max())
    for threshold in np.sort(top)[::-1]:
        chosen = top >= threshold
        if correct[chosen].mean() >= TARGET_PRECISION:
            answer_score = float(threshold)
    suggest_score = float(np.quantile(neg.max(axis=1), NEGATIVES_BELOW))
    tuning = replace(SearchTuning(), lexical_weight=weight, lexical_half=half,
                     answer_score=round(answer_score, 4), suggest_score=round(min(suggest_score, answer_score), 4))
    header = ("# Written by bench/kb_calibrate.py from the training material (not the held-out questions).\n"
              f"# Positives: {len(positives)} ({result}); negatives: {len(negatives)} out-of-scope lines.\n"
              f"# At answer_score the top passage is right for >= {TARGET_PRECISION:.0%} of positives "
              f"({(top >= tuning.answer_score).mean():.0%} of them clear it);\n"
              f"# {NEGATIVES_BELOW:.0%} of negatives score below suggest_score "
              f"({(top >= tuning.suggest_score).mean():.0%} of positives clear it).\n")
    settings.search_tuning_file.write_text(header + yaml.safe_dump(tuning.__dict__, sort_keys=False),
                                           encoding="utf-8")
    print(header + yaml.safe_dump(tuning.__dict__, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
