"""The semantic index and the hybrid search, with a small deterministic encoder (bag of
folded syllables hashed into 256 dimensions), so that these tests check the index's own
logic fast; the real model is exercised by the API tests and the benchmark."""
from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import date

import numpy as np
import pytest

from assistant.knowledge.loader import load_knowledge_base
from assistant.knowledge.passages import build_passages
from assistant.knowledge.search import KnowledgeSearch, SearchTuning
from assistant.knowledge.semantic import SemanticIndex, index_rows, load_or_build
from assistant.settings import KNOWLEDGE_BASE_DIR
from assistant.text.normalize import normalize_words


class BagOfWordsEncoder:
    name = "test-bag-of-words"

    def __init__(self) -> None:
        self.calls = 0

    def _encode(self, texts):
        self.calls += len(texts)
        out = np.zeros((len(texts), 256), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in normalize_words(text):
                out[row, int(hashlib.md5(word.folded.encode()).hexdigest(), 16) % 256] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)

    encode_queries = _encode
    encode_passages = _encode


@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base(KNOWLEDGE_BASE_DIR)


@pytest.fixture(scope="module")
def passages(kb):
    return build_passages(kb)


def test_every_passage_has_a_body_row_and_question_rows(passages):
    rows = index_rows(passages)
    assert {r.key for r in rows} == {p.key for p in passages}
    fee_questions = [r.text for r in rows if r.key == "procedure:dang-ky-tam-tru/fee" and r.kind == "question"]
    assert any("lệ phí" in q and "tạm trú" in q for q in fee_questions)
    faq = next(p for p in passages if p.faq_id)
    assert {r.text for r in rows if r.key == faq.key and r.kind == "question"} >= set(faq.questions)


def test_procedure_sections_get_extra_question_rows_over_every_name(passages):
    rows = index_rows(passages)
    fee = next(p for p in passages if p.key == "procedure:dang-ky-tam-tru/fee")
    questions = {r.text for r in rows if r.key == fee.key and r.kind == "question"}
    assert fee.names[-1] in " ".join(questions)           # the last alias too, not only the first four
    assert set(fee.extra_questions) <= questions and not set(fee.extra_questions) & set(fee.questions)
    assert not any(q in fee.search_text for q in fee.extra_questions)   # BM25 documents stay as they were


def test_index_is_saved_loaded_and_rebuilt_only_when_content_changes(tmp_path, passages):
    encoder = BagOfWordsEncoder()
    built = load_or_build(tmp_path / "index", passages, encoder)
    calls_after_build = encoder.calls
    assert calls_after_build == built.manifest["rows"] > len(passages)
    manifest = json.loads((tmp_path / "index" / "manifest.json").read_text())
    assert manifest["content_sha256"] == built.manifest["content_sha256"]

    again = load_or_build(tmp_path / "index", passages, encoder)
    assert encoder.calls == calls_after_build  # loaded, not re-embedded
    query = encoder.encode_queries(["đăng ký tạm trú lệ phí bao nhiêu"])[0]
    assert np.allclose(again.passage_scores(query), built.passage_scores(query))

    edited = [replace(p, text=p.text + " (sửa đổi)") if i == 0 else p for i, p in enumerate(passages)]
    assert SemanticIndex.load(tmp_path / "index", edited, encoder.name) is None
    assert SemanticIndex.load(tmp_path / "index", passages, "another-model") is None
    load_or_build(tmp_path / "index", edited, encoder)
    assert encoder.calls > calls_after_build


def test_a_damaged_index_file_is_rebuilt_not_trusted(tmp_path, passages):
    encoder = BagOfWordsEncoder()
    load_or_build(tmp_path / "index", passages, encoder)
    (tmp_path / "index" / "index.faiss").write_bytes(b"not a faiss index")
    assert SemanticIndex.load(tmp_path / "index", passages, encoder.name) is None
    rebuilt = load_or_build(tmp_path / "index", passages, encoder)
    assert rebuilt.manifest["rows"] == len(index_rows(passages))


@pytest.fixture(scope="module")
def search(kb, tmp_path_factory):
    return KnowledgeSearch.create(kb, tmp_path_factory.mktemp("kb") / "index", BagOfWordsEncoder(),
                                  SearchTuning(lexical_weight=0.2, answer_score=0.6, answer_margin=0.02,
                                               suggest_score=0.3))


def test_search_finds_the_aspect_of_the_procedure_asked(search):
    hits = search.search("đăng ký tạm trú lệ phí bao nhiêu", date(2026, 11, 22), k=3)
    assert hits[0].passage.key == "procedure:dang-ky-tam-tru/fee"
    assert hits == sorted(hits, key=lambda h: -h.score)


def test_unaccented_query_is_restored_before_embedding(search):
    assert search.preparer.prepare("dang ky tam tru le phi bao nhieu") == "đăng ký tạm trú lệ phí bao nhiêu"
    hits = search.search("dang ky tam tru le phi bao nhieu", date(2026, 11, 22), k=1)
    assert hits[0].passage.key == "procedure:dang-ky-tam-tru/fee"


def test_passages_past_their_valid_to_date_are_not_returned(search, kb):
    expiring = next(e for e in kb.faq.values() if e.validity.valid_to)
    question = expiring.questions[0]
    before = {h.passage.faq_id for h in search.search(question, expiring.validity.valid_to, k=5)}
    after = {h.passage.faq_id for h in search.search(question, date(2099, 1, 1), k=5)}
    assert expiring.id in before and expiring.id not in after


def test_decision_answers_offers_choices_or_admits_not_knowing(search):
    day = date(2026, 11, 22)
    assert search.decide("đăng ký tạm trú lệ phí bao nhiêu", day).kind == "answer"
    assert search.decide("xyzzy qwerty", day).kind == "unknown"
    strict = KnowledgeSearch(search.passages, search.lexical, search.semantic, search.encoder,
                             search.preparer, replace(search.tuning, answer_score=9.0))
    decision = strict.decide("đăng ký tạm trú lệ phí bao nhiêu", day)
    assert decision.kind == "choices" and 1 <= len(decision.hits) <= 3


def test_tuning_is_read_from_yaml_and_unknown_keys_are_ignored(tmp_path):
    path = tmp_path / "search.yml"
    path.write_text("lexical_weight: 0.25\nanswer_score: 0.91\nsomething_else: 1\n", encoding="utf-8")
    tuning = SearchTuning.load(path)
    assert tuning.lexical_weight == 0.25 and tuning.answer_score == 0.91
    assert SearchTuning.load(tmp_path / "missing.yml") == SearchTuning()
