"""The officers' console in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)
against the FastAPI app alone (`console_app` in conftest.py: uvicorn on a free port, temporary
databases, one approver): a wrong password shows the Vietnamese error; the approver logs in,
opens a FAQ entry, edits its answer, saves the draft, publishes it with a reason, and the entry
page shows the new answer as the published version, with the reason in its history and the
change in its diff; the FAQ exported as CSV through the page's link, one answer changed,
uploaded again: the preview shows that change and applying it makes a draft. No page has a
script error or a failed request."""
from __future__ import annotations

import csv
import io
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

from .conftest import BROWSER_OFFICER

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
ENTRY_ID = "so-ho-khau-khong-con-dung"
NEW_ANSWER = ("Dạ, từ ngày 01/7/2021 sổ hộ khẩu giấy không còn giá trị chứng minh cư trú; thông tin cư trú "
              "nằm trong Cơ sở dữ liệu quốc gia về dân cư (bản sửa thử trên trình duyệt, mã TRINH-DUYET-42).")
MARK = "TRINH-DUYET-42"
REASON = "Sửa thử câu trả lời trên trình duyệt"
# a failed load is reported as a console error too; the response handler below says which one
# (the browser's own /favicon.ico, outside the console, is left out)
LOAD_FAILED = "Failed to load resource"


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture()
def officer_page(browser: Browser, console_app) -> Iterator[tuple[Page, list[str]]]:
    """A page of a fresh browser context, with every script error, console error and failed
    request of the console collected."""
    context = browser.new_context(viewport={"width": 1366, "height": 900}, locale="vi-VN",
                                  base_url=console_app["url"])
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(f"script error: {error}"))
    page.on("console", lambda message: errors.append(f"console {message.type}: {message.text}")
            if message.type == "error" and not message.text.startswith(LOAD_FAILED) else None)
    page.on("requestfailed",
            lambda request: errors.append(f"request failed: {request.url} {request.failure}"))
    page.on("response", lambda response: errors.append(
        f"HTTP {response.status}: {response.request.method} {response.url.split('?')[0]}")
        if response.status >= 400 and not response.url.endswith("/favicon.ico") else None)
    yield page, errors
    context.close()


def log_in(page: Page, password: str) -> None:
    page.goto("/console/")
    expect(page).to_have_url(re.compile(r"/console/login$"))  # no session: the login page
    page.get_by_label("Tên đăng nhập").fill(BROWSER_OFFICER[0])
    page.get_by_label("Mật khẩu").fill(password)
    page.get_by_role("button", name="Đăng nhập").click()


def test_a_wrong_password_shows_the_vietnamese_error(officer_page):
    page, errors = officer_page
    log_in(page, "mat-khau-sai-hoan-toan")
    alert = page.get_by_role("alert")
    expect(alert).to_contain_text("Đăng nhập không thành công")
    expect(alert).to_contain_text("mật khẩu không đúng")
    expect(page).to_have_url(re.compile(r"/console/login$"))
    expect(page.get_by_label("Tên đăng nhập")).to_have_value(BROWSER_OFFICER[0])
    assert all(c["name"] != "console_session" for c in page.context.cookies())
    assert page.locator("script").count() == 0
    # the only error is the answer to the refused login itself
    assert errors == [f"HTTP 401: POST {page.url}"]


