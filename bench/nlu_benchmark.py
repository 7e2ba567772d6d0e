"""NLU benchmark: the shipped pipeline against Rasa's default pipeline, same split, same run.

Trains both on nlu_data/, evaluates on the held-out tests/nlu/test_nlu.yml and writes
bench/results/nlu.json with intent accuracy, intent macro-F1 and entity F1, overall and
on the unaccented subset.

Entity F1 counts a predicted entity as correct when its type matches an annotated one,
their spans overlap, and (for `procedure`) the catalogue id matches.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from sklearn.metrics import f1_score  # noqa: E402

from assistant.text.normalize import has_diacritics  # noqa: E402

WORK = ROOT / "bench" / "work"
RESULTS = ROOT / "bench" / "results" / "nlu.json"
RESULTS_PARTIAL = WORK / "nlu_partial.json"
TEST_FILE = ROOT / "tests" / "nlu" / "test_nlu.yml"

BASELINE = {
    "recipe": "default.v1",
    "language": "vi",
    "pipeline": [
        {"name": "WhitespaceTokenizer"},
        {"name": "CountVectorsFeaturizer"},
        {"name": "DIETClassifier", "epochs": 60, "random_seed": 6},
        {"name": "EntitySynonymMapper"},
    ],
}


def load_test_set() -> list:
    from rasa.shared.nlu.training_data.loading import load_data

    return [m for m in load_data(str(TEST_FILE)).training_examples if m.get("text")]


def train(config: Path, name: str, data: Path) -> str:
    from rasa.model_training import train_nlu

    return train_nlu(config=str(config), nlu_data=str(data), output=str(WORK),
                     fixed_model_name=name, domain=str(ROOT / "domain.yml"))


async def predict(model_path: str, texts: list[str]) -> tuple[list[dict], float]:
    from rasa.core.agent import Agent

    agent = Agent.load(model_path)
    started = time.perf_counter()
    results = [await agent.parse_message(text) for text in texts]
    return results, (time.perf_counter() - started) / max(len(texts), 1) * 1000


def entity_scores(gold: list[list[dict]], predicted: list[list[dict]]) -> float:
    tp = fp = fn = 0
    for expected, found in zip(gold, predicted):
        found = [e for e in found if e.get("entity") != "faq_id"]
        matched = set()
        for e in found:
            hit = next((i for i, g in enumerate(expected) if i not in matched
                        and g["entity"] == e["entity"] and g["start"] < e["end"] and e["start"] < g["end"]
                        and (g["entity"] != "procedure" or g.get("value") == e.get("value"))), None)
            if hit is None:
                fp += 1
            else:
                matched.add(hit)
                tp += 1
        fn += len(expected) - len(matched)
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return 2 * precision * recall / (precision + recall) if precision + recall else 0.0


def scores(messages: list, results: list[dict], subset: list[int]) -> dict:
    gold_intents = [messages[i].get("intent") for i in subset]
    predicted = [(results[i].get("intent") or {}).get("name") for i in subset]
    accuracy = sum(g == p for g, p in zip(gold_intents, predicted)) / len(subset)
    labels = sorted(set(gold_intents))
    return {
        "intent_accuracy": round(accuracy, 4),
        "intent_macro_f1": round(float(f1_score(gold_intents, predicted, labels=labels,
                                                average="macro", zero_division=0)), 4),
        "entity_f1": round(entity_scores([messages[i].get("entities") or [] for i in subset],
                                         [results[i].get("entities") or [] for i in subset]), 4),
        "n": len(subset),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pipelines", nargs="+", default=["shipped", "rasa_default"],
                        choices=["shipped", "rasa_default"])
    parser.add_argument("--data", type=Path, default=ROOT / "nlu_data" / "nlu",
                        help="training data (default: nlu_data/nlu)")
    args = parser.parse_args()
    WORK.mkdir(parents=True, exist_ok=True)
    baseline_config = WORK / "baseline_config.yml"
    baseline_config.write_text(yaml.safe_dump(BASELINE), encoding="utf-8")
    shipped_config = WORK / "shipped_config.yml"  # NLU part of config.yml, same random seed
    config = yaml.safe_load((ROOT / "config.yml").read_text(encoding="utf-8"))
    shipped_config.write_text(yaml.safe_dump({k: config[k] for k in ("recipe", "language", "pipeline")}),
                              encoding="utf-8")
    messages = load_test_set()
    texts = [m.get("text") for m in messages]
    everything = list(range(len(messages)))
    unaccented = [i for i, text in enumerate(texts) if not has_diacritics(text)]
    report: dict = {"test_set": str(TEST_FILE.relative_to(ROOT)), "n": len(messages),
                    "n_unaccented": len(unaccented), "pipelines": {}}
    configs = {"shipped": shipped_config, "rasa_default": baseline_config}
    for name in args.pipelines:
        started = time.perf_counter()
        model = train(configs[name], name, args.data)
        train_seconds = time.perf_counter() - started
        results, ms_per_message = asyncio.run(predict(model, texts))
        errors = [{"text": t, "expected": m.get("intent"), "predicted": (r.get("intent") or {}).get("name"),
                   "confidence": round((r.get("intent") or {}).get("confidence") or 0, 3)}
                  for t, m, r in zip(texts, messages, results)
                  if (r.get("intent") or {}).get("name") != m.get("intent")]
        (WORK / f"errors_{name}.json").write_text(json.dumps(errors, ensure_ascii=False, indent=1),
                                                  encoding="utf-8")
        report["pipelines"][name] = {
            "overall": scores(messages, results, everything),
            "unaccented": scores(messages, results, unaccented),
            "train_seconds": round(train_seconds, 1),
            "parse_ms_per_message": round(ms_per_message, 1),
        }
    # Only a full run on the real training data replaces the published figures.
    full_run = set(args.pipelines) == set(configs) and args.data == ROOT / "nlu_data" / "nlu"
    target = RESULTS if full_run else RESULTS_PARTIAL
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(f"{'pipeline':<14}{'subset':<12}{'intent_acc':>11}{'macro_f1':>10}{'entity_f1':>10}{'n':>6}")
    for name, result in report["pipelines"].items():
        for subset in ("overall", "unaccented"):
            s = result[subset]
            print(f"{name:<14}{subset:<12}{s['intent_accuracy']:>11.3f}{s['intent_macro_f1']:>10.3f}"
                  f"{s['entity_f1']:>10.3f}{s['n']:>6}")
    print(f"written to {target.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
