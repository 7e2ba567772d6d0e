"""Question -> passage pairs for fine-tuning the embedding model, from the project's own
material: never from the benchmark's held-out questions (tests/kb/questions.yml).

Where the questions come from:
- the NLU training examples that ask one aspect of one named procedure
  ("lệ phí [tạm trú] bao nhiêu" -> `procedure:dang-ky-tam-tru/fee`);
- each passage's own questions (FAQ question variants; for procedure sections, the
  procedure's names in the aspect templates of `passages.ASPECT_QUESTIONS`);
- every one of them again as typed without diacritics, since a citizen often types so.

A quarter of the NLU questions (chosen by a hash of the accent-folded text, so an
accented line and its unaccented twin fall on the same side) are kept out of training:
the search's weights and answer thresholds are calibrated on them (`bench/kb_calibrate.py`),
and a model scores the questions it was trained on higher than new ones.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from assistant.knowledge.answers import INTENT_ASPECTS
from assistant.knowledge.passages import Passage
from assistant.text.corpus import annotated_examples
from assistant.text.normalize import fold

CALIBRATION_SHARE = 4   # one NLU question in this many is kept for calibration


@dataclass(frozen=True)
class TrainingPair:
    question: str
    key: str       # the passage that answers it


def in_calibration_fold(text: str) -> bool:
    digest = hashlib.sha256(fold(text).strip().encode("utf-8")).digest()
    return int.from_bytes(digest[:4], "big") % CALIBRATION_SHARE == 0


def nlu_aspect_questions(nlu_dir: Path) -> list[TrainingPair]:
    """NLU examples asking one aspect of exactly one procedure, labelled with its section."""
    out = []
    for path in sorted(nlu_dir.rglob("*.yml")):
        for intent, text, procedures in annotated_examples(path):
            if intent in INTENT_ASPECTS and len(set(procedures)) == 1:
                out.append(TrainingPair(text, f"procedure:{procedures[0]}/{INTENT_ASPECTS[intent]}"))
    return out


def training_pairs(passages: list[Passage], nlu_dir: Path) -> list[TrainingPair]:
    """Deduplicated pairs in a stable order (the fine-tuning shuffles them with its seed)."""
    known = {p.key for p in passages}
    pairs = [p for p in nlu_aspect_questions(nlu_dir)
             if p.key in known and not in_calibration_fold(p.question)]
    pairs += [TrainingPair(question, p.key) for p in passages for question in p.questions]
    pairs += [TrainingPair(fold(p.question), p.key) for p in pairs]
    return list(dict.fromkeys(pairs))


def calibration_pairs(passages: list[Passage], nlu_dir: Path) -> list[TrainingPair]:
    """The NLU questions kept out of training, less those that a passage already asks word
    for word ("đăng ký tạm trú nộp ở đâu" is also an aspect template): the index holds
    those as rows, so they say nothing about questions the search has not seen."""
    known = {p.key for p in passages}
    trained = {fold(p.question) for p in training_pairs(passages, nlu_dir)}
    return [p for p in nlu_aspect_questions(nlu_dir)
            if p.key in known and in_calibration_fold(p.question) and fold(p.question) not in trained]
