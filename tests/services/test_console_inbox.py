"""The console's inbox of what citizens could not get answered: grouping by similarity (the
character n-gram fallback on an obvious set, the running search's encoder when ready), no personal data
shown, triage (handled, ignored), and a group turned into a FAQ draft through the form or the
API."""
from __future__ import annotations

import html
import re
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import numpy as np
import pytest
from test_console_support import (  # noqa: F401  (kb_copy is a fixture)
    CHEAP_HASHER,
    Clock,
    World,
    console_settings,
    kb_copy,
    make_app,
)

from assistant.unanswered import UnansweredLog
from services.console.auth import Console
from services.console.inbox import group_rows

# Five obvious topics: "sổ đỏ" (land title: out of scope), marriage, driving licence, and two
# questions alone; with and without diacritics, and one with placeholders.
OBVIOUS = [
    ("so-do", "làm sổ đỏ ở đâu"), ("so-do", "lam so do o dau"), ("so-do", "muốn làm sổ đỏ thì đến đâu"),
    ("so-do", "thủ tục làm sổ đỏ"), ("ket-hon", "đăng ký kết hôn cần giấy tờ gì"),
    ("ket-hon", "dang ky ket hon can giay to gi"), ("ket-hon", "đăng ký kết hôn ở đâu"),
    ("bang-lai", "xin giấy phép lái xe"), ("bang-lai", "đổi bằng lái xe máy"),
    ("bang-lai", "đổi giấy phép lái xe ô tô"), ("vi", "mất ví thì báo ai"),
    ("gio", "giờ làm việc của công an phường"), ("so-do", "tên tôi là <TÊN> muốn hỏi về sổ đỏ <SỐ>"),
]
SECRETS = ("Nguyễn", "Văn An", "022190001234", "0912", "345 678", "an.nguyen@gmail.com",
           "H01.02.003-260101-0001", "123456789")


def rows_of(items: list[tuple[str, str]]) -> list[dict]:
    start = datetime(2026, 11, 1, tzinfo=timezone.utc)
    return [{"id": i + 1, "asked_at": (start + timedelta(hours=i)).isoformat(timespec="seconds"),
             "channel": ("kiosk", "rest", "zalo", "facebook")[i % 4], "text": text, "reason": "general"}
            for i, (_, text) in enumerate(items)]


def topics_of(groups, items) -> list[set[str]]:
    return [{items[i - 1][0] for i in g.ids} for g in groups]


def test_ngram_grouping_finds_the_obvious_groups():
    groups, method = group_rows(rows_of(OBVIOUS))
    assert method == "ngram"
    found = sorted(sorted(i for i in g.ids) for g in groups)
    expected = sorted(sorted(i + 1 for i, (topic, _) in enumerate(OBVIOUS) if topic == t)
                      for t in {t for t, _ in OBVIOUS})
    assert found == expected
    biggest = groups[0]  # largest first
    assert biggest.count == 5 and {OBVIOUS[i - 1][0] for i in biggest.ids} == {"so-do"}
    assert biggest.first == "2026-11-01T00:00:00+00:00" and biggest.last == "2026-11-01T12:00:00+00:00"
    assert sum(biggest.channels.values()) == 5
    assert set(biggest.channels) <= {"kiosk", "rest", "zalo", "facebook"}
    assert biggest.examples[0] == OBVIOUS[12][1]  # newest first, each text once


class TopicEncoder:
    """A stand-in for the e5 encoder: one axis per topic word, so the right groups are known."""

    AXES = ("sổ đỏ", "kết hôn", "lái xe", "ví", "giờ")

    def __init__(self) -> None:
        self.seen: list[str] = []

    def encode_queries(self, texts):
        self.seen.extend(texts)
        vectors = np.zeros((len(texts), len(self.AXES) + 1))
        for row, text in enumerate(texts):
            hits = [k for k, word in enumerate(self.AXES) if word in text]
            vectors[row, hits[0] if hits else len(self.AXES)] = 1.0
            vectors[row, len(self.AXES)] += 0.1
        return vectors


