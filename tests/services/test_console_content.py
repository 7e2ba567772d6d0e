"""The draft → publish workflow through the console's JSON API, and what it does to the
published knowledge base: publish, editor refused, restore to version 0, diff, validation,
retire, stale drafts, near-duplicate warnings (semantic search and its BM25 fallback)."""
from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient
from test_console_support import (  # noqa: F401  (kb_copy is a fixture)
    CHEAP_HASHER,
    PASSWORD,
    Clock,
    console_settings,
    kb_copy,
    make_app,
    make_world,
)

from assistant.knowledge.loader import load_knowledge_base
from assistant.knowledge.store import ContentStore, apply_overlay, published_knowledge_base
from services.console.auth import Console

SECTION = "procedure:dang-ky-tam-tru/where"


def faq_key(world) -> str:
    return next(k for k in world.console.content.base if k.startswith("faq:"))


def current(client, key):
    response = client.get("/console/api/entry", params={"key": key})
    assert response.status_code == 200, response.text
    return response.json()


def propose(client, csrf, key, payload, new=False, status=201):
    body = {"key": key, "payload": payload, "new": new, "note": "thử"}
    response = client.post("/console/api/drafts", json=body, headers={"X-CSRF-Token": csrf})
    assert response.status_code == status, response.text
    return response.json()


def publish(client, csrf, draft_id, reason="Văn bản mới", status=200):
    response = client.post(f"/console/api/drafts/{draft_id}/publish", json={"reason": reason},
                           headers={"X-CSRF-Token": csrf})
    assert response.status_code == status, response.text
    return response.json()


def published(world):
    settings = world.console.settings
    return published_knowledge_base(settings.knowledge_base_dir, ContentStore(settings.content_db))


def new_faq(entry_id: str, **changes) -> dict:
    payload = {"id": entry_id, "questions": ["Làm thẻ căn cước cho trẻ sơ sinh ở đâu?",
                                             "lam can cuoc cho tre so sinh o dau"],
               "answer": "Dạ, anh/chị làm trên VNeID hoặc tại Công an cấp xã.", "basis": "Luật Căn cước 2023",
               "sources": ["KONTUM-46"], "procedure": "cap-the-can-cuoc"}
    payload.update(changes)
    return {k: v for k, v in payload.items() if v is not None}


def test_a_published_edit_reaches_the_published_knowledge_base(world, editor, approver):
    (ed, ed_csrf), (ap, ap_csrf) = editor, approver
    key = faq_key(world)
    entry = current(ed, key)
    assert entry["version"] == 0 and [v["version"] for v in entry["versions"]] == [0]
    payload = copy.deepcopy(entry["payload"])
    payload["answer"] = "Dạ, theo quy định mới từ 01/01/2027, anh/chị làm tại Công an cấp xã."
    saved = propose(ed, ed_csrf, key, payload)
    assert saved["draft"]["state"] == "open" and saved["draft"]["proposed_by"] == "bientap"
    # a draft changes nothing that is served
    assert published(world).faq[key[4:]].answer != payload["answer"]
    assert [d["id"] for d in ap.get("/console/api/drafts").json()] == [saved["draft"]["id"]]
    generation = world.console.content.store.generation()
    version = publish(ap, ap_csrf, saved["draft"]["id"], reason="Thông tư mới")
    assert version["version"] == 1 and version["published_by"] == "duyet"
    assert published(world).faq[key[4:]].answer == payload["answer"]
    assert world.console.content.store.generation() == generation + 1
    # who proposed, who published, why: in the history
    history = current(ap, key)["versions"]
    assert history[-1] == {**history[-1], "version": 1, "published_by": "duyet", "proposed_by": "bientap",
                           "reason": "Thông tư mới", "retired": False}
    assert ap.get(f"/console/api/drafts/{saved['draft']['id']}").json()["state"] == "published"
    assert ap.get("/console/api/drafts").json() == []


