"""The kiosk's JSON API and page, with Rasa and the portal replaced by fakes that record
what reaches them: sessions, messages and their limits, the end of a session, the
inactivity timeout, the VNeID QR login, and what of the bot's answer reaches the page."""
from __future__ import annotations

import base64
import json
from dataclasses import replace
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from assistant.clients.portal import CitizenRef, Login, PortalUnavailable, QrLogin, QrStatus
from assistant.settings import load_settings
from services.kiosk.bot import RasaBot
from services.kiosk.routes import Kiosk, install
from services.kiosk.sessions import SessionStore, sender_id

PDF = base64.b64encode(b"%PDF-1.4 receipt").decode()
PNG = base64.b64encode(b"\x89PNG\r\n\x1a\n qr").decode()


class FakeRasa:
    """Rasa's kiosk webhook and HTTP API as the kiosk app sees them."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        self.restarted: list[str] = []
        self.down = False
        self.reply: list[dict] = [{"recipient_id": "x", "text": "Dạ, cần tờ khai CT01."}]

    def handler(self, request: httpx.Request) -> httpx.Response:
        if self.down:
            raise httpx.ConnectError("refused")
        if request.url.path == "/webhooks/kiosk/webhook":
            self.received.append(json.loads(request.content))
            return httpx.Response(200, json=self.reply)
        if request.url.path.endswith("/tracker/events"):
            assert request.url.params.get("token") == "rasa-token"
            assert json.loads(request.content) == {"event": "restart"}
            self.restarted.append(request.url.path.split("/")[2])
            return httpx.Response(200, json={})
        return httpx.Response(404)


class FakePortal:
    def __init__(self) -> None:
        self.status = "pending"
        self.down = False
        self.polled: list[str] = []

    async def start_qr_login(self) -> QrLogin:
        if self.down:
            raise PortalUnavailable("down")
        return QrLogin("qr-secret-1", "http://127.0.0.1:8100/sandbox/vneid/abc",
                       datetime.now(timezone.utc) + timedelta(minutes=3))

    async def poll_qr_login(self, session_id: str) -> QrStatus:
        self.polled.append(session_id)
        if self.status != "approved":
            return QrStatus(self.status, None)
        self.status = "collected"
        return QrStatus("approved", Login("citizen-token", datetime(2026, 11, 22, 3, 15, tzinfo=timezone.utc),
                                          CitizenRef("Nguyễn Văn An", "0220********")))


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture()
def world():
    rasa, portal, clock = FakeRasa(), FakePortal(), Clock()
    settings = replace(load_settings(), kiosk_idle_s=180, kiosk_warning_s=30, max_message_chars=1000,
                       rasa_api_token="rasa-token", rasa_url="http://rasa.test")
    kiosk = Kiosk(settings, SessionStore(settings.kiosk_idle_s, 3, clock=clock),
                  RasaBot(settings.rasa_url, "rasa-token", transport=httpx.MockTransport(rasa.handler)),
                  lambda: portal)
    app = FastAPI()
    install(app)
    app.state.kiosk = kiosk
    with TestClient(app) as client:
        yield client, rasa, portal, clock, kiosk


def open_session(client: TestClient) -> dict[str, str]:
    response = client.post("/kiosk/api/session")
    assert response.status_code == 201
    body = response.json()
    assert body["idle_s"] == 180 and body["warning_s"] == 30 and body["max_chars"] == 1000
    return {"X-Kiosk-Session": body["session"]}


def test_a_message_reaches_rasa_under_a_kiosk_sender_derived_from_the_secret(world):
    client, rasa, *_ = world
    headers = open_session(client)
    response = client.post("/kiosk/api/message", json={"text": "  dk tam tru can gi  "}, headers=headers)
    assert response.status_code == 200
    assert response.json() == {"delivered": True, "messages": [{"text": "Dạ, cần tờ khai CT01."}]}
    sent = rasa.received[0]
    assert sent["message"] == "dk tam tru can gi"
    assert sent["sender"] == sender_id(headers["X-Kiosk-Session"])
    assert sent["sender"].startswith("kiosk:") and headers["X-Kiosk-Session"] not in sent["sender"]
    assert response.headers["Cache-Control"] == "no-store"


def test_two_sessions_are_two_conversations(world):
    client, rasa, *_ = world
    first, second = open_session(client), open_session(client)
    client.post("/kiosk/api/message", json={"text": "a"}, headers=first)
    client.post("/kiosk/api/message", json={"text": "b"}, headers=second)
    assert rasa.received[0]["sender"] != rasa.received[1]["sender"]


@pytest.mark.parametrize("headers", [{}, {"X-Kiosk-Session": "made-up"}])
def test_no_message_without_an_open_session(world, headers):
    client, rasa, *_ = world
    response = client.post("/kiosk/api/message", json={"text": "xin chào"}, headers=headers)
    assert response.status_code == 401 and "Phiên làm việc đã kết thúc" in response.json()["detail"]
    assert rasa.received == []


def test_empty_and_oversized_messages_are_refused_politely_and_not_sent(world):
    client, rasa, *_ = world
    headers = open_session(client)
    empty = client.post("/kiosk/api/message", json={"text": "   "}, headers=headers)
    assert empty.status_code == 422 and "trống" in empty.json()["detail"]
    long = client.post("/kiosk/api/message", json={"text": "a" * 1001}, headers=headers)
    assert long.status_code == 200 and long.json()["delivered"] is False
    reply = long.json()["messages"][0]["text"]
    assert "1001 ký tự" in reply and "ô nhập" in reply
    assert rasa.received == []


def test_rasa_down_gives_a_vietnamese_503_and_the_session_goes_on(world):
    client, rasa, *_ = world
    headers = open_session(client)
    rasa.down = True
    response = client.post("/kiosk/api/message", json={"text": "xin chào"}, headers=headers)
    assert response.status_code == 503 and "tạm gián đoạn" in response.json()["detail"]
    rasa.down = False
    assert client.post("/kiosk/api/message", json={"text": "xin chào"}, headers=headers).status_code == 200


def test_a_flood_from_one_session_is_slowed_without_touching_another(world):
    client, rasa, *_ = world
    flooding, calm = open_session(client), open_session(client)
    codes = [client.post("/kiosk/api/message", json={"text": f"m{i}"}, headers=flooding).status_code
             for i in range(25)]
    assert codes[:20] == [200] * 20 and set(codes[20:]) == {429}
    assert client.post("/kiosk/api/message", json={"text": "chào"}, headers=calm).status_code == 200
    assert len(rasa.received) == 21


def test_ending_a_session_restarts_its_conversation_and_forgets_the_secret(world):
    client, rasa, *_ = world
    headers = open_session(client)
    client.post("/kiosk/api/message", json={"text": "xin chào"}, headers=headers)
    end = client.post("/kiosk/api/end", headers=headers)
    assert end.status_code == 200
    assert end.headers["Clear-Site-Data"] == '"cache", "cookies", "storage"'
    assert rasa.restarted == [sender_id(headers["X-Kiosk-Session"])]
    after = client.post("/kiosk/api/message", json={"text": "tôi là ai"}, headers=headers)
    assert after.status_code == 401 and len(rasa.received) == 1
    # ending twice (a double click, the timeout racing the button) is harmless
    assert client.post("/kiosk/api/end", headers=headers).status_code == 200 and len(rasa.restarted) == 1


def test_an_idle_session_is_refused_and_its_conversation_ended_by_the_sweep(world):
    client, rasa, _, clock, kiosk = world
    headers = open_session(client)
    clock.now += 180 + 16
    late = client.post("/kiosk/api/message", json={"text": "còn đó không"}, headers=headers)
    assert late.status_code == 401
    for session in kiosk.sessions.sweep():  # what the app's sweeper does every 15 s
        client.portal.call(kiosk.bot.end, session.sender)
    assert rasa.restarted == [sender_id(headers["X-Kiosk-Session"])]


def test_a_ping_keeps_a_session_alive(world):
    client, _, _, clock, _ = world
    headers = open_session(client)
    for _ in range(3):
        clock.now += 150
        assert client.post("/kiosk/api/ping", headers=headers).status_code == 200
    assert client.post("/kiosk/api/message", json={"text": "chào"}, headers=headers).status_code == 200


def test_the_oldest_session_is_dropped_when_the_store_is_full(world):
    client, _, _, _, kiosk = world
    first = open_session(client)
    for _ in range(3):
        open_session(client)
    assert client.post("/kiosk/api/ping", headers=first).status_code == 401
    assert [s.secret for s in kiosk.sessions.sweep()] == [first["X-Kiosk-Session"]]


def test_vneid_qr_login_hands_the_token_to_the_conversation_once(world):
    client, rasa, portal, *_ = world
    headers = open_session(client)
    start = client.post("/kiosk/api/qr-login", headers=headers)
    assert start.status_code == 200
    assert start.json()["image"].startswith("data:image/png;base64,")
    assert start.json()["payload"].endswith("/sandbox/vneid/abc")
    assert "qr-secret-1" not in start.text  # the polling secret stays on the server
    assert client.get("/kiosk/api/qr-login", headers=headers).json() == {"status": "pending", "messages": []}
    portal.status = "approved"
    rasa.reply = [{"recipient_id": "x", "text": "Dạ, anh/chị đã đăng nhập: Nguyễn Văn An"}]
    approved = client.get("/kiosk/api/qr-login", headers=headers).json()
    assert approved["status"] == "approved" and "đã đăng nhập" in approved["messages"][0]["text"]
    assert "citizen-token" not in json.dumps(approved)  # the token never reaches the page
    sent = rasa.received[-1]
    assert sent["message"] == "/login"
    assert sent["metadata"]["portal_login"]["token"] == "citizen-token"
    assert client.get("/kiosk/api/qr-login", headers=headers).json()["status"] == "none"
    assert portal.polled == ["qr-secret-1", "qr-secret-1"]


def test_an_expired_qr_code_says_so_and_a_portal_outage_offers_the_otp(world):
    client, _, portal, *_ = world
    headers = open_session(client)
    client.post("/kiosk/api/qr-login", headers=headers)
    portal.status = "expired"
    assert client.get("/kiosk/api/qr-login", headers=headers).json()["status"] == "expired"
    portal.down = True
    down = client.post("/kiosk/api/qr-login", headers=headers)
    assert down.status_code == 503 and "số định danh" in down.json()["detail"]


def test_only_text_buttons_a_checked_receipt_and_the_login_offer_reach_the_page(world):
    client, rasa, *_ = world
    headers = open_session(client)
    rasa.reply = [
        {"recipient_id": "x", "text": "<b>Chọn</b>", "buttons": [{"title": "Có", "payload": "/affirm"},
                                                               {"title": 3, "payload": "/x"}]},
        {"recipient_id": "x", "image": "https://tracker.example/pixel.png"},
        {"recipient_id": "x", "custom": {"receipt": {"pdf_base64": PDF, "qr_png_base64": PNG,
                                                     "dossier_code": "G22.99-261122-0001"}}},
        {"recipient_id": "x", "custom": {"receipt": {"pdf_base64": PNG, "qr_png_base64": PNG}}},
        {"recipient_id": "x", "custom": {"html": "<script>alert(1)</script>"}},
        {"recipient_id": "x", "custom": {"login_options": ["vneid_qr", "otp"]}},
    ]
    messages = client.post("/kiosk/api/message", json={"text": "nộp"}, headers=headers).json()["messages"]
    assert messages == [
        {"text": "<b>Chọn</b>", "buttons": [{"title": "Có", "payload": "/affirm"}]},
        {"receipt": {"pdf_base64": PDF, "qr_png_base64": PNG, "dossier_code": "G22.99-261122-0001"}},
        {"login_qr": True},
    ]


def test_the_page_and_its_assets_come_from_this_origin_only(world):
    client, *_ = world
    index = client.get("/")
    assert index.status_code == 200 and "Kết thúc phiên" in index.text
    csp = index.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "script-src 'self'" in csp and "unsafe-inline" not in csp
    assert index.headers["Cache-Control"] == "no-store"
    assert "http://" not in index.text and "https://" not in index.text  # no CDN, no external font
    script = client.get("/kiosk/static/kiosk.js")
    assert script.status_code == 200
    assert "innerHTML" not in script.text and "localStorage.setItem" not in script.text
    css = client.get("/kiosk/static/kiosk.css").text
    assert "url(" not in css and "@import" not in css
    assert client.get("/kiosk/static/..%2Froutes.py").status_code == 404
    assert client.get("/kiosk/static/index.html").status_code == 404
