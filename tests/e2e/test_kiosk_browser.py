"""The kiosk page in headless Chromium (Debian's /usr/bin/chromium, driven by Playwright)
against the running system: a question and its answer, a button, the VNeID QR login
approved in the portal sandbox, text that looks like HTML shown as text, the end of the
session, and the inactivity timeout. After an end, nothing of the conversation remains on
screen, in the browser's storage, after a reload, or in Rasa."""
from __future__ import annotations

import hashlib
import re
import shutil
from collections.abc import Iterator

import pytest
import requests
from playwright.sync_api import Browser, Page, expect, sync_playwright

from .conftest import PORTAL, RASA_API_TOKEN

KIOSK = "http://127.0.0.1:8000/"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# as the machine's notes say: without the background-networking flags, Chromium keeps
# trying to reach Google's hosts, which this closed network refuses
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


class Kiosk:
    """One kiosk PC: a browser context (its storage and cookies) and its page."""

    def __init__(self, browser: Browser, fake_clock: bool = False) -> None:
        self.context = browser.new_context(viewport={"width": 1366, "height": 768}, locale="vi-VN")
        self.page: Page = self.context.new_page()
        self.secrets: list[str] = []
        self.page.on("request", self._remember_secret)
        if fake_clock:
            self.page.clock.install()
        self.page.goto(KIOSK)
        expect(self.log).to_contain_text("Xin chào! Em là Trợ lý 06")
        self.history_length = self.page.evaluate("history.length")

    def _remember_secret(self, request) -> None:
        secret = request.headers.get("x-kiosk-session")
        if secret and secret not in self.secrets:
            self.secrets.append(secret)

    @property
    def log(self):
        return self.page.locator("#log")

    def say(self, text: str) -> None:
        self.page.locator("#input").fill(text)
        self.page.keyboard.press("Enter")

    def bot_bubbles(self) -> int:
        return self.page.locator(".msg.bot").count()

    def close(self) -> None:
        self.context.close()


def sender_of(secret: str) -> str:
    return "kiosk:" + hashlib.sha256(secret.encode()).hexdigest()[:32]


def rasa_slots(sender: str) -> dict:
    tracker = requests.get(f"http://127.0.0.1:5005/conversations/{sender}/tracker",
                           params={"token": RASA_API_TOKEN}, timeout=10)
    tracker.raise_for_status()
    return tracker.json()["slots"]


def pick_citizen() -> dict:
    citizens = requests.get(f"{PORTAL}/sandbox/citizens", timeout=10).json()
    return [c for c in citizens if c["phone"] and not c["temporary_address"]
            and c["date_of_birth"] < "2000-01-01"][-1]


def assert_nothing_left(kiosk: Kiosk, *traces: str) -> None:
    page = kiosk.page
    expect(kiosk.log).to_contain_text("Xin chào! Em là Trợ lý 06")
    for trace in traces:
        expect(page.locator("body")).not_to_contain_text(trace)
    assert page.locator("#input").input_value() == ""
    assert page.evaluate("localStorage.length + sessionStorage.length") == 0
    assert kiosk.context.cookies() == []
    assert page.evaluate("history.length") == kiosk.history_length  # no entry to go back to
    assert page.url == KIOSK


