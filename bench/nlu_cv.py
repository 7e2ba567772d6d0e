"""Development tool: stratified k-fold cross-validation of an NLU pipeline on the training data.

The held-out test set (tests/nlu/test_nlu.yml) is for the benchmark only; pipeline and
training-data changes are tried here first, on folds of nlu_data/ itself. Prints intent
accuracy overall and on the unaccented lines, and writes the misclassified lines to
bench/work/cv_errors.json.

    .venv/rasa/bin/python bench/nlu_cv.py [--config my_config.yml] [--folds 5]
"""
from __future__ import annotations

import argparse
import asyncio
import json
import random
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402

from assistant.text.normalize import has_diacritics  # noqa: E402
from bench.nlu_benchmark import WORK, predict, train  # noqa: E402


def folds_of(messages: list, k: int, seed: int) -> list[list[int]]:
    by_intent: dict[str, list[int]] = defaultdict(list)
    for i, message in enumerate(messages):
        by_intent[message.get("intent")].append(i)
    folds: list[list[int]] = [[] for _ in range(k)]
    rng = random.Random(seed)
    for indices in by_intent.values():
        rng.shuffle(indices)
        for n, i in enumerate(indices):
            folds[n % k].append(i)
    return folds


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=ROOT / "config.yml")
    parser.add_argument("--data", type=Path, default=ROOT / "nlu_data" / "nlu")
    parser.add_argument("--folds", type=int, default=5)
    parser.add_argument("--seed", type=int, default=6)
    args = parser.parse_args()

    from rasa.shared.nlu.training_data.loading import load_data
    from rasa.shared.nlu.training_data.training_data import TrainingData

    data = load_data(str(args.data))
    messages = [m for m in data.training_examples if m.get("text")]
    config = yaml.safe_load(args.config.read_text(encoding="utf-8"))
    cv_dir = WORK / "cv"
    cv_dir.mkdir(parents=True, exist_ok=True)
    config_path = cv_dir / "config.yml"
    config_path.write_text(yaml.safe_dump({k: config[k] for k in ("recipe", "language", "pipeline")}),
                           encoding="utf-8")
    predicted: dict[int, dict] = {}
    started = time.perf_counter()
    for n, fold in enumerate(folds_of(messages, args.folds, args.seed)):
        held = set(fold)
        train_part = TrainingData([m for i, m in enumerate(messages) if i not in held],
                                  entity_synonyms=data.entity_synonyms, lookup_tables=data.lookup_tables)
        train_file = cv_dir / f"train_{n}.yml"
        train_file.write_text(train_part.nlu_as_yaml(), encoding="utf-8")
        model = train(config_path, f"cv_{n}", train_file)
        results, _ = asyncio.run(predict(model, [messages[i].get("text") for i in fold]))
        predicted.update(zip(fold, results))
    errors = []
    for subset_name, keep in (("overall", lambda t: True), ("unaccented", lambda t: not has_diacritics(t))):
        subset = [i for i in predicted if keep(messages[i].get("text"))]
        right = sum((predicted[i].get("intent") or {}).get("name") == messages[i].get("intent")
                    for i in subset)
        print(f"{subset_name:<11} intent accuracy {right / len(subset):.4f}  (n={len(subset)})")
    for i, result in sorted(predicted.items()):
        intent = (result.get("intent") or {})
        if intent.get("name") != messages[i].get("intent"):
            errors.append({"text": messages[i].get("text"), "expected": messages[i].get("intent"),
                           "predicted": intent.get("name"),
                           "confidence": round(intent.get("confidence") or 0, 3)})
    rankings = [{"text": messages[i].get("text"), "expected": messages[i].get("intent"),
                 "ranking": [(r.get("name"), round(r.get("confidence") or 0, 4))
                             for r in (result.get("intent_ranking") or [])[:4]]}
                for i, result in sorted(predicted.items())]
    (WORK / "cv_rankings.json").write_text(json.dumps(rankings, ensure_ascii=False), encoding="utf-8")
    (WORK / "cv_errors.json").write_text(json.dumps(errors, ensure_ascii=False, indent=1), encoding="utf-8")
    print(f"{len(errors)} errors in bench/work/cv_errors.json; {time.perf_counter() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
