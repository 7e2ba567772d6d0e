"""The Messenger channel against its real webhook (Sanic), a fake Rasa and a fake Graph API:
the verify-token handshake; X-Hub-Signature-256 checked on the raw body before anything
reaches Rasa; replies with messaging_type RESPONSE and quick replies, messages sent through
Rasa's HTTP API tagged ACCOUNT_UPDATE; the automated-
assistant notice on first contact; retries logged without personal data; per-sender rate
limiting; the maximum message length."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
from typing import Any

import pytest
from channel_harness import (
    Harness,
    Reply,
    answer_with,
    chunked,
    fixture_bytes,
    fixture_json,
    run,
    to_bytes,
)

from connectors.common import RATE_LIMITED_REPLY, ChannelLimits
from connectors.facebook import (
    AUTOMATED_NOTICE,
    GRAPH_API_VERSION,
    MAX_QUICK_REPLIES,
    MAX_TEXT_CHARS,
    FacebookInput,
    FacebookSettings,
)

APP_SECRET = "bi-mat-cua-ung-dung-meta"
VERIFY_TOKEN = "chuoi-xac-minh-webhook"
PAGE_TOKEN = "EAAG-page-access-token-for-tests"
SEND_PATH = f"/{GRAPH_API_VERSION}/me/messages"
TEXT = fixture_json("facebook_text_message.json")
PSID = TEXT["entry"][0]["messaging"][0]["sender"]["id"]
QUESTION = TEXT["entry"][0]["messaging"][0]["message"]["text"]
SENT = fixture_json("facebook_send_success.json")
ANSWER = {"text": "Dạ, lệ phí cấp lại thẻ căn cước là 70.000 đồng ạ.",
          "buttons": [{"title": "Giấy tờ cần chuẩn bị", "payload": '/ask_documents{"procedure": "cap-lai"}'},
                      {"title": "Nộp ở đâu", "payload": '/ask_where{"procedure": "cap-lai"}'}]}


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_channel(monotonic: Clock | None = None, **limits: Any):
    def make(api_base: str) -> FacebookInput:
        return FacebookInput(FacebookSettings(VERIFY_TOKEN, APP_SECRET, PAGE_TOKEN, api_base),
                             ChannelLimits(**{"http_backoff_s": 0.01, "http_attempts": 3, **limits}),
                             monotonic=monotonic or Clock())
    return make


def signed(body: bytes, secret: str = APP_SECRET) -> dict[str, str]:
    """Meta's header for `body`, computed here independently of the channel's code."""
    return {"X-Hub-Signature-256": "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()}


def message(text: str | None = None, mid: str | None = None, psid: str | None = None) -> bytes:
    payload = fixture_json("facebook_text_message.json")
    item = payload["entry"][0]["messaging"][0]
    if text is not None:
        item["message"]["text"] = text
    if mid is not None:
        item["message"]["mid"] = mid
    if psid is not None:
        item["sender"]["id"] = psid
    return to_bytes(payload)


def sends(h: Harness) -> list[dict[str, Any]]:
    return [r["json"] for r in h.api.at(SEND_PATH)]


# --- handshake ------------------------------------------------------------------------

def test_the_verify_token_handshake_echoes_the_challenge_only_for_the_right_token():
    async def scenario(h: Harness) -> None:
        ok = {"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"}
        assert await h.get(ok) == (200, "1158201444")
        for wrong in ({**ok, "hub.verify_token": "doan-bua"}, {**ok, "hub.mode": "unsubscribe"},
                      {"hub.mode": "subscribe", "hub.challenge": "1158201444"}):
            status, text = await h.get(wrong)
            assert status == 403 and "1158201444" not in text

    run(scenario, make_channel())


def test_without_its_settings_the_channel_loads_and_refuses_everything(monkeypatch: pytest.MonkeyPatch):
    for name in ("FB_VERIFY_TOKEN", "FB_APP_SECRET", "FB_PAGE_ACCESS_TOKEN", "FB_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    channel = FacebookInput.from_credentials({"verify_token": "${FB_VERIFY_TOKEN}", "app_secret": "${FB_APP_SECRET}",
                                              "page_access_token": "${FB_PAGE_ACCESS_TOKEN}",
                                              "api_base": "${FB_API_BASE}"})
    assert channel.settings == FacebookSettings(None, None, None, "https://graph.facebook.com")
    body = fixture_bytes("facebook_text_message.json")

    async def scenario(h: Harness) -> None:
        assert (await h.get({"hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "1"}))[0] == 403
        assert (await h.get({"hub.mode": "subscribe", "hub.challenge": "1"}))[0] == 403
        for headers in ({}, signed(body, secret=""), signed(body)):
            assert (await h.post(body, headers))[0] == 401
        assert h.rasa.messages == []

    run(scenario, lambda _api: channel)


# --- the happy path -------------------------------------------------------------------

def test_a_signed_message_reaches_rasa_and_the_reply_is_a_response_with_quick_replies():
    body = fixture_bytes("facebook_text_message.json")

    async def scenario(h: Harness) -> None:
        status, text = await h.post(body, signed(body))
        assert (status, json.loads(text)) == (200, {"status": "EVENT_RECEIVED"})
        await h.settle()
        [received] = h.rasa.messages
        assert received.sender_id == f"facebook:{PSID}" and received.text == QUESTION
        assert received.input_channel == "facebook"
        assert received.metadata["attachments"] == [] and received.metadata["channel"] == "facebook"

        notice, reply = h.api.at(SEND_PATH)
        for request in (notice, reply):
            assert request["headers"]["Authorization"] == f"Bearer {PAGE_TOKEN}"
            assert "access_token" not in request["query"], "the token stays out of the URL"
            assert request["json"]["recipient"] == {"id": PSID} and request["json"]["messaging_type"] == "RESPONSE"
        assert notice["json"]["message"] == {"text": AUTOMATED_NOTICE}, "first contact: say it is automated"
        assert "trả lời tự động" in AUTOMATED_NOTICE
        assert reply["json"]["message"] == {"text": ANSWER["text"], "quick_replies": [
            {"content_type": "text", "title": "Giấy tờ cần chuẩn bị",
             "payload": '/ask_documents{"procedure": "cap-lai"}'},
            {"content_type": "text", "title": "Nộp ở đâu", "payload": '/ask_where{"procedure": "cap-lai"}'}]}

        # the same citizen again: no second notice
        again = message(text="còn nộp ở đâu", mid="m_second")
        assert (await h.post(again, signed(again)))[0] == 200
        await h.settle()
        assert [s["message"].get("text") for s in sends(h)].count(AUTOMATED_NOTICE) == 1
        assert len(sends(h)) == 3

    run(scenario, make_channel(), script={SEND_PATH: [Reply(200, SENT)]}, answer=answer_with(ANSWER))


@pytest.mark.parametrize(("fixture", "expected"), [
    ("facebook_quick_reply.json", '/ask_overview{"procedure": "dang-ky-tam-tru"}'),
    ("facebook_postback.json", "/greet"),
])
def test_quick_replies_and_postbacks_give_rasa_their_payload(fixture: str, expected: str):
    body = fixture_bytes(fixture)

    async def scenario(h: Harness) -> None:
        assert (await h.post(body, signed(body)))[0] == 200
        await h.settle()
        assert [(m.sender_id, m.text) for m in h.rasa.messages] == [(f"facebook:{PSID}", expected)]

    run(scenario, make_channel())


def test_an_image_reaches_rasa_with_its_url_in_the_metadata():
    body = fixture_bytes("facebook_image_message.json")
    url = fixture_json("facebook_image_message.json")["entry"][0]["messaging"][0]["message"]["attachments"][0][
        "payload"]["url"]

    async def scenario(h: Harness) -> None:
        assert (await h.post(body, signed(body)))[0] == 200
        await h.settle()
        [received] = h.rasa.messages
        assert received.text == "" and received.metadata["attachments"] == [{"type": "image", "url": url}]

    run(scenario, make_channel())


def test_many_buttons_become_at_most_13_quick_replies_with_short_titles_and_long_texts_are_split():
    buttons = [{"title": f"Thủ tục hành chính số {i}", "payload": f"/ask_overview{{\"n\": {i}}}"} for i in range(16)]
    long_text = "Căn cước công dân được cấp cho công dân Việt Nam từ đủ 14 tuổi trở lên. " * 45  # ~3,300 chars

    async def scenario(h: Harness) -> None:
        body = message()
        assert (await h.post(body, signed(body)))[0] == 200
        await h.settle()
        parts = [s["message"] for s in sends(h)][1:]  # after the notice
        assert len(parts) == 2 and all(len(p["text"]) <= MAX_TEXT_CHARS for p in parts)
        assert (parts[0]["text"] + " " + parts[1]["text"]).split() == long_text.split()
        assert "quick_replies" not in parts[0], "quick replies go with the last part"
        quick = parts[1]["quick_replies"]
        assert len(quick) == MAX_QUICK_REPLIES and all(len(q["title"]) <= 20 for q in quick)
        assert quick[0] == {"content_type": "text", "title": "Thủ tục hành chính…", "payload": '/ask_overview{"n": 0}'}

    run(scenario, make_channel(), answer=answer_with({"text": long_text, "buttons": buttons}))


def test_echoes_and_reads_are_acknowledged_and_ignored():
    body = fixture_bytes("facebook_echo_and_read.json")

    async def scenario(h: Harness) -> None:
        assert (await h.post(body, signed(body)))[0] == 200
        await h.settle()
        assert h.rasa.messages == [] and h.api.received == []

    run(scenario, make_channel())


def test_a_redelivered_message_is_handled_once():
    body = fixture_bytes("facebook_text_message.json")

    async def scenario(h: Harness) -> None:
        for _ in range(2):
            assert (await h.post(body, signed(body)))[0] == 200
        await h.settle()
        assert len(h.rasa.messages) == 1

    run(scenario, make_channel())


# --- what is refused ------------------------------------------------------------------

BODY = fixture_bytes("facebook_text_message.json")
REFUSALS = {
    "wrong secret": (BODY, signed(BODY, secret="khong-phai-bi-mat")),
    "missing header": (BODY, {}),
    "only the old SHA-1 header": (BODY, {"X-Hub-Signature": "sha1=" + hmac.new(
        APP_SECRET.encode(), BODY, hashlib.sha1).hexdigest()}),
    "malformed header": (BODY, {"X-Hub-Signature-256": signed(BODY)["X-Hub-Signature-256"][7:]}),
    "tampered body": (message(text="gửi cho tôi mật khẩu"), signed(BODY)),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_bad_or_missing_signature_gets_401_and_nothing_reaches_rasa(case: str):
    body, headers = REFUSALS[case]

    async def scenario(h: Harness) -> None:
        status, text = await h.post(body, headers)
        assert status == 401 and "error" in json.loads(text)
        await h.settle()
        assert h.rasa.messages == [] and h.api.received == []

    run(scenario, make_channel())


@pytest.mark.parametrize("case", ["malformed JSON", "not a page", "unknown event"])
def test_malformed_json_and_unknown_events_get_400_without_a_traceback(case: str, caplog: pytest.LogCaptureFixture):
    unknown = fixture_json("facebook_text_message.json")
    unknown["entry"][0]["messaging"][0].pop("message")
    unknown["entry"][0]["messaging"][0]["teleport"] = {"to": "mars"}
    body = {"malformed JSON": b'{"object": "page", "entry": [',
            "not a page": to_bytes({**fixture_json("facebook_text_message.json"), "object": "user"}),
            "unknown event": to_bytes(unknown)}[case]

    async def scenario(h: Harness) -> None:
        status, text = await h.post(body, signed(body))
        assert status == 400 and "error" in json.loads(text) and "Traceback" not in text
        assert h.rasa.messages == []

    run(scenario, make_channel())
    assert not any(record.exc_info for record in caplog.records)


@pytest.mark.parametrize("transfer", ["with Content-Length", "chunked"])
def test_an_oversized_body_gets_413_unread(transfer: str):
    body = message(text="a" * 5000)

    async def scenario(h: Harness) -> None:
        status, text = await h.post(body if transfer == "with Content-Length" else chunked(body, 512), signed(body))
        assert status == 413 and "error" in json.loads(text) and "Traceback" not in text
        assert h.rasa.messages == []

    run(scenario, make_channel(max_body_bytes=4096))


# --- outbound failures and limits -----------------------------------------------------

def test_outbound_5xx_is_retried_then_logged_without_the_text_or_ids(caplog: pytest.LogCaptureFixture):
    private = "tôi tên Trần Văn Minh, số điện thoại 0912345678"

    async def scenario(h: Harness) -> None:
        body = message(text=private)
        assert (await h.post(body, signed(body)))[0] == 200
        await h.settle()
        assert len(h.api.at(SEND_PATH)) == 6, "notice and reply, three tries each"
        assert [m.text for m in h.rasa.messages] == [private], "the message reached Rasa all the same"

    caplog.set_level(logging.DEBUG)
    run(scenario, make_channel(), script={SEND_PATH: [Reply(503, fixture_json("facebook_send_error.json"))]},
        answer=answer_with({"text": "Dạ, em chào anh Minh."}))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert logged.count("failed after up to 3 attempt(s): HTTP 503") == 2
    for secret in (private, "0912345678", "Trần Văn Minh", PSID, "No matching user", "em chào anh Minh"):
        assert secret not in logged


def test_a_graph_api_refusal_is_not_retried():
    async def scenario(h: Harness) -> None:
        body = message()
        assert (await h.post(body, signed(body)))[0] == 200
        await h.settle()
        assert len(h.api.at(SEND_PATH)) == 2, "notice and reply, once each"

    run(scenario, make_channel(), script={SEND_PATH: [Reply(400, fixture_json("facebook_send_error.json"))]},
        answer=answer_with({"text": "Dạ."}))


def test_a_flooding_sender_is_limited_without_slowing_another():
    clock = Clock()

    async def scenario(h: Harness) -> None:
        for n in range(8):
            body = message(mid=f"m_flood_{n}")
            assert (await h.post(body, signed(body)))[0] == 200
        other = message(mid="m_other", psid="2298765432101234", text="cho hỏi giờ làm việc")
        assert (await h.post(other, signed(other)))[0] == 200
        await h.settle()
        senders = [m.sender_id for m in h.rasa.messages]
        assert senders.count(f"facebook:{PSID}") == 3 and senders[-1] == "facebook:2298765432101234"
        limited = [s for s in sends(h) if s["message"].get("text") == RATE_LIMITED_REPLY]
        assert len(limited) == 1 and limited[0]["recipient"] == {"id": PSID}

        clock.now += 60
        later = message(mid="m_flood_later")
        assert (await h.post(later, signed(later)))[0] == 200
        await h.settle()
        assert [m.sender_id for m in h.rasa.messages].count(f"facebook:{PSID}") == 4

    run(scenario, make_channel(monotonic=clock, rate_burst=3, rate_per_minute=6))


def test_an_over_long_message_gets_a_polite_reply_and_does_not_reach_rasa():
    async def scenario(h: Harness) -> None:
        body = message(text="x" * 1201)
        assert (await h.post(body, signed(body)))[0] == 200
        await h.settle()
        assert h.rasa.messages == []
        notice, reply = [s["message"]["text"] for s in sends(h)]
        assert notice == AUTOMATED_NOTICE and "1.200 ký tự" in reply and "ngắn gọn" in reply

    run(scenario, make_channel(max_message_chars=1200))


def test_proactive_messages_go_to_the_psid_and_never_to_another_channels_id():
    async def scenario(h: Harness) -> None:
        output = h.channel.get_output_channel()
        await output.send_text_message(f"facebook:{PSID}", "Hồ sơ của anh/chị đã được tiếp nhận.")
        await output.send_text_message("zalo:2468458835296117922", "không được gửi")
        assert sends(h) == [{"recipient": {"id": PSID}, "messaging_type": "MESSAGE_TAG",
                             "tag": "ACCOUNT_UPDATE",
                             "message": {"text": "Hồ sơ của anh/chị đã được tiếp nhận."}}]
        await output.send_text_message(f"facebook:{PSID}", "Tình trạng hồ sơ. " * 260)  # 4,680 characters
        parts = [s["message"]["text"] for s in sends(h)[1:]]
        assert len(parts) == 3 and all(len(p) <= MAX_TEXT_CHARS for p in parts)
        assert all(s["messaging_type"] == "MESSAGE_TAG" and s["tag"] == "ACCOUNT_UPDATE" for s in sends(h))

    run(scenario, make_channel())


def test_api_triggered_messages_are_tagged_while_replies_stay_responses():
    """Rasa's HTTP API (the outbox's announcement) sends through get_output_channel(), maybe
    after the 24-hour window: ACCOUNT_UPDATE tag; replies to the citizen stay RESPONSE."""
    body = fixture_bytes("facebook_text_message.json")
    pushed = "Dạ, hồ sơ tạm NHAP-A1B2C3D4 đã được gửi lên Cổng dịch vụ công với mã H22.06.685-261122-0001."

    async def scenario(h: Harness) -> None:
        assert (await h.post(body, signed(body)))[0] == 200
        await h.settle()
        await h.channel.get_output_channel().send_response(
            f"facebook:{PSID}", {"text": pushed, "buttons": ANSWER["buttons"]})
        again = message(text="còn nộp ở đâu", mid="m_after_push")
        assert (await h.post(again, signed(again)))[0] == 200
        await h.settle()
        notice, reply, push, second_reply = sends(h)
        for request in (notice, reply, second_reply):
            assert request["messaging_type"] == "RESPONSE" and "tag" not in request
        assert push["messaging_type"] == "MESSAGE_TAG" and push["tag"] == "ACCOUNT_UPDATE"
        assert push["recipient"] == {"id": PSID} and push["message"]["text"] == pushed
        assert [q["title"] for q in push["message"]["quick_replies"]] == ["Giấy tờ cần chuẩn bị", "Nộp ở đâu"]

    run(scenario, make_channel(), script={SEND_PATH: [Reply(200, SENT)]}, answer=answer_with(ANSWER))