def test_grouping_uses_the_running_search_encoder_when_ready():
    encoder = TopicEncoder()
    restored = {"lam so do o dau": "làm sổ đỏ ở đâu",
                "dang ky ket hon can giay to gi": "đăng ký kết hôn cần giấy tờ gì"}
    search = SimpleNamespace(encoder=encoder, prepare=lambda text: restored.get(text, text))
    groups, method = group_rows(rows_of(OBVIOUS), search)
    assert method == "encoder"
    assert sorted(map(sorted, topics_of(groups, OBVIOUS))) == [["bang-lai"], ["gio"], ["ket-hon"], ["so-do"],
                                                               ["vi"]]
    # the search's own preparation ran first, and placeholders were left out
    assert "làm sổ đỏ ở đâu" in encoder.seen and not any("<" in t for t in encoder.seen)
    # each distinct text is encoded once: a second look at the inbox encodes nothing
    seen = len(encoder.seen)
    assert seen == len({t for _, t in OBVIOUS})
    again, _ = group_rows(rows_of(OBVIOUS), search)
    assert len(encoder.seen) == seen and [g.ids for g in again] == [g.ids for g in groups]


def test_a_failing_encoder_falls_back_to_ngrams():
    class Broken:
        def encode_queries(self, texts):
            raise RuntimeError("model gone")

    groups, method = group_rows(rows_of(OBVIOUS), SimpleNamespace(encoder=Broken()))
    assert method == "ngram" and len(groups) == 5


# ---------------------------------------------------------------- through the console


@pytest.fixture()
def world(tmp_path, kb_copy):  # noqa: F811
    clock = Clock()
    settings = console_settings(tmp_path, kb_copy, unanswered_db=tmp_path / "unanswered.sqlite3",
                                stats_db=tmp_path / "stats.sqlite3", outbox_db=tmp_path / "outbox.sqlite3")
    console = Console.create(settings, clock, CHEAP_HASHER)
    w = World(console, clock, make_app(console))
    for username, role in (("bientap", "editor"), ("duyet", "approver"), ("quantri", "admin")):
        w.officer(username, role)
    return w


def log_of(world) -> UnansweredLog:
    return UnansweredLog(world.console.settings.unanswered_db)


def test_the_inbox_never_shows_personal_data(world):
    log = log_of(world)
    log.record("tên tôi là Nguyễn Văn An, cccd 022190001234, sdt 0912 345 678, muốn làm sổ đỏ",
               "zalo", "out_of_scope", 0.9, "out_of_scope")
    log.record("email an.nguyen@gmail.com, CMND 123456789, hồ sơ H01.02.003-260101-0001 làm sổ đỏ ở đâu",
               "kiosk", "ask_general", 0.4, "general")
    raw = world.console.settings.unanswered_db.read_bytes()
    for secret in SECRETS:
        assert secret.encode() not in raw, secret
    reader, _ = world.login("quantri")  # an admin reads the inbox too
    api = reader.get("/console/api/inbox")
    assert api.status_code == 200
    shown = str(api.json())
    page = reader.get("/console/inbox")
    assert page.status_code == 200 and "<script" not in page.text
    for secret in SECRETS:
        assert secret not in shown and secret not in page.text and html.escape(secret) not in page.text
    for placeholder in ("<TÊN>", "<SỐ>", "<EMAIL>", "<MÃ_HỒ_SƠ>"):
        assert placeholder in shown and html.escape(placeholder) in page.text
    # the admin reads but cannot triage: no buttons for them
    assert "/console/inbox/mark" not in page.text and "/console/edit?inbox=" not in page.text


def test_groups_are_listed_with_counts_dates_and_channels(world):
    log = log_of(world)
    start = datetime.now(timezone.utc) - timedelta(days=3)
    for i, (_, text) in enumerate(OBVIOUS):
        log.record(text, ("kiosk", "rest", "zalo", "facebook")[i % 4], "ask_general", 0.3, "general",
                   at=start + timedelta(hours=i))
    log.record("câu hỏi rất cũ về sổ đỏ", "rest", None, None, "general", at=start - timedelta(days=200))
    client, _ = world.login("bientap")
    body = client.get("/console/api/inbox").json()
    assert body["method"] == "ngram"  # the search is not loaded in this app
    groups = body["groups"]
    assert [g["count"] for g in groups] == [5, 3, 3, 1, 1]  # the 200-day-old question is not in 90 days
    top = groups[0]
    assert top["first"] == (start).isoformat(timespec="seconds")
    assert top["last"] == (start + timedelta(hours=12)).isoformat(timespec="seconds")
    assert sum(top["channels"].values()) == 5 and top["reasons"] == {"general": 5}
    assert len(top["examples"]) == 5
    everything = client.get("/console/api/inbox", params={"days": 365}).json()["groups"]
    assert sum(g["count"] for g in everything) == len(OBVIOUS) + 1
    page = client.get("/console/inbox")
    assert "5</strong> lần" in page.text and "Soạn mục hỏi đáp từ nhóm này" in page.text


