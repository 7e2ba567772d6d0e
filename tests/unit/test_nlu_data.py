"""The held-out NLU test set: big enough, unaccented enough, never a copy of training lines."""
import re
from pathlib import Path

from assistant.text.corpus import nlu_examples
from assistant.text.normalize import fold, has_diacritics

ROOT = Path(__file__).resolve().parents[2]
examples = nlu_examples


def training() -> list[tuple[str, str]]:
    return [e for path in sorted((ROOT / "nlu_data").rglob("*.yml")) for e in examples(path)]


def words(text: str) -> set[str]:
    return set(re.findall(r"\w+", fold(text)))


def test_test_set_is_large_and_covers_every_trained_intent():
    test = examples(ROOT / "tests" / "nlu" / "test_nlu.yml")
    assert len(test) >= 300
    assert {i for i, _ in training()} == {i for i, _ in test}


def test_a_third_is_unaccented_in_training_and_test():
    for data in (training(), examples(ROOT / "tests" / "nlu" / "test_nlu.yml")):
        unaccented = sum(1 for _, text in data if not has_diacritics(text))
        assert unaccented / len(data) >= 1 / 3


def test_no_test_line_is_a_near_duplicate_of_a_training_line():
    train_sets = [words(text) for _, text in training()]
    offenders = []
    for _, text in examples(ROOT / "tests" / "nlu" / "test_nlu.yml"):
        mine = words(text)
        for other in train_sets:
            if mine and len(mine & other) / len(mine | other) >= 0.8:
                offenders.append(text)
                break
    assert offenders == []