def test_question_button_qr_login_and_end_of_session(system, browser):
    kiosk = Kiosk(browser)
    page = kiosk.page
    try:
        expect(page.locator("#input")).to_be_focused()  # keyboard-only: type at once

        # a question typed without diacritics, sent with Enter
        kiosk.say("dang ky tam tru can giay to gi")
        expect(page.locator(".msg.user").last).to_have_text("dang ky tam tru can giay to gi")
        expect(kiosk.log).to_contain_text("CT01", timeout=60_000)

        # text that looks like HTML stays text
        tricky = '<img src=x onerror="window.__pwned=1"><b>in đậm</b>'
        kiosk.say(tricky)
        expect(page.locator(".msg.user").last).to_have_text(tricky)
        assert page.locator("#log img, #log b").count() == 0
        assert page.evaluate("window.__pwned === undefined")
        expect(page.locator("#send")).to_be_enabled(timeout=60_000)

        # a button: the starter "Nộp hồ sơ tạm trú" opens the journey, which asks for a login
        page.get_by_role("button", name="Nộp hồ sơ tạm trú").click()
        expect(page.locator(".msg.user").last).to_have_text("Nộp hồ sơ tạm trú")
        expect(kiosk.log).to_contain_text("quét mã QR", timeout=60_000)
        qr = page.locator("#qr-image")
        expect(page.locator("#qr-panel")).to_be_visible()
        expect(qr).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))

        # the citizen approves in "VNeID" (the sandbox page the QR code points to)
        citizen = pick_citizen()
        payload = qr.get_attribute("data-payload")
        challenge = payload.rsplit("/", 1)[-1]
        approved = requests.post(f"{PORTAL}/sandbox/vneid/{challenge}/approve",
                                 data={"id_number": citizen["id_number"]}, timeout=10)
        assert approved.status_code == 200
        expect(kiosk.log).to_contain_text("đã đăng nhập", timeout=30_000)
        expect(kiosk.log).to_contain_text(citizen["full_name"])
        expect(kiosk.log).to_contain_text("địa chỉ nào")
        expect(page.locator("#qr-panel")).to_be_hidden()
        assert citizen["id_number"] not in page.locator("body").inner_text()  # masked on screen
        [secret] = kiosk.secrets
        assert rasa_slots(sender_of(secret))["portal_token"]

        # the form to the end: the summary's button submits, the receipt shows with its QR
        # code and prints
        kiosk.say("so 12 to 3 khu 5 phuong bai chay quang ninh")
        expect(kiosk.log).to_contain_text("bao lâu", timeout=60_000)
        kiosk.say("1 nam")
        expect(kiosk.log).to_contain_text("là gì của chủ hộ", timeout=60_000)
        kiosk.say("người thuê nhà")
        confirm = page.get_by_role("button", name="Xác nhận và nộp")
        expect(confirm).to_be_visible(timeout=60_000)
        confirm.click()
        receipt = page.locator(".receipt")
        expect(receipt).to_be_visible(timeout=60_000)
        expect(receipt.locator("img")).to_have_attribute("src", re.compile(r"^data:image/png;base64,"))
        expect(receipt).to_contain_text("Mã hồ sơ:")
        expect(kiosk.log).to_contain_text("7.000 đồng")
        receipt.get_by_role("button", name="In biên nhận").click()
        expect(page.locator("#print-frame")).to_have_attribute("src", re.compile(r"^blob:"))
        page.get_by_role("button", name="Kết thúc phiên").click()
        page.wait_for_url(KIOSK)
        assert_nothing_left(kiosk, "CT01", citizen["full_name"], "bai chay", "in đậm", "Mã hồ sơ")
        assert page.locator("#print-frame").get_attribute("src") is None

        # the previous conversation is out of reach: its secret is refused, and Rasa has
        # forgotten the login and the answers
        old = requests.post(KIOSK + "kiosk/api/message", json={"text": "hồ sơ của tôi"}, timeout=10,
                            headers={"X-Kiosk-Session": secret})
        assert old.status_code == 401
        slots = rasa_slots(sender_of(secret))
        assert slots["portal_token"] is None and slots["citizen"] is None and slots["field_address"] is None

        # a reload shows a blank conversation too
        page.reload()
        assert_nothing_left(kiosk, "CT01", citizen["full_name"])

        # the next citizen, in a new session, asking "hồ sơ của tôi" is not logged in as the
        # previous one
        kiosk.say("hồ sơ của tôi")
        expect(page.locator("#send")).to_be_enabled(timeout=60_000)
        expect(kiosk.log).to_contain_text("đăng nhập")
        expect(kiosk.log).not_to_contain_text(citizen["full_name"])
        assert len(kiosk.secrets) == 2 and kiosk.secrets[1] != secret
    finally:
        kiosk.close()


def test_inactivity_warns_then_ends_the_session(system, browser):
    kiosk = Kiosk(browser, fake_clock=True)
    page = kiosk.page
    try:
        kiosk.say("cấp đổi thẻ căn cước mất bao nhiêu tiền")
        expect(page.locator(".msg.bot")).to_have_count(2, timeout=60_000)
        page.clock.run_for("02:31")  # 3 minutes of idleness, less the 30-second warning
        expect(page.get_by_role("alertdialog")).to_be_visible()
        expect(page.locator("#keep-going")).to_be_focused()
        page.keyboard.press("Enter")  # "Tôi vẫn đang dùng", from the keyboard
        expect(page.get_by_role("alertdialog")).to_be_hidden()
        page.clock.run_for("02:31")
        expect(page.get_by_role("alertdialog")).to_be_visible()
        page.clock.run_for("00:31")
        page.wait_for_url(KIOSK)
        expect(page.locator("#notice")).to_contain_text("tự kết thúc")
        assert_nothing_left(kiosk, "căn cước mất bao nhiêu")
        old = requests.post(KIOSK + "kiosk/api/ping", timeout=10,
                            headers={"X-Kiosk-Session": kiosk.secrets[0]})
        assert old.status_code == 401
    finally:
        kiosk.close()
