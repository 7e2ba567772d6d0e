"""Fine-tune the converted multilingual-e5-small on the knowledge base's own questions.

Off the shelf, e5 ranks the right passage first for a third of the held-out citizens'
questions and for one in seven typed without diacritics (bench/results/kb.json). It has
rarely seen Vietnamese typed without accents, nor this domain's wording. Trained on the
pairs of `assistant.knowledge.training_pairs` (NLU questions, FAQ variants, aspect
templates, each also unaccented), a question is pulled towards the passage that answers
it and away from the other passages in its batch (MultipleNegativesRankingLoss, from
sentence-transformers).

What a question is pulled towards is the passage's title ("Đăng ký tạm trú: Lệ phí", or
the FAQ's main question), embedded as an e5 query: short texts on both sides keep a step
cheap on a CPU, and the index holds those titles as rows. The word-embedding matrix
(250,037 × 384, four fifths of the weights) stays frozen: it keeps the optimiser small, and
pieces the pairs never use keep their meaning.

The run is repeatable: a fixed seed orders the pairs, and `finetune.json` records the
hash of everything that went in (base model, pairs, settings), so the command does
nothing when its output is up to date (`--force` retrains).

Usage: ``python -m assistant.embeddings.finetune --base models/e5-small-st --out models/e5-vi``
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import random
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # torch's idle threads must not spin

from assistant.knowledge.passages import Passage  # noqa: E402
from assistant.knowledge.training_pairs import TrainingPair  # noqa: E402

FORMAT_VERSION = 1


@dataclass(frozen=True)
class FineTuneConfig:
    epochs: int = 1
    batch_size: int = 32
    learning_rate: float = 3e-5
    warmup_share: float = 0.1
    scale: float = 20.0          # cosine similarities are multiplied by this before softmax
    max_seq_length: int = 64
    seed: int = 0


def target_text(passage: Passage) -> str:
    """What a question is trained towards: the passage's title (see the module docstring)."""
    return passage.title


def batches(pairs: list[TrainingPair], batch_size: int, rng: random.Random) -> list[list[TrainingPair]]:
    """Shuffled full batches in which no passage appears twice: the other pairs' passages
    are a question's negatives, so a second question for the same passage would be
    taught that its own answer is wrong. Pairs left over go to the next batch."""
    pending = pairs[:]
    rng.shuffle(pending)
    out: list[list[TrainingPair]] = []
    while len(pending) >= batch_size:
        batch: list[TrainingPair] = []
        seen: set[str] = set()
        rest: list[TrainingPair] = []
        for pair in pending:
            if len(batch) < batch_size and pair.key not in seen:
                batch.append(pair)
                seen.add(pair.key)
            else:
                rest.append(pair)
        if len(batch) < batch_size:
            break
        out.append(batch)
        pending = rest
    return out


