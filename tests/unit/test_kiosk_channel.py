"""The kiosk's Rasa channel (connectors/kiosk.py) and the VNeID QR login as the actions see
it: the token arrives in the metadata of a kiosk message and is checked with the portal."""
from __future__ import annotations

import asyncio
import json
from datetime import date, datetime, timezone
from typing import Any

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

import actions.journey_actions as journey_actions
from assistant.clients.portal import Address, CitizenProfile, PortalAuthError
from connectors.kiosk import KioskInput
from tests.unit.channel_harness import Harness, answer_with, run


class TestableKiosk(KioskInput):
    async def wait_idle(self, timeout_s: float = 10.0) -> None:
        """The kiosk answers within the request: nothing runs after it."""


def post(body: Any) -> tuple[int, Any, list]:
    async def scenario(h: Harness) -> tuple[int, Any, list]:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        status, text = await h.post(raw)
        return status, json.loads(text), h.rasa.messages

    return run(scenario, lambda _: TestableKiosk(),
               answer=answer_with({"text": "Dạ, chào anh/chị.",
                                   "buttons": [{"title": "Có", "payload": "/affirm"}]}))


def test_a_kiosk_message_is_answered_in_the_response_with_its_metadata():
    status, body, messages = post({"sender": "kiosk:abc", "message": "xin chào",
                                   "input_channel": "zalo", "metadata": {"portal_login": {"token": "t"}}})
    assert status == 200
    assert body[0]["text"] == "Dạ, chào anh/chị." and body[0]["buttons"][0]["payload"] == "/affirm"
    [message] = messages
    assert (message.sender_id, message.text, message.input_channel) == ("kiosk:abc", "xin chào", "kiosk")
    assert message.metadata == {"portal_login": {"token": "t"}}


@pytest.mark.parametrize("body", [
    {"sender": "default", "message": "x"},         # Rasa's shared default conversation
    {"sender": "zalo:123", "message": "x"},        # another channel's conversation
    {"sender": "kiosk:", "message": "x"},
    {"sender": "kiosk:" + "a" * 200, "message": "x"},
    {"message": "x"},
    {"sender": "kiosk:abc", "message": "   "},
    {"sender": "kiosk:abc", "message": 5},
    ["not", "an", "object"],
    b"{not json",
])
def test_anything_but_a_kiosk_sender_with_text_is_refused_before_rasa(body):
    status, answer, messages = post(body)
    assert status == 400 and "error" in answer
    assert messages == []


def tracker(channel: str, metadata: dict[str, Any] | None, slots: dict[str, Any] | None = None) -> Tracker:
    latest = {"text": "/login", "intent": {"name": "login", "confidence": 1.0}, "entities": [],
              "metadata": metadata or {}}
    return Tracker("kiosk:abc", slots or {}, latest,
                   [{"event": "user", "text": "/login", "input_channel": channel, "parse_data": latest}],
                   False, None, {}, "action_listen")


LOGIN = {"portal_login": {"token": "tok-1", "expires_at": "2026-11-22T10:15:00+07:00"}}


def test_the_qr_login_is_read_only_from_kiosk_messages():
    token, expires = journey_actions.qr_login(tracker("kiosk", LOGIN))
    assert token == "tok-1" and expires == datetime(2026, 11, 22, 3, 15, tzinfo=timezone.utc)
    assert journey_actions.qr_login(tracker("rest", LOGIN)) is None
    assert journey_actions.qr_login(tracker("kiosk", {"portal_login": {"token": 5}})) is None
    assert journey_actions.qr_login(tracker("kiosk", {"portal_login": {"token": "t",
                                                                      "expires_at": "soon"}})) is None
    assert journey_actions.qr_login(tracker("kiosk", None)) is None


class FakePortal:
    def __init__(self, valid: bool) -> None:
        self.valid = valid
        self.tokens: list[str] = []

    async def me(self, token: str) -> CitizenProfile:
        self.tokens.append(token)
        if not self.valid:
            raise PortalAuthError("Phiên đăng nhập không hợp lệ.", 401)
        home = Address("Số 3", 22101, "Phường Hồng Gai", "Quảng Ninh", "Số 3, Phường Hồng Gai, Quảng Ninh")
        return CitizenProfile("022095001234", "Nguyễn Văn An", date(1995, 3, 4), "nam", "0912345678",
                              "HK1", "chủ hộ", "Nguyễn Văn An", "022095001234", home, None)


def validate(portal: FakePortal, requested: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    t = tracker("kiosk", LOGIN, {"requested_slot": requested, "journey": "dang-ky-tam-tru",
                                 "login_id_number": "/login"})
    dispatcher = CollectingDispatcher()
    original = journey_actions._portal
    journey_actions._portal = lambda: portal
    try:
        events = asyncio.run(journey_actions.ValidateJourneyForm()._answer(requested, dispatcher, t, {}))
    finally:
        journey_actions._portal = original
    return events, dispatcher.messages


@pytest.mark.parametrize("requested", ["login_id_number", "login_otp"])
def test_an_approved_qr_login_logs_the_citizen_in_once_the_portal_knows_the_token(requested):
    portal = FakePortal(valid=True)
    updates, messages = validate(portal, requested)
    assert portal.tokens == ["tok-1"]
    assert updates["portal_token"] == "tok-1"
    expires = datetime.fromisoformat(updates["portal_token_expires"])
    assert expires == datetime(2026, 11, 22, 3, 15, tzinfo=timezone.utc)
    assert updates["citizen"]["full_name"] == "Nguyễn Văn An" and updates["login_id_number"] is None
    assert "đã đăng nhập" in messages[0]["text"] and "10:15" in messages[0]["text"]  # Vietnam time
    assert "022095001234" not in messages[0]["text"]


def test_a_token_the_portal_refuses_logs_no_one_in():
    updates, messages = validate(FakePortal(valid=False), "login_id_number")
    assert updates == {"login_id_number": None}
    assert "QR" in messages[0]["text"] and "số định danh" in messages[0]["text"]
