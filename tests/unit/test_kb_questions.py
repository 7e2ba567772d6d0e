"""The held-out search questions: big enough, unaccented enough, labelled with passages
that exist, and never a copy of what the index or its calibration is built from."""
import re
from pathlib import Path

import yaml

from assistant.knowledge.loader import load_knowledge_base
from assistant.knowledge.passages import build_passages
from assistant.settings import KNOWLEDGE_BASE_DIR
from assistant.text.corpus import nlu_training_texts
from assistant.text.normalize import fold, has_diacritics

ROOT = Path(__file__).resolve().parents[2]
QUESTIONS = yaml.safe_load((ROOT / "tests" / "kb" / "questions.yml").read_text(encoding="utf-8"))["questions"]


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", fold(text)))


def test_size_and_unaccented_share():
    assert len(QUESTIONS) >= 150
    assert sum(not has_diacritics(q["q"]) for q in QUESTIONS) / len(QUESTIONS) >= 1 / 3


def test_every_expected_passage_exists():
    keys = {p.key for p in build_passages(load_knowledge_base(KNOWLEDGE_BASE_DIR))}
    assert [e for q in QUESTIONS for e in q["expected"] if e not in keys] == []


def test_no_question_is_a_near_copy_of_indexed_or_training_text():
    kb = load_knowledge_base(KNOWLEDGE_BASE_DIR)
    sources = [words(t) for t in nlu_training_texts(ROOT / "nlu_data")]
    sources += [words(q) for entry in kb.faq.values() for q in entry.questions]
    offenders = [q["q"] for q in QUESTIONS
                 if any(len(words(q["q"]) & other) / len(words(q["q"]) | other) >= 0.8 for other in sources)]
    assert offenders == []


def test_the_development_set_is_not_the_held_out_set():
    """bench/dev/kb_dev_questions.yml tunes the search; it must not copy held-out questions."""
    dev = yaml.safe_load((ROOT / "bench" / "dev" / "kb_dev_questions.yml").read_text(encoding="utf-8"))["questions"]
    keys = {p.key for p in build_passages(load_knowledge_base(KNOWLEDGE_BASE_DIR))}
    assert len(dev) >= 150 and sum(not has_diacritics(q["q"]) for q in dev) / len(dev) >= 1 / 3
    assert [e for q in dev for e in q["expected"] if e not in keys] == []
    held_out = [words(q["q"]) for q in QUESTIONS]
    copies = [q["q"] for q in dev
              if any(len(words(q["q"]) & other) / len(words(q["q"]) | other) >= 0.8 for other in held_out)]
    assert copies == []