def test_an_editor_cannot_publish_discard_or_restore(world, editor):
    client, csrf = editor
    key = faq_key(world)
    payload = current(client, key)["payload"]
    draft_id = propose(client, csrf, key, {**payload, "answer": "Dạ, nội dung sửa."})["draft"]["id"]
    for url, body in ((f"/console/api/drafts/{draft_id}/publish", {"reason": "x"}),
                      (f"/console/api/drafts/{draft_id}/discard", {}),
                      ("/console/api/restore", {"key": key, "version": 0, "reason": "x"})):
        response = client.post(url, json=body, headers={"X-CSRF-Token": csrf})
        assert response.status_code == 403 and "không có quyền" in response.json()["detail"]
    assert world.console.content.store.versions(key) == []
    assert world.console.content.store.draft(draft_id).state == "open"


def test_restore_to_version_0_brings_back_the_yaml_text(world, editor, approver):
    (ed, ed_csrf), (ap, ap_csrf) = editor, approver
    original = load_knowledge_base(world.console.settings.knowledge_base_dir).procedures["dang-ky-tam-tru"]
    yaml_text = original.sections["where"].text
    payload = current(ed, SECTION)["payload"]
    for text in ("Nộp tại Công an xã nơi đến ở (bản 1).", "Nộp tại Công an xã nơi đến ở (bản 2)."):
        publish(ap, ap_csrf, propose(ed, ed_csrf, SECTION, {**payload, "text": text})["draft"]["id"])
        assert published(world).procedures["dang-ky-tam-tru"].sections["where"].text == text
    no_reason = ap.post("/console/api/restore", json={"key": SECTION, "version": 0, "reason": " "},
                        headers={"X-CSRF-Token": ap_csrf})
    assert no_reason.status_code == 400 and "lý do" in no_reason.json()["detail"]
    restored = ap.post("/console/api/restore", json={"key": SECTION, "version": 0, "reason": "Nhập nhầm"},
                       headers={"X-CSRF-Token": ap_csrf})
    assert restored.status_code == 200
    assert restored.json() == {**restored.json(), "version": 3, "restored_from": 0}
    assert published(world).procedures["dang-ky-tam-tru"].sections["where"].text == yaml_text
    assert current(ap, SECTION)["payload"] == payload
    # and forward again, to version 1
    ap.post("/console/api/restore", json={"key": SECTION, "version": 1, "reason": "Dùng lại bản 1"},
            headers={"X-CSRF-Token": ap_csrf})
    assert published(world).procedures["dang-ky-tam-tru"].sections["where"].text.endswith("(bản 1).")
    assert [v["restored_from"] for v in current(ap, SECTION)["versions"]] == [None, None, None, 0, 1]


