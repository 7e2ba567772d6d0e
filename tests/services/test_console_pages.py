"""The console's Vietnamese pages, driven like a browser without script: log in, search, edit
an entry through the form, see validation problems, publish, see the versions and the diff,
restore; the admin's accounts page. Text is escaped, never markup."""
from __future__ import annotations

import html
import re

from fastapi.testclient import TestClient
from test_console_support import PASSWORD

from assistant.knowledge.store import ContentStore, published_knowledge_base


def page_login(world, username: str) -> tuple[TestClient, str]:
    client = world.client()
    response = client.post("/console/login", data={"username": username, "password": PASSWORD})
    assert response.status_code == 200 and username in response.text
    return client, csrf_of(response.text)


def csrf_of(text: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', text).group(1)


def published(world):
    settings = world.console.settings
    return published_knowledge_base(settings.knowledge_base_dir, ContentStore(settings.content_db))


def test_edit_publish_and_restore_through_the_pages(world):
    editor, ed_csrf = page_login(world, "bientap")
    key = next(k for k in world.console.content.base if k.startswith("faq:"))
    entry_id = key[4:]
    listing = editor.get("/console/", params={"q": entry_id})
    assert listing.status_code == 200 and html.escape(key) in listing.text
    form = editor.get("/console/edit", params={"key": key})
    assert form.status_code == 200 and 'name="answer"' in form.text and "<script" not in form.text
    fields = {"csrf_token": ed_csrf, "key": key, "new": "", "draft_id": "", "id": entry_id,
              "questions": "Câu hỏi thứ nhất?\ncau hoi thu hai", "answer": "Dạ, câu trả lời <b>mới</b>.",
              "basis": "Luật Cư trú 2020", "sources": "", "valid_from": "", "valid_to": "", "verified": "1",
              "note": "sửa theo văn bản mới"}
    refused = editor.post("/console/edit", data=fields)
    assert refused.status_code == 422 and "thiếu nguồn" in refused.text
    assert world.console.content.store.drafts(None) == []
    fields["sources"] = "KONTUM-46, VNEXPRESS-CMND"
    saved = editor.post("/console/edit", data=fields)
    assert saved.status_code == 200 and "Đã lưu bản nháp số 1" in saved.text
    # the editor sees the draft but no publish button
    drafts = editor.get("/console/drafts")
    assert "Dạ, câu trả lời &lt;b&gt;mới&lt;/b&gt;." in drafts.text and "<b>mới</b>" not in drafts.text
    assert "/console/drafts/1/publish" not in drafts.text
    approver, ap_csrf = page_login(world, "duyet")
    drafts = approver.get("/console/drafts")
    assert "/console/drafts/1/publish" in drafts.text
    done = approver.post("/console/drafts/1/publish", data={"csrf_token": ap_csrf, "reason": "Văn bản mới"},
                         follow_redirects=False)
    assert done.status_code == 303 and done.headers["location"].startswith("/console/entry?key=")
    assert published(world).faq[entry_id].answer == "Dạ, câu trả lời <b>mới</b>."
    entry = approver.get(done.headers["location"])
    assert "Văn bản mới" in entry.text and "duyet" in entry.text
    assert '<span class="add">+answer: Dạ, câu trả lời &lt;b&gt;mới&lt;/b&gt;.</span>' in entry.text
    restored = approver.post("/console/restore", data={"csrf_token": ap_csrf, "key": key, "version": "0",
                                                        "reason": "Quay lại bản gốc"}, follow_redirects=False)
    assert restored.status_code == 303
    assert published(world).faq[entry_id].answer == world.console.content.base_kb.faq[entry_id].answer
    assert "khôi phục từ 0" in approver.get(restored.headers["location"]).text


def test_a_section_is_edited_as_yaml(world):
    editor, csrf = page_login(world, "bientap")
    key = "procedure:tach-ho/time"
    form = editor.get("/console/edit", params={"key": key})
    found = re.search(r'<textarea id="section_yaml"[^>]*>(.*?)</textarea>', form.text, re.S)
    text = html.unescape(found.group(1))
    broken = editor.post("/console/edit",
                         data={"csrf_token": csrf, "key": key, "section_yaml": "text: [oops"})
    assert broken.status_code == 422 and "YAML lỗi" in broken.text
    changed = "valid_to: '2030-01-01'\n" + text
    saved = editor.post("/console/edit", data={"csrf_token": csrf, "key": key, "section_yaml": changed})
    assert saved.status_code == 200, saved.text
    assert world.console.content.store.drafts("open")[0].payload["valid_to"] == "2030-01-01"


def test_the_accounts_page_is_for_the_admin(world):
    admin, csrf = page_login(world, "quantri")
    page = admin.get("/console/accounts")
    assert page.status_code == 200 and "bientap" in page.text and "Thêm tài khoản" in page.text
    short = admin.post("/console/accounts", data={"csrf_token": csrf, "username": "moi", "password": "ngan",
                                                  "role": "editor"})
    assert short.status_code == 400 and "ít nhất 12 ký tự" in short.text
    made = admin.post("/console/accounts", follow_redirects=False,
                      data={"csrf_token": csrf, "username": "canbo2", "password": PASSWORD,
                            "role": "approver"})
    assert made.status_code == 303 and world.console.accounts.get("canbo2").role == "approver"
    editor, _ = page_login(world, "bientap")
    refused = editor.get("/console/accounts")
    assert refused.status_code == 403 and "không có quyền" in refused.text


def test_the_password_page(world):
    client, csrf = page_login(world, "bientap")
    assert 'href="/console/password"' in client.get("/console/").text
    wrong = client.post("/console/password", data={"csrf_token": csrf, "current": "sai", "new": "x" * 12})
    assert wrong.status_code == 400 and "không đúng" in wrong.text
    done = client.post("/console/password", data={"csrf_token": csrf, "current": PASSWORD,
                                                  "new": "mat-khau-moi-cua-bientap"})
    assert done.status_code == 200 and "Đã đổi mật khẩu" in done.text
    assert client.get("/console/", follow_redirects=False).status_code == 303