def test_an_editor_marks_groups_handled_or_ignored(world):
    log = log_of(world)
    for _, text in OBVIOUS:
        log.record(text, "rest", "ask_general", 0.3, "general")
    editor, csrf = world.login("bientap")
    groups = editor.get("/console/api/inbox").json()["groups"]
    first, second = groups[0]["ids"], groups[1]["ids"]
    done = editor.post("/console/api/inbox/mark", json={"ids": first, "status": "handled"},
                       headers={"X-CSRF-Token": csrf})
    assert done.status_code == 200 and done.json() == {"changed": 5}
    # the page's form does the same
    page = editor.get("/console/inbox")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    form = editor.post("/console/inbox/mark", data={"csrf_token": token, "status": "ignored",
                                                    "ids": [str(i) for i in second]}, follow_redirects=False)
    assert form.status_code == 303 and form.headers["location"] == "/console/inbox?status=open"
    still_open = editor.get("/console/api/inbox").json()["groups"]
    assert sorted(g["count"] for g in still_open) == [1, 1, 3]
    handled = editor.get("/console/api/inbox", params={"status": "handled"}).json()["groups"]
    assert [sorted(g["ids"]) for g in handled] == [sorted(first)]
    stored = {r["id"]: r for r in log.rows()}
    assert {stored[i]["status_by"] for i in first} == {"bientap"}
    assert {stored[i]["status"] for i in second} == {"ignored"}
    # reopened from the handled list
    editor.post("/console/api/inbox/mark", json={"ids": first, "status": "open"},
                headers={"X-CSRF-Token": csrf})
    assert len(editor.get("/console/api/inbox").json()["groups"]) == 4
    # a reader who is not an editor cannot change anything
    admin, admin_csrf = world.login("quantri")
    refused = admin.post("/console/api/inbox/mark", json={"ids": first, "status": "ignored"},
                         headers={"X-CSRF-Token": admin_csrf})
    assert refused.status_code == 403
    assert {log.rows()[0]["status"]} == {"open"}


def test_a_group_becomes_a_faq_draft_through_the_form(world):
    log = log_of(world)
    for text in ("làm sổ đỏ ở đâu", "muốn làm sổ đỏ thì đến đâu", "tên tôi là Nguyễn Văn An, hỏi làm sổ đỏ"):
        log.record(text, "kiosk", "out_of_scope", 0.9, "out_of_scope")
    log.record("mất ví thì báo ai", "rest", None, None, "general")
    editor, _ = world.login("bientap")
    group = editor.get("/console/api/inbox").json()["groups"][0]
    assert group["count"] == 3
    ids = ",".join(map(str, group["ids"]))
    form = editor.get("/console/edit", params={"inbox": ids})
    assert form.status_code == 200 and "<script" not in form.text
    questions = html.unescape(
        re.search(r'<textarea id="questions"[^>]*>(.*?)</textarea>', form.text, re.S).group(1))
    variants = questions.splitlines()
    # the group's distinct questions, those without placeholders first, and the first without diacritics
    assert variants == ["làm sổ đỏ ở đâu", "muốn làm sổ đỏ thì đến đâu", "tên tôi là <TÊN>, hỏi làm sổ đỏ",
                        "lam so do o dau"]
    assert re.search(r'<textarea id="answer"[^>]*></textarea>', form.text)  # the answer is the officer's
    assert f'name="inbox_ids" value="{ids}"' in form.text
    suggested_id = re.search(r'<input id="id" name="id" value="([^"]*)"', form.text).group(1)
    assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", suggested_id)
    assert world.console.content.store.drafts(None) == []  # nothing saved yet
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.text).group(1)
    saved = editor.post("/console/edit", data={
        "csrf_token": token, "key": "", "new": "1", "draft_id": "", "inbox_ids": ids, "id": suggested_id,
        "questions": questions, "answer": "Dạ, cấp giấy chứng nhận quyền sử dụng đất không thuộc Công an.",
        "basis": "Luật Đất đai 2024", "sources": "KONTUM-46", "valid_from": "", "valid_to": "",
        "verified": "1", "note": "Từ hộp thư"})
    assert saved.status_code == 200 and "Đã lưu bản nháp số 1" in saved.text, saved.text
    draft = world.console.content.store.draft(1)
    assert draft.entry_key == f"faq:{suggested_id}" and len(draft.payload["questions"]) >= 2
    rows = {r["id"]: r for r in log.rows()}
    assert all(rows[i]["status"] == "drafted" and rows[i]["draft_id"] == 1 for i in group["ids"])
    left = editor.get("/console/api/inbox").json()["groups"]
    assert [g["examples"] for g in left] == [["mất ví thì báo ai"]]


