"""Live updates of the search (assistant/knowledge/live.py): the incremental rebuild embeds
only new or changed rows, and the FastAPI app's watcher swaps in the published content
(new entry found, restore reverts, retired entry gone, expired entry not served, a failed
rebuild keeps the old search). A small deterministic encoder (bag of folded syllables) stands
in for the model, counting the texts it encodes; the real model is in the e2e test."""
from __future__ import annotations

import dataclasses
import hashlib
import logging
import time

import numpy as np
import pytest
from fastapi.testclient import TestClient

from assistant.knowledge.live import build_search, save_if_changed, saved_vectors, vectors_of
from assistant.knowledge.loader import load_knowledge_base
from assistant.knowledge.passages import build_passages
from assistant.knowledge.search import SearchTuning
from assistant.knowledge.semantic import SemanticIndex, index_rows
from assistant.knowledge.store import ContentStore, PublishedContent, published_generation
from assistant.settings import KNOWLEDGE_BASE_DIR
from assistant.text.normalize import normalize_words

TUNING = SearchTuning.load(KNOWLEDGE_BASE_DIR / "search.yml")


class CountingEncoder:
    name = "test-counting-bag-of-words"

    def __init__(self) -> None:
        self.texts: list[str] = []
        self.broken = False

    def _encode(self, texts):
        if self.broken:
            raise RuntimeError("encoder broken (test)")
        self.texts.extend(texts)
        out = np.zeros((len(texts), 256), dtype=np.float32)
        for row, text in enumerate(texts):
            for word in normalize_words(text):
                out[row, int(hashlib.md5(word.folded.encode()).hexdigest(), 16) % 256] += 1
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        return out / np.where(norms == 0, 1, norms)

    def encode_queries(self, texts):
        return self._encode(texts)

    def encode_passages(self, texts):
        return self._encode(texts)


NOTICE_ID = "thong-bao-tiep-dan-thu-bay"
NOTICE_QUESTION = "Công an xã có tiếp dân vào sáng thứ Bảy không?"


def notice(entry_id: str = NOTICE_ID, **changes) -> dict:
    payload = {"id": entry_id,
               "questions": [NOTICE_QUESTION, "cong an xa co lam viec sang thu bay khong"],
               "answer": "Dạ, Công an xã tiếp nhận hồ sơ cư trú vào sáng thứ Bảy, từ 7 giờ 30 đến 11 giờ 30.",
               "basis": "Thông báo lịch tiếp công dân của Công an xã", "sources": ["KONTUM-46"],
               "updated": "2026-11-20"}
    payload.update(changes)
    return payload


def publish(store: ContentStore, key: str, payload) -> None:
    draft = store.create_draft(key, payload, "bientap")
    store.publish_draft(draft.id, "duyet", "Thông báo mới")


# ---------------------------------------------------------------- the incremental rebuild

@pytest.fixture(scope="module")
def kb():
    return load_knowledge_base(KNOWLEDGE_BASE_DIR)


def test_an_edit_embeds_only_its_changed_rows_and_the_index_still_loads(kb, tmp_path):
    encoder = CountingEncoder()
    first, report = build_search(kb, encoder, TUNING, None, {})
    assert report.embedded == report.rows == len(encoder.texts) == len(index_rows(build_passages(kb)))
    # one FAQ answer changed: its body row is the only one embedded
    entry_id, entry = next(iter(kb.faq.items()))
    changed = dataclasses.replace(entry, answer="Dạ, nội dung mới.")
    edited = dataclasses.replace(kb, faq={**kb.faq, entry_id: changed})
    encoder.texts.clear()
    second, report = build_search(edited, encoder, TUNING, None, vectors_of(first.semantic, encoder.name))
    assert report.embedded == 1 and encoder.texts == [f"{entry.questions[0]}. Dạ, nội dung mới."]
    # unchanged rows keep their vectors; the new index answers like a full build
    old, new = vectors_of(first.semantic, encoder.name), vectors_of(second.semantic, encoder.name)
    assert sum(1 for k in new if k in old and np.array_equal(new[k], old[k])) == report.rows - 1
    full, _ = build_search(edited, CountingEncoder(), TUNING, None, {})
    query = full.encoder.encode_queries([entry.questions[0]])[0]
    assert np.allclose(second.semantic.passage_scores(query), full.semantic.passage_scores(query), atol=1e-6)
    # saved, it is the index `load_or_build` accepts; at start-up nothing is embedded again
    assert save_if_changed(second.semantic, tmp_path / "index")
    assert not save_if_changed(second.semantic, tmp_path / "index")
    assert SemanticIndex.load(tmp_path / "index", second.passages, encoder.name) is not None
    encoder.texts.clear()
    _, report = build_search(edited, encoder, TUNING, None, saved_vectors(tmp_path / "index", encoder.name))
    assert report.embedded == 0 and encoder.texts == []
    # another encoder's index is not reused
    assert saved_vectors(tmp_path / "index", "another-encoder") == {}