def inputs_hash(base: Path, pairs: list[TrainingPair], targets: dict[str, str], config: FineTuneConfig) -> str:
    base_info = base / "conversion.json"
    base_id = base_info.read_text(encoding="utf-8") if base_info.is_file() else str(base)
    payload = json.dumps([FORMAT_VERSION, base_id, asdict(config),
                          [(p.question, p.key, targets[p.key]) for p in pairs]], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()


def is_current(out: Path, digest: str) -> bool:
    info = out / "finetune.json"
    try:
        return json.loads(info.read_text(encoding="utf-8")).get("inputs_sha256") == digest
    except (OSError, ValueError):
        return False


def fine_tune(base: Path, out: Path, pairs: list[TrainingPair], targets: dict[str, str],
              config: FineTuneConfig = FineTuneConfig(), log=print) -> dict:
    """Trains from `base` and writes the model to `out` (atomically); returns the record
    saved as `finetune.json`."""
    import torch
    from sentence_transformers import SentenceTransformer
    from sentence_transformers.sentence_transformer.losses import (
        MultipleNegativesRankingLoss,
    )

    unknown = sorted({p.key for p in pairs} - targets.keys())
    if unknown:
        raise ValueError(f"pairs name passages without a target text: {unknown[:3]}")
    digest = inputs_hash(base, pairs, targets, config)
    started = time.perf_counter()
    torch.manual_seed(config.seed)
    rng = random.Random(config.seed)
    model = SentenceTransformer(str(base), device="cpu")
    serving_length = model.max_seq_length
    model.max_seq_length = config.max_seq_length
    model[0].auto_model.embeddings.word_embeddings.weight.requires_grad = False
    loss_fn = MultipleNegativesRankingLoss(model, scale=config.scale)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimiser = torch.optim.AdamW(trainable, lr=config.learning_rate)
    plan = [batches(pairs, config.batch_size, rng) for _ in range(config.epochs)]
    total = sum(len(epoch) for epoch in plan)
    if total == 0:
        raise ValueError(f"{len(pairs)} pairs make no full batch of {config.batch_size}")
    warmup = max(1, int(total * config.warmup_share))
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda step: min(1.0, (step + 1) / warmup) * max(0.0, 1 - step / total))
    prompt = model.prompts.get("query", "query: ")
    model.train()
    losses: list[float] = []
    for epoch in plan:
        for batch in epoch:
            questions = model.preprocess([prompt + p.question for p in batch])
            answers = model.preprocess([prompt + targets[p.key] for p in batch])
            loss = loss_fn([questions, answers], None)
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(float(loss.item()))
            if len(losses) % 20 == 0 or len(losses) == total:
                recent = losses[-20:]
                log(f"  step {len(losses)}/{total}  loss {sum(recent) / len(recent):.3f}  "
                    f"{time.perf_counter() - started:.0f} s")
    model.eval()
    model.max_seq_length = serving_length
    record = {
        "format": FORMAT_VERSION, "base": str(base), "inputs_sha256": digest, "config": asdict(config),
        "pairs": len(pairs), "passages": len({p.key for p in pairs}), "steps": total,
        "first_loss": round(sum(losses[:10]) / len(losses[:10]), 4),
        "last_loss": round(sum(losses[-10:]) / len(losses[-10:]), 4),
        "train_seconds": round(time.perf_counter() - started, 1),
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out.name}-", dir=out.parent))
    try:
        model.save(str(staging))
        (staging / "finetune.json").write_text(json.dumps(record, indent=2), encoding="utf-8")
        if out.exists():
            shutil.rmtree(out)
        os.replace(staging, out)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Fine-tune the e5 model on the knowledge base's questions.")
    parser.add_argument("--base", required=True, type=Path, help="sentence-transformers model directory")
    parser.add_argument("--out", required=True, type=Path, help="output model directory")
    parser.add_argument("--epochs", type=int, default=FineTuneConfig.epochs)
    parser.add_argument("--force", action="store_true", help="train even if the output is up to date")
    args = parser.parse_args(argv)

    import torch

    from assistant.knowledge.loader import load_knowledge_base
    from assistant.knowledge.passages import build_passages
    from assistant.knowledge.training_pairs import training_pairs
    from assistant.settings import load_settings

    torch.set_num_threads(max(1, os.cpu_count() or 1))
    settings = load_settings()
    passages = build_passages(load_knowledge_base(settings.knowledge_base_dir))
    pairs = training_pairs(passages, settings.nlu_data_dir)
    targets = {p.key: target_text(p) for p in passages}
    config = FineTuneConfig(epochs=args.epochs)
    if not args.force and is_current(args.out, inputs_hash(args.base, pairs, targets, config)):
        print(f"{args.out} is up to date")
        return 0
    print(f"fine-tuning {args.base} on {len(pairs)} pairs ({len({p.key for p in pairs})} passages) -> {args.out}")
    record = fine_tune(args.base, args.out, pairs, targets, config)
    print(f"done in {record['train_seconds']} s: loss {record['first_loss']} -> {record['last_loss']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
