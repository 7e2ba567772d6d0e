"""Plain texts from the project's own Vietnamese material (knowledge base, NLU training
examples), for what is learned from text outside Rasa (the search's diacritic restorer)."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

# "[tạm trú]{"entity": ...}" or "[con](relation)" -> "tạm trú" / "con"
ANNOTATION = re.compile(r"\[([^\]]+)\](?:\([^)]+\)|\{[^}]+\})")
PROCEDURE_VALUE = re.compile(r'"entity":\s*"procedure",\s*"value":\s*"([^"]+)"')


def nlu_examples(path: Path) -> list[tuple[str, str]]:
    """(intent, plain text) for every example in one Rasa NLU YAML file."""
    return [(intent, text) for intent, text, _ in annotated_examples(path)]


def annotated_examples(path: Path) -> list[tuple[str, str, list[str]]]:
    """(intent, plain text, procedure ids annotated in it) for one Rasa NLU YAML file."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    out = []
    for block in data.get("nlu", []):
        if "intent" in block:
            for line in str(block.get("examples", "")).splitlines():
                line = line.strip()
                if line.startswith("- "):
                    out.append((block["intent"], ANNOTATION.sub(r"\1", line[2:]).strip(),
                                PROCEDURE_VALUE.findall(line)))
    return out


def nlu_training_texts(directory: Path) -> list[str]:
    return [text for path in sorted(directory.rglob("*.yml")) for _, text in nlu_examples(path)]