def test_diff_shows_the_changed_line(world, editor, approver):
    (ed, ed_csrf), (ap, ap_csrf) = editor, approver
    key = faq_key(world)
    payload = current(ed, key)["payload"]
    draft = propose(ed, ed_csrf, key, {**payload, "basis": "Nghị định 999/2027/NĐ-CP"})["draft"]
    publish(ap, ap_csrf, draft["id"])
    diff = ap.get("/console/api/diff", params={"key": key, "from": 0, "to": 1}).json()["diff"]
    removed = [line for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
    added = [line for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
    assert removed == [f"-basis: {payload['basis']}"]
    assert added == ["+basis: Nghị định 999/2027/NĐ-CP"]
    missing = ap.get("/console/api/diff", params={"key": key, "from": 0, "to": 7})
    assert missing.status_code == 404 and "không có phiên bản 7" in missing.json()["detail"]


@pytest.mark.parametrize("change, message", [
    ({"sources": []}, "thiếu nguồn"),
    ({"sources": ["KHONG-CO-NGUON"]}, "nguồn không có trong sources.yml: 'KHONG-CO-NGUON'"),
    ({"answer": "   "}, "thiếu trường bắt buộc 'answer'"),
    ({"valid_from": "2027-01-01", "valid_to": "2026-01-01"}, "valid_to trước valid_from"),
    ({"questions": ["chỉ một câu"]}, "ít nhất 2 cách hỏi"),
    ({"basis": ""}, "thiếu căn cứ pháp lý"),
    ({"procedure": "thu-tuc-khong-co"}, "mã thủ tục không có trong danh mục"),
    ({"valid_to": "31/12/2026"}, "'valid_to' phải là ngày dạng YYYY-MM-DD"),
])
def test_invalid_drafts_get_vietnamese_messages_and_store_nothing(world, editor, change, message):
    client, csrf = editor
    for key, payload, new in ((faq_key(world), current(client, faq_key(world))["payload"], False),
                              ("faq:muc-moi-thu", new_faq("muc-moi-thu"), True)):
        body = propose(client, csrf, key, {**payload, **change}, new=new, status=422)["detail"]
        assert body["message"] == "Nội dung chưa hợp lệ, chưa lưu gì."
        assert any(message in problem for problem in body["problems"]), body["problems"]
    assert world.console.content.store.drafts(None) == []
    assert world.console.content.store.generation() == 0


def test_invalid_sections_and_keys_are_refused(world, editor):
    client, csrf = editor
    payload = current(client, SECTION)["payload"]
    no_source = propose(client, csrf, SECTION, {**payload, "sources": []}, status=422)["detail"]["problems"]
    assert any("thiếu nguồn" in p for p in no_source)
    no_basis = propose(client, csrf, SECTION, {**payload, "basis": None}, status=422)["detail"]["problems"]
    assert any("'basis'" in p for p in no_basis)
    retire = propose(client, csrf, SECTION, None, status=422)["detail"]["problems"]
    assert "valid_to" in retire[0]
    unknown = propose(client, csrf, "procedure:khong-co/fee", payload, status=422)["detail"]["problems"]
    assert "không có trong danh mục" in unknown[0]
    bad_aspect = propose(client, csrf, "procedure:tach-ho/gia-ca", payload, status=422)["detail"]["problems"]
    assert "Phần không biết" in bad_aspect[0]
    missing = propose(client, csrf, "faq:chua-tung-co", new_faq("chua-tung-co"), status=404)
    assert "Thêm mục" in str(missing)
    taken = propose(client, csrf, faq_key(world), new_faq(faq_key(world)[4:]), new=True, status=409)
    assert "đã có" in str(taken)
    assert world.console.content.store.drafts(None) == []


def test_a_section_can_be_given_an_end_date(world, editor, approver):
    (ed, ed_csrf), (ap, ap_csrf) = editor, approver
    payload = current(ed, SECTION)["payload"]
    publish(ap, ap_csrf, propose(ed, ed_csrf, SECTION, {**payload, "valid_to": "2026-12-31"})["draft"]["id"])
    section = published(world).procedures["dang-ky-tam-tru"].sections["where"]
    assert str(section.validity.valid_to) == "2026-12-31"


def test_a_new_entry_is_published_and_retiring_removes_it(world, editor, approver):
    (ed, ed_csrf), (ap, ap_csrf) = editor, approver
    saved = propose(ed, ed_csrf, "faq:can-cuoc-tre-so-sinh", new_faq("can-cuoc-tre-so-sinh"), new=True)
    assert saved["draft"]["payload"]["updated"]  # filled in when left out
    publish(ap, ap_csrf, saved["draft"]["id"])
    kb = published(world)
    assert kb.faq["can-cuoc-tre-so-sinh"].answer.startswith("Dạ, anh/chị làm trên VNeID")
    listed = ap.get("/console/api/entries", params={"q": "tre so sinh", "kind": "faq"}).json()
    assert listed[0]["key"] == "faq:can-cuoc-tre-so-sinh" and listed[0]["version"] == 1
    assert all(e["kind"] == "faq" for e in listed)
    # retire: a draft whose payload is null, published like any change
    retire = propose(ed, ed_csrf, "faq:can-cuoc-tre-so-sinh", None)
    assert "can-cuoc-tre-so-sinh" in published(world).faq
    publish(ap, ap_csrf, retire["draft"]["id"], reason="Trùng mục khác")
    assert "can-cuoc-tre-so-sinh" not in published(world).faq
    assert current(ap, "faq:can-cuoc-tre-so-sinh")["payload"] is None


def test_retiring_a_shipped_entry_and_restoring_it(world, editor, approver):
    (ed, ed_csrf), (ap, ap_csrf) = editor, approver
    key = faq_key(world)
    publish(ap, ap_csrf, propose(ed, ed_csrf, key, None)["draft"]["id"], reason="Hết hiệu lực")
    assert key[4:] not in published(world).faq
    assert any(e["retired"] for e in ap.get("/console/api/entries", params={"q": key[4:]}).json())
    ap.post("/console/api/restore", json={"key": key, "version": 0, "reason": "Gỡ nhầm"},
            headers={"X-CSRF-Token": ap_csrf})
    shipped = load_knowledge_base(world.console.settings.knowledge_base_dir)
    assert published(world).faq[key[4:]] == shipped.faq[key[4:]]


def test_a_draft_made_before_another_publish_must_be_saved_again(world, editor, approver):
    (ed, ed_csrf), (ap, ap_csrf) = editor, approver
    key = faq_key(world)
    payload = current(ed, key)["payload"]
    first = propose(ed, ed_csrf, key, {**payload, "answer": "Dạ, bản A."})["draft"]["id"]
    second = propose(ed, ed_csrf, key, {**payload, "answer": "Dạ, bản B."})["draft"]["id"]
    publish(ap, ap_csrf, first)
    stale = publish(ap, ap_csrf, second, status=409)
    assert "đã có phiên bản 1" in stale["detail"]
    # saved again (here by the editor who wrote it), it can be published
    edited = ed.put(f"/console/api/drafts/{second}",
                    json={"payload": {**payload, "answer": "Dạ, bản B mới."}},
                    headers={"X-CSRF-Token": ed_csrf})
    assert edited.status_code == 200 and edited.json()["draft"]["base_version"] == 1
    publish(ap, ap_csrf, second)
    assert published(world).faq[key[4:]].answer == "Dạ, bản B mới."
    assert [v["proposed_by"] for v in current(ap, key)["versions"]] == [None, "bientap", "bientap"]


def test_discarded_drafts_are_kept_but_cannot_be_published(world, editor, approver):
    (ed, ed_csrf), (ap, ap_csrf) = editor, approver
    key = faq_key(world)
    draft_id = propose(ed, ed_csrf, key, {**current(ed, key)["payload"], "answer": "Dạ, bỏ."})["draft"]["id"]
    discarded = ap.post(f"/console/api/drafts/{draft_id}/discard", headers={"X-CSRF-Token": ap_csrf})
    assert discarded.json()["state"] == "discarded" and discarded.json()["decided_by"] == "duyet"
    again = publish(ap, ap_csrf, draft_id, status=400)
    assert "đã bị hủy" in again["detail"]
    discarded_list = ap.get("/console/api/drafts", params={"state": "discarded"}).json()
    assert [d["id"] for d in discarded_list] == [draft_id]


def test_an_editor_edits_only_their_own_drafts(world, editor):
    client, csrf = editor
    world.officer("bientap2", "editor")
    other, other_csrf = world.login("bientap2")
    key = faq_key(world)
    payload = current(client, key)["payload"]
    draft_id = propose(client, csrf, key, {**payload, "answer": "Dạ, của bientap."})["draft"]["id"]
    refused = other.put(f"/console/api/drafts/{draft_id}",
                        json={"payload": {**payload, "answer": "Dạ, khác."}},
                        headers={"X-CSRF-Token": other_csrf})
    assert refused.status_code == 403 and "bản nháp của mình" in refused.json()["detail"]
    assert world.console.content.store.draft(draft_id).payload["answer"] == "Dạ, của bientap."


# ---------------------------------------------------------------- near-duplicates

@dataclass(frozen=True)
class FakeHit:
    passage: SimpleNamespace
    score: float


class FakeSearch:
    """Stands for the running app's KnowledgeSearch: answers every question with one FAQ hit."""

    def __init__(self, key: str, score: float) -> None:
        self.hit = FakeHit(SimpleNamespace(key=key, faq_id=key[4:], title="Câu hỏi có sẵn"), score)
        self.tuning = SimpleNamespace(answer_score=1.4)
        self.asked: list[str] = []

    def search(self, query, day, k=5):
        self.asked.append(query)
        return [self.hit]


def test_near_duplicate_warning_from_the_running_search(tmp_path, kb_copy):  # noqa: F811
    world = make_world(tmp_path, kb_copy, search=None)
    existing = faq_key(world)
    for score, warned in ((1.5, True), (1.3, False)):
        fake = FakeSearch(existing, score)
        world.app.state.search = SimpleNamespace(search=fake, status="ready")
        client, csrf = world.login("bientap")
        entry_id = f"muc-moi-{int(score * 10)}"
        saved = propose(client, csrf, f"faq:{entry_id}", new_faq(entry_id), new=True)
        assert fake.asked == new_faq(entry_id)["questions"]
        assert bool(saved["warnings"]) is warned
        if warned:
            assert existing in saved["warnings"][0] and "BM25" not in saved["warnings"][0]
    # warned or not, the draft was saved
    assert len(world.console.content.store.drafts("open")) == 2


def test_near_duplicate_warning_falls_back_to_bm25(world, editor):
    client, csrf = editor
    key = faq_key(world)
    existing = current(client, key)["payload"]
    copy_of_it = {**existing, "id": "ban-sao-cau-hoi"}
    saved = propose(client, csrf, "faq:ban-sao-cau-hoi", copy_of_it, new=True)
    assert len(saved["warnings"]) == 1
    assert key in saved["warnings"][0] and "BM25" in saved["warnings"][0]
    questions = ["Nuôi chó mèo có phải khai báo với phường không?", "nuoi cho meo co phai khai bao khong"]
    unrelated = propose(client, csrf, "faq:hoi-ve-thu-tuc-khac",
                        new_faq("hoi-ve-thu-tuc-khac", questions=questions), new=True)
    assert unrelated["warnings"] == []


def test_restores_bump_the_generation_and_a_no_longer_valid_version_is_not_applied(world, editor, approver):
    (ed, ed_csrf), (ap, ap_csrf) = editor, approver
    key = faq_key(world)
    payload = current(ed, key)["payload"]
    changed = {**payload, "answer": "Dạ, bản có nguồn sẽ bị xóa.", "sources": ["KONTUM-46"]}
    publish(ap, ap_csrf, propose(ed, ed_csrf, key, changed)["draft"]["id"])
    store = world.console.content.store
    assert store.generation() == 1
    ap.post("/console/api/restore", json={"key": key, "version": 0, "reason": "Quay lại"},
            headers={"X-CSRF-Token": ap_csrf})
    assert store.generation() == 2
    same = ap.post("/console/api/restore", json={"key": key, "version": 2, "reason": "x"},
                   headers={"X-CSRF-Token": ap_csrf})
    assert same.status_code == 400 and "đang là phiên bản hiện hành" in same.json()["detail"]
    ap.post("/console/api/restore", json={"key": key, "version": 1, "reason": "Lại bản 1"},
            headers={"X-CSRF-Token": ap_csrf})
    assert published(world).faq[key[4:]].answer == changed["answer"]
    # the source disappears from sources.yml: the stored version is skipped, the YAML text stays
    base = world.console.content.base_kb
    without = dataclasses.replace(base, sources={k: v for k, v in base.sources.items() if k != "KONTUM-46"})
    assert apply_overlay(without, store.latest_all()).faq[key[4:]].answer == base.faq[key[4:]].answer


def test_the_cookie_is_secure_when_configured(tmp_path, kb_copy):  # noqa: F811
    settings = console_settings(tmp_path, kb_copy, console_cookie_secure=True)
    console = Console.create(settings, Clock(), CHEAP_HASHER)
    console.accounts.create("bientap", PASSWORD, "editor")
    response = TestClient(make_app(console)).post("/console/api/login",
                                                  json={"username": "bientap", "password": PASSWORD})
    assert response.status_code == 200 and "Secure" in response.headers["set-cookie"]