def test_an_approver_edits_an_entry_saves_a_draft_and_publishes_it(officer_page):
    page, errors = officer_page
    log_in(page, BROWSER_OFFICER[1])
    expect(page).to_have_url(re.compile(r"/console/$"))
    expect(page.locator("header")).to_contain_text(BROWSER_OFFICER[0])

    # find the entry and open it
    page.get_by_label("Tìm").fill(ENTRY_ID)
    page.get_by_role("button", name="Tìm").click()
    row = page.locator("tr", has=page.locator("code", has_text=f"faq:{ENTRY_ID}"))
    expect(row).to_have_count(1)
    row.get_by_role("link").click()
    expect(page.locator("main")).to_contain_text("phiên bản hiện hành: 0")
    old_answer = page.locator("pre.yaml").inner_text()
    assert MARK not in old_answer

    # edit its answer and save a draft
    page.get_by_role("link", name="Sửa (tạo bản nháp)").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Sửa:")
    page.get_by_label("Câu trả lời", exact=True).fill(NEW_ANSWER)
    page.get_by_label("Ghi chú cho người duyệt").fill("thử trên trình duyệt")
    page.get_by_role("button", name="Lưu bản nháp").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("Đã lưu bản nháp số")
    # saved, not yet published
    page.get_by_role("link", name="Xem mục").click()
    expect(page.locator("main")).to_contain_text("phiên bản hiện hành: 0")
    expect(page.locator("pre.yaml")).not_to_contain_text(MARK)
    expect(page.locator("main")).to_contain_text("Bản nháp đang chờ duyệt")

    # publish it with a reason from the drafts page, where the draft's diff is shown
    page.get_by_role("link", name="Bản nháp chờ duyệt").first.click()
    draft = page.locator("section.draft", has=page.locator("code", has_text=f"faq:{ENTRY_ID}"))
    expect(draft).to_have_count(1)
    expect(draft.locator("pre.diff span.add")).to_contain_text([MARK])
    draft.get_by_label("Lý do xuất bản").fill(REASON)
    draft.get_by_role("button", name="Xuất bản").click()

    # the entry page: the new answer is the published version 1, with who and why
    expect(page).to_have_url(re.compile(r"/console/entry\?key=faq%3A" + ENTRY_ID))
    expect(page.locator("main")).to_contain_text("phiên bản hiện hành: 1")
    expect(page.locator("pre.yaml")).to_contain_text(MARK)
    history = page.locator("table tbody tr", has_text=REASON)
    expect(history).to_have_count(1)
    expect(history).to_contain_text(BROWSER_OFFICER[0])
    expect(history.locator("td").first).to_have_text(re.compile(r"^\s*1\s*$"))
    # the diff between version 0 and 1 shows the change
    diff = page.locator("pre.diff")
    expect(diff).to_contain_text("phiên bản 0")
    expect(diff.locator("span.add")).to_contain_text([MARK])
    removed = " ".join(diff.locator("span.del").all_inner_texts())
    assert "answer:" in removed and MARK not in removed
    # the draft is gone from the queue
    page.get_by_role("link", name="Bản nháp chờ duyệt").first.click()
    queued = page.locator("section.draft", has=page.locator("code", has_text=f"faq:{ENTRY_ID}"))
    expect(queued).to_have_count(0)

    assert page.locator("script").count() == 0
    assert errors == []


def test_the_faq_goes_out_and_back_in_as_a_spreadsheet(officer_page, tmp_path):
    """Export CSV through the page's link, change one answer, upload it: the preview shows
    exactly that change, and applying it makes a draft (nothing published)."""
    page, errors = officer_page
    log_in(page, BROWSER_OFFICER[1])
    page.get_by_role("link", name="Bảng tính").click()
    with page.expect_download() as download:
        page.get_by_role("link", name="Tải về .csv").click()
    data = Path(download.value.path()).read_bytes()
    assert data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"), newline="")))
    row = next(r for r in rows if r["id"] != ENTRY_ID)
    row["answer"] = row["answer"] + " (sửa qua bảng tính)"
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    upload = tmp_path / "hoi-dap.csv"
    upload.write_text(out.getvalue(), encoding="utf-8")

    page.get_by_label(re.compile("Tệp bảng tính")).set_input_files(upload)
    page.get_by_role("button", name="Xem trước thay đổi").click()
    expect(page.locator("#import-summary")).to_contain_text("0 mục mới · 1 mục thay đổi")
    changed = page.locator("table.import-changed")
    expect(changed).to_have_count(1)
    expect(changed.locator("caption")).to_contain_text(f"faq:{row['id']}")
    expect(changed.locator("pre.new")).to_contain_text("(sửa qua bảng tính)")
    page.get_by_role("button", name=re.compile("Áp dụng")).click()
    expect(page.locator("#import-result")).to_contain_text("Đã tạo 1 bản nháp")
    page.get_by_role("link", name="Bản nháp chờ duyệt").first.click()
    drafted = page.locator("section.draft", has=page.locator("code", has_text=f"faq:{row['id']}"))
    expect(drafted).to_have_count(1)
    # Chromium reports a navigation that became a download as aborted: that one only
    origin = page.url.split("/console/")[0]
    downloaded = f"request failed: {origin}/console/export?format=csv net::ERR_ABORTED"
    assert [e for e in errors if e != downloaded] == []