def test_a_new_entry_embeds_its_rows_only(kb):
    encoder = CountingEncoder()
    first, _ = build_search(kb, encoder, TUNING, None, {})
    store_kb = _with_notice(kb)
    encoder.texts.clear()
    second, report = build_search(store_kb, encoder, TUNING, None, vectors_of(first.semantic, encoder.name))
    new_rows = [r for r in second.semantic.rows if r.key == f"faq:{NOTICE_ID}"]
    assert report.embedded == len(new_rows) == len(encoder.texts) and 2 <= len(new_rows) <= 5


def _with_notice(kb):
    from assistant.knowledge.loader import read_faq_entry

    entry, problems = read_faq_entry(notice(), kb.sources)
    assert entry is not None, problems
    return dataclasses.replace(kb, faq={**kb.faq, NOTICE_ID: entry})


def test_published_content_needs_no_store_and_creates_none(tmp_path):
    path = tmp_path / "content.sqlite3"
    assert published_generation(path) == 0
    generation, kb = PublishedContent(KNOWLEDGE_BASE_DIR, path).load()
    assert generation == 0 and kb.faq and not path.exists()


# ---------------------------------------------------------------- the running app

@pytest.fixture(scope="module")
def live(tmp_path_factory):
    """The FastAPI app on a temporary content store and index, the counting encoder in place
    of the model, the watcher polling every 0.2 s."""
    from services.api import main

    data = tmp_path_factory.mktemp("live")
    encoder = CountingEncoder()
    with pytest.MonkeyPatch.context() as patch:
        for name, value in (("CONTENT_DB", data / "content.sqlite3"),
                            ("CONSOLE_DB", data / "console.sqlite3"),
                            ("KB_INDEX_DIR", data / "kb-index"), ("KB_WATCH_INTERVAL_S", "0.2"),
                            ("TROLY_TODAY", "2026-11-22")):
            patch.setenv(name, str(value))
        patch.setattr(main, "make_encoder", lambda settings: encoder)
        main.get_settings.cache_clear()
        try:
            with TestClient(main.app) as client:
                holder = client.app.state.search
                assert holder.ready.wait(120) and holder.status == "ready"
                client.app.state.live.retry_s = 0.3
                yield client, ContentStore(data / "content.sqlite3"), encoder
        finally:
            main.get_settings.cache_clear()


def wait_for(client, store: ContentStore, timeout: float = 10.0) -> float:
    """Seconds until the app serves the store's current generation."""
    started = time.monotonic()
    target = store.generation()
    while time.monotonic() - started < timeout:
        if client.get("/health").json()["content_generation"] == target:
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"the app did not reach content generation {target} in {timeout} s")


def top(client, q: str, k: int = 5) -> list[dict]:
    response = client.get("/api/kb/search", params={"q": q, "k": k})
    assert response.status_code == 200, response.text
    return response.json()


