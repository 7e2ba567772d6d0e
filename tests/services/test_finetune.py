"""Fine-tuning the embedding model: where its pairs come from (never the held-out
questions, never the calibration fold), how batches are formed, and that a short real run
on the converted model pulls questions towards their passages and is saved and skipped
like any build step."""
from __future__ import annotations

import random
from pathlib import Path

import numpy as np
import pytest
import yaml

from assistant.embeddings.finetune import (
    FineTuneConfig,
    batches,
    fine_tune,
    inputs_hash,
    is_current,
    target_text,
)
from assistant.knowledge.loader import load_knowledge_base
from assistant.knowledge.passages import build_passages
from assistant.knowledge.training_pairs import (
    TrainingPair,
    calibration_pairs,
    in_calibration_fold,
    nlu_aspect_questions,
    training_pairs,
)
from assistant.settings import load_settings
from assistant.text.normalize import fold

ROOT = Path(__file__).resolve().parents[2]
SETTINGS = load_settings()


@pytest.fixture(scope="module")
def passages():
    return build_passages(load_knowledge_base(SETTINGS.knowledge_base_dir))


@pytest.fixture(scope="module")
def pairs(passages):
    return training_pairs(passages, SETTINGS.nlu_data_dir)


def test_pairs_cover_every_passage_accented_and_not(passages, pairs):
    assert {p.key for p in pairs} == {p.key for p in passages}
    questions = {p.question for p in pairs}
    assert "đăng ký tạm trú lệ phí bao nhiêu" in questions
    assert "dang ky tam tru le phi bao nhieu" in questions
    assert len(pairs) == len(set(pairs))


def test_pairs_leave_out_the_calibration_fold_and_the_held_out_questions(passages, pairs):
    nlu = nlu_aspect_questions(SETTINGS.nlu_data_dir)
    calibration = calibration_pairs(passages, SETTINGS.nlu_data_dir)
    assert 0.15 < len(calibration) / len(nlu) < 0.35
    assert all(in_calibration_fold(p.question) for p in calibration)
    trained = {fold(p.question) for p in pairs}
    assert not [p.question for p in calibration if fold(p.question) in trained]
    held_out = yaml.safe_load((ROOT / "tests" / "kb" / "questions.yml").read_text(encoding="utf-8"))
    assert not [q["q"] for q in held_out["questions"] if fold(q["q"]) in trained]


def test_the_fold_does_not_split_a_line_from_its_unaccented_twin():
    assert in_calibration_fold("Lệ phí tạm trú bao nhiêu") == in_calibration_fold("le phi tam tru bao nhieu")


def test_batches_are_full_and_never_hold_a_passage_twice():
    pairs = [TrainingPair(f"câu hỏi {i}", f"p{i % 5}") for i in range(40)]
    out = batches(pairs, 4, random.Random(0))
    assert out and all(len(b) == 4 and len({p.key for p in b}) == 4 for b in out)
    assert len(out) >= 9  # leftovers go to later batches: at most the last few pairs are unused
    assert batches(pairs, 4, random.Random(0)) == out  # the seed fixes the order
    assert batches(pairs, 6, random.Random(0)) == []  # five passages cannot fill a batch of six


@pytest.fixture(scope="module")
def base_model() -> Path:
    base = Path(SETTINGS.embedding_base_model)
    assert (base / "conversion.json").is_file(), f"{base} is missing: `make test` converts it first"
    return base


def test_a_short_run_pulls_questions_to_their_passages_and_is_skipped_when_current(
        tmp_path, passages, base_model):
    from sentence_transformers import SentenceTransformer

    by_key = {p.key: p for p in passages}
    keys = ["procedure:dang-ky-tam-tru/fee", "procedure:tach-ho/forms", "procedure:cap-lai-the-can-cuoc/where",
            "procedure:khai-bao-tam-vang/time"]
    pairs = [TrainingPair(q, k) for k, qs in zip(keys, [
        ("o tro thi dong bao nhieu tien", "tam tru ton bao nhieu"),
        ("giay xin ra ho rieng la to nao", "tach ho viet vao mau gi"),
        ("danh roi the thi len dau xin lai", "mat can cuoc nop o dau"),
        ("bao vang bao lau thi xong", "khai vang mat may ngay"),
    ]) for q in qs]
    targets = {k: target_text(by_key[k]) for k in keys}
    config = FineTuneConfig(epochs=6, batch_size=4, learning_rate=1e-4)

    def margin(model_dir: Path) -> float:
        """How much closer a question is to its own passage than to the others (mean)."""
        model = SentenceTransformer(str(model_dir), device="cpu")
        q = model.encode(["query: " + p.question for p in pairs], normalize_embeddings=True)
        t = model.encode(["query: " + targets[k] for k in keys], normalize_embeddings=True)
        similarity = q @ t.T
        own = np.array([keys.index(p.key) for p in pairs])
        mine = similarity[np.arange(len(pairs)), own]
        others = (similarity.sum(axis=1) - mine) / (len(keys) - 1)
        return float(np.mean(mine - others))

    out = tmp_path / "e5-tuned"
    record = fine_tune(base_model, out, pairs, targets, config, log=lambda _: None)
    assert record["steps"] == 6 * 2 and record["last_loss"] < record["first_loss"]
    assert margin(out) > margin(base_model) + 0.1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e5-tuned"]  # no staging left behind

    assert is_current(out, inputs_hash(base_model, pairs, targets, config))
    assert not is_current(out, inputs_hash(base_model, pairs[:-1], targets, config))
    assert not is_current(out, inputs_hash(base_model, pairs, targets, FineTuneConfig(seed=1)))


def test_pairs_for_an_unknown_passage_are_refused(tmp_path, base_model):
    with pytest.raises(ValueError, match="without a target"):
        fine_tune(base_model, tmp_path / "x", [TrainingPair("câu hỏi", "faq:khong-co")], {}, FineTuneConfig())
    assert not (tmp_path / "x").exists()
