"""Calibrates the hybrid ranking and the answer thresholds on data derived from the
training material and the development set only (never on tests/kb/questions.yml), and
writes knowledge_base/search.yml.

Positives:
- NLU training questions that ask one aspect of one named procedure ("lệ phí [tạm trú]"
  -> the tạm trú fee section), from the quarter that the embedding fine-tuning leaves out
  (`assistant.knowledge.training_pairs`);
- the development questions (bench/dev/kb_dev_questions.yml), written for tuning;
- FAQ leave-one-out: each FAQ question variant but the first, asked of the index with
  that variant's own rows (and its BM25 text) taken out.
Negatives: the out-of-scope training lines.
- lexical_weight / lexical_half: the grid point with the best MRR on the NLU and
  development positives;
- answer_score / answer_margin: of the pairs whose answers are right >= 90% of the time
  on all positives and that answer no negative, the one that answers most positives;
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
from kb_common import Question, calibration_questions, dev_questions, metrics, out_of_scope_texts, ranks  # noqa: E402

from assistant.embeddings.encoder import SentenceTransformerEncoder  # noqa: E402
from assistant.knowledge.lexical import LexicalIndex  # noqa: E402
from assistant.knowledge.loader import load_knowledge_base  # noqa: E402
from assistant.knowledge.passages import expanded_text  # noqa: E402
from assistant.knowledge.search import KnowledgeSearch, SearchTuning  # noqa: E402
from assistant.settings import load_settings  # noqa: E402
from assistant.text.normalize import has_diacritics  # noqa: E402

TARGET_PRECISION = 0.9
NEGATIVES_BELOW = 0.9
WEIGHTS = (0.0, 0.1, 0.2, 0.3, 0.5, 0.7, 1.0, 1.5, 2.0, 3.0)
HALVES = (2.5, 5.0, 10.0, 20.0, 40.0)
MARGINS = (0.0, 0.02, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4)


def row_vectors(search: KnowledgeSearch) -> np.ndarray:
    """The index's row vectors in row order (an exact IDMap over a flat index)."""
    import faiss

    index = search.semantic._index
    vectors = index.index.reconstruct_n(0, index.ntotal)
    ids = faiss.vector_to_array(index.id_map)
    out = np.zeros_like(vectors)
    out[ids] = vectors
    return out


def leave_one_out(search: KnowledgeSearch, vectors: np.ndarray) -> tuple[list[Question], np.ndarray, np.ndarray]:
    """Each FAQ variant (not the first: it is also the passage's title) asked of the index
    without its own rows and, for BM25, without its own text."""
    passages = search.passages
    row_passage = search.semantic._row_passage
    rows = search.semantic.rows
    questions, dense, bm25 = [], [], []
    for position, passage in enumerate(passages):
        if passage.faq_id is None:
            continue
        for variant in passage.questions[1:]:
            left_out = {variant, expanded_text(variant)}
            mask = np.array([r.key == passage.key and r.text in left_out for r in rows])
            sims = vectors @ search.embed_query(variant)
            sims[mask] = -1.0
            scores = np.full(len(passages), -1.0)
            np.maximum.at(scores, row_passage, sims)
            rest = tuple(q for q in passage.questions if q != variant)
            reduced = [replace(p, names=rest, questions=rest) if i == position else p
                       for i, p in enumerate(passages)]
            questions.append(Question(variant, (passage.key,), not has_diacritics(variant)))
            dense.append(scores)
            bm25.append(LexicalIndex(reduced).scores(search.prepare(variant)))
    return questions, np.array(dense), np.array(bm25)