def test_a_published_entry_is_searched_and_a_retired_one_disappears(live):
    client, store, encoder = live
    faq_before = client.get("/health").json()["faq"]
    assert all(h["faq_id"] != NOTICE_ID for h in top(client, NOTICE_QUESTION))
    encoder.texts.clear()
    publish(store, f"faq:{NOTICE_ID}", notice())
    wait_for(client, store)
    embedded = list(encoder.texts)  # before any query is encoded
    hits = top(client, NOTICE_QUESTION)
    assert hits[0]["faq_id"] == NOTICE_ID and "7 giờ 30" in hits[0]["text"]
    answer = client.get("/api/kb/answer", params={"q": NOTICE_QUESTION}).json()
    assert answer["hits"][0]["faq_id"] == NOTICE_ID
    assert client.get("/health").json()["faq"] == faq_before + 1
    # only the new entry's rows were embedded, not the knowledge base again
    assert NOTICE_QUESTION in embedded and 2 <= len(embedded) <= 5
    assert client.app.state.live._pool is not None  # BM25 and preparer came from the helper process
    # retired: a draft with no content
    publish(store, f"faq:{NOTICE_ID}", None)
    wait_for(client, store)
    assert all(h["faq_id"] != NOTICE_ID for h in top(client, NOTICE_QUESTION, k=20))
    assert client.get("/health").json()["faq"] == faq_before


def test_restoring_the_previous_version_reverts_the_answer(live):
    client, store, _ = live
    kb = client.app.state.search.kb
    entry_id, entry = next(iter(kb.faq.items()))
    key = f"faq:{entry_id}"
    payload = _payload_of(key)
    publish(store, key, {**payload, "answer": "Dạ, nội dung đã sửa theo văn bản mới số 99."})
    wait_for(client, store)
    assert "văn bản mới số 99" in top(client, entry.questions[0])[0]["text"]
    store.restore(key, 0, "duyet", "Trả lại nội dung cũ", base_payload=payload)
    wait_for(client, store)
    hit = top(client, entry.questions[0])[0]
    assert hit["faq_id"] == entry_id and hit["text"] == entry.answer


def _payload_of(key: str):
    from assistant.knowledge.store import base_payloads

    return base_payloads(KNOWLEDGE_BASE_DIR)[key]


def test_an_entry_past_its_valid_to_date_is_not_served(live):
    client, store, _ = live
    expired_id = "thong-bao-tiep-dan-thu-bay-cu"
    publish(store, f"faq:{expired_id}", notice(
        expired_id, valid_from="2025-01-01", valid_to="2026-01-31",
        questions=["Lịch tiếp dân sáng thứ Bảy năm 2025 của Công an xã thế nào?",
                   "lich tiep dan sang thu bay nam 2025"]))
    wait_for(client, store)
    assert expired_id in client.app.state.search.kb.faq  # published and indexed...
    assert any(r.key == f"faq:{expired_id}" for r in client.app.state.search.search.semantic.rows)
    for q in ("Lịch tiếp dân sáng thứ Bảy năm 2025 của Công an xã thế nào?", NOTICE_QUESTION):
        assert all(h["faq_id"] != expired_id for h in top(client, q, k=20))  # ...but not served
        answer = client.get("/api/kb/answer", params={"q": q}).json()
        assert all(h["faq_id"] != expired_id for h in answer["hits"])


def test_a_failed_rebuild_keeps_the_old_search_serving(live, caplog):
    client, store, encoder = live
    serving = client.app.state.search.search
    generation = client.get("/health").json()["content_generation"]
    broken_id = "thong-bao-khong-vao-duoc"
    encoder.broken = True
    live_log = logging.getLogger("assistant.knowledge.live")  # it does not propagate (main.py)
    live_log.addHandler(caplog.handler)
    try:
        with caplog.at_level(logging.ERROR, logger="assistant.knowledge.live"):
            questions = ["Câu hỏi chưa vào được chỉ mục?", "cau hoi chua vao chi muc"]
            publish(store, f"faq:{broken_id}", notice(broken_id, questions=questions))
            deadline = time.monotonic() + 10
            while not any("could not be rebuilt" in r.getMessage() for r in caplog.records):
                assert time.monotonic() < deadline, "the failed rebuild was not logged"
                time.sleep(0.05)
        # still serving the previous search and content, and answering
        assert client.app.state.search.search is serving
        assert client.get("/health").json()["content_generation"] == generation
        assert broken_id not in client.app.state.search.kb.faq
    finally:
        encoder.broken = False
        live_log.removeHandler(caplog.handler)
    assert top(client, NOTICE_QUESTION)
    # repaired: the retry picks the publish up
    wait_for(client, store)
    assert top(client, "Câu hỏi chưa vào được chỉ mục?")[0]["faq_id"] == broken_id
