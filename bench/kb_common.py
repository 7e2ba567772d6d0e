"""Shared by the knowledge-base benchmark and the calibration: question sets and metrics."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml

from assistant.knowledge.passages import Passage
from assistant.knowledge.training_pairs import calibration_pairs
from assistant.text.corpus import annotated_examples
from assistant.text.normalize import has_diacritics

ROOT = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Question:
    text: str
    expected: tuple[str, ...]   # passage keys; any of them counts as found
    unaccented: bool


def held_out_questions(path: Path = ROOT / "tests" / "kb" / "questions.yml") -> list[Question]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    out = []
    for q in data["questions"]:
        out.append(Question(q["q"], tuple(q["expected"]), not has_diacritics(q["q"])))
    return out


def calibration_questions(passages: list[Passage], nlu_dir: Path = ROOT / "nlu_data") -> list[Question]:
    """NLU training questions that ask one aspect of one named procedure ("lệ phí [tạm trú]"
    -> procedure:dang-ky-tam-tru/fee), from the fold that the embedding fine-tuning leaves out."""
    return [Question(p.question, (p.key,), not has_diacritics(p.question))
            for p in calibration_pairs(passages, nlu_dir)]


def out_of_scope_texts(nlu_dir: Path = ROOT / "nlu_data") -> list[str]:
    return [text for path in sorted(nlu_dir.rglob("*.yml"))
            for intent, text, _ in annotated_examples(path) if intent == "out_of_scope"]


def ranks(score_rows: np.ndarray, keys: list[str], questions: list[Question]) -> list[int | None]:
    """1-based rank of the first expected passage for each question (None if absent)."""
    out = []
    for scores, question in zip(score_rows, questions):
        order = np.argsort(-scores, kind="stable")
        wanted = set(question.expected)
        out.append(next((r + 1 for r, i in enumerate(order[:50]) if keys[i] in wanted), None))
    return out


def metrics(rank_list: list[int | None]) -> dict[str, float]:
    n = len(rank_list) or 1
    return {
        "recall_at_1": round(sum(1 for r in rank_list if r == 1) / n, 4),
        "recall_at_3": round(sum(1 for r in rank_list if r and r <= 3) / n, 4),
        "mrr": round(sum(1 / r for r in rank_list if r) / n, 4),
        "n": len(rank_list),
    }


def dev_questions(path: Path = ROOT / "bench" / "dev" / "kb_dev_questions.yml") -> list[Question]:
    """The development set (bench/kb_dev.py, bench/kb_calibrate.py): written for tuning,
    separate from the held-out questions."""
    return held_out_questions(path)