def test_a_group_becomes_a_faq_draft_through_the_api(world):
    log = log_of(world)
    for text in ("giờ làm việc của công an phường", "giờ làm việc của công an phường"):
        log.record(text, "facebook", "ask_general", 0.2, "general")
    editor, csrf = world.login("bientap")
    ids = editor.get("/console/api/inbox").json()["groups"][0]["ids"]
    suggestion = editor.get("/console/api/inbox/suggestion", params={"ids": ",".join(map(str, ids))})
    assert suggestion.status_code == 200
    body = suggestion.json()
    payload = body["payload"]
    # one distinct text: the second variant is the same without diacritics
    assert payload["questions"] == ["giờ làm việc của công an phường", "gio lam viec cua cong an phuong"]
    assert payload["answer"] == "" and body["key"] == f"faq:{payload['id']}" and body["inbox_ids"] == ids
    payload.update(answer="Dạ, từ thứ Hai đến thứ Sáu, sáng 7h30-11h30, chiều 13h30-17h.",
                   basis="Quy định về giờ làm việc", sources=["KONTUM-46"])
    created = editor.post("/console/api/drafts", json={"key": body["key"], "payload": payload, "new": True,
                                                       "inbox_ids": ids}, headers={"X-CSRF-Token": csrf})
    assert created.status_code == 201, created.text
    draft_id = created.json()["draft"]["id"]
    assert {(r["status"], r["draft_id"]) for r in log.rows()} == {("drafted", draft_id)}
    assert editor.get("/console/api/inbox").json()["groups"] == []
    # unknown ids: nothing to suggest
    assert editor.get("/console/api/inbox/suggestion", params={"ids": "999"}).status_code == 404


def test_an_empty_inbox_creates_no_file(world):
    client, _ = world.login("duyet")
    assert client.get("/console/api/inbox").json() == {"method": "none", "groups": []}
    assert "Không có câu hỏi nào" in client.get("/console/inbox").text
    assert not world.console.settings.unanswered_db.exists()


def test_the_new_pages_are_in_the_navigation(world):
    client, _ = world.login("quantri")
    home = client.get("/console/")
    for href in ('href="/console/inbox"', 'href="/console/dashboard"', 'href="/console/expired"'):
        assert href in home.text


def test_the_access_walk_covers_the_new_routes(world):
    from test_console_access import console_routes

    paths = {(m, p): roles for m, p, roles in console_routes(world.app)}
    for route in (("GET", "/console/api/inbox"), ("GET", "/console/inbox"), ("GET", "/console/api/dashboard"),
                  ("GET", "/console/dashboard"), ("GET", "/console/api/expired"),
                  ("GET", "/console/expired")):
        assert set(paths[route]) == {"editor", "approver", "admin"}, route
    for route in (("POST", "/console/api/inbox/mark"), ("POST", "/console/inbox/mark"),
                  ("GET", "/console/api/inbox/suggestion")):
        assert set(paths[route]) == {"editor", "approver"}, route