def main() -> int:
    settings = load_settings()
    kb = load_knowledge_base(settings.knowledge_base_dir)
    search = KnowledgeSearch.create(kb, settings.kb_index_dir,
                                    SentenceTransformerEncoder(settings.embedding_model),
                                    SearchTuning(), settings.nlu_data_dir)
    keys = [p.key for p in search.passages]
    ranking = calibration_questions(search.passages) + dev_questions()
    negatives = out_of_scope_texts()
    # embed once; the grid only reweights
    pos_dense = np.array([search.dense_scores(q.text) for q in ranking])
    pos_bm25 = np.array([search.lexical.scores(search.prepare(q.text)) for q in ranking])
    neg_dense = np.array([search.dense_scores(t) for t in negatives])
    neg_bm25 = np.array([search.lexical.scores(search.prepare(t)) for t in negatives])
    loo, loo_dense, loo_bm25 = leave_one_out(search, row_vectors(search))

    grid = []
    for weight in WEIGHTS:
        for half in HALVES:
            scores = pos_dense + weight * pos_bm25 / (pos_bm25 + half)
            grid.append((metrics(ranks(scores, keys, ranking)), weight, half))
    grid.sort(key=lambda g: -g[0]["mrr"])
    n_nlu = len(ranking) - len(dev_questions())
    for result, weight, half in grid[:5]:
        scores = pos_dense + weight * pos_bm25 / (pos_bm25 + half)
        print(f"  w={weight} half={half}: {result}; NLU {metrics(ranks(scores[:n_nlu], keys, ranking[:n_nlu]))}"
              f"; dev {metrics(ranks(scores[n_nlu:], keys, ranking[n_nlu:]))}")
    result, weight, half = grid[0]
    positives = ranking + loo
    pos = np.vstack([pos_dense + weight * pos_bm25 / (pos_bm25 + half),
                     loo_dense + weight * loo_bm25 / (loo_bm25 + half)])
    neg = neg_dense + weight * neg_bm25 / (neg_bm25 + half)
    ordered = np.sort(pos, axis=1)[:, ::-1]
    top, lead = ordered[:, 0], ordered[:, 0] - ordered[:, 1]
    correct = np.array([keys[int(np.argmax(row))] in q.expected for row, q in zip(pos, positives)])
    # below suggest_score the assistant says it does not know, whatever answer_score says
    suggest_score = float(np.quantile(neg.max(axis=1), NEGATIVES_BELOW))
    # and no out-of-scope line may be answered
    neg_ordered = np.sort(neg, axis=1)[:, ::-1]
    neg_top, neg_lead = neg_ordered[:, 0], neg_ordered[:, 0] - neg_ordered[:, 1]
    answer = (float(top.max()), MARGINS[-1], 0.0)
    for margin in MARGINS:
        floor = max([suggest_score, *(neg_top[neg_lead >= margin] + 1e-4)])
        for threshold in np.sort(top)[::-1]:
            chosen = (top >= max(threshold, floor)) & (lead >= margin)
            if chosen.any() and correct[chosen].mean() >= TARGET_PRECISION and chosen.mean() > answer[2]:
                answer = (max(float(threshold), floor), margin, float(chosen.mean()))
    answer_score, answer_margin, answered = answer
    tuning = replace(SearchTuning(), lexical_weight=weight, lexical_half=half,
                     answer_score=round(answer_score + 5e-5, 4), answer_margin=answer_margin,
                     suggest_score=round(suggest_score, 4))
    chosen = (top >= tuning.answer_score) & (lead >= tuning.answer_margin)
    loo_result = metrics(ranks(pos[len(ranking):], keys, loo))
    header = ("# Written by bench/kb_calibrate.py from the training material and the development set\n"
              "# (not the held-out questions).\n"
              f"# Ranking positives: {len(ranking)} NLU calibration + development questions ({result});\n"
              f"# FAQ leave-one-out: {len(loo)} variants ({loo_result}); "
              f"negatives: {len(negatives)} out-of-scope lines.\n"
              f"# Answered (score >= answer_score, lead >= answer_margin): {chosen.mean():.0%} of all "
              f"positives, {correct[chosen].mean():.0%} of them right;\n"
              f"# {NEGATIVES_BELOW:.0%} of negatives score below suggest_score "
              f"({(top >= tuning.suggest_score).mean():.0%} of positives clear it).\n")
    settings.search_tuning_file.write_text(header + yaml.safe_dump(tuning.__dict__, sort_keys=False),
                                           encoding="utf-8")
    print(header + yaml.safe_dump(tuning.__dict__, sort_keys=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
