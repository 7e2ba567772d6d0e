"""The Zalo OA channel against its real webhook (Sanic), a fake Rasa and a fake Zalo API:
signature, freshness and app id checked before anything reaches Rasa; replies quoting the
citizen's message with `oa.query.show` buttons; token refresh on -216; retries that are
logged without personal data; per-sender rate limiting; the maximum message length."""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import stat
import time
from dataclasses import replace
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
from connectors.zalo import (
    MAX_BUTTONS,
    MAX_TEXT_CHARS,
    MESSAGE_PATH,
    TOKEN_PATH,
    ZaloInput,
    ZaloSettings,
)

TEXT_EVENT = fixture_json("zalo_user_send_text.json")
APP_ID = TEXT_EVENT["app_id"]
USER_ID = TEXT_EVENT["sender"]["id"]
QUESTION = TEXT_EVENT["message"]["text"]
NOW_S = int(TEXT_EVENT["timestamp"]) / 1000 + 2  # the channel's clock: two seconds after the event
OA_SECRET = "khoa-bi-mat-cua-oa-dung-cho-test"
APP_SECRET = "khoa-bi-mat-cua-ung-dung"
OLD_TOKEN, OLD_REFRESH = "access-token-cu", "refresh-token-cu"
REFRESHED = fixture_json("zalo_oauth_refresh.json")
OK = fixture_json("zalo_cs_success.json")
EXPIRED = fixture_json("zalo_cs_token_invalid.json")
GREETING = {"text": "Dạ, em là Trợ lý 06. Anh/chị cần hỏi thủ tục nào ạ?",
            "buttons": [{"title": "Đăng ký tạm trú", "payload": '/ask_overview{"procedure": "dang-ky-tam-tru"}'},
                        {"title": "Cấp lại thẻ căn cước",
                         "payload": '/ask_overview{"procedure": "cap-lai-the-can-cuoc"}'}]}


class Clock:
    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def make_channel(settings: dict[str, Any] | None = None, clock: float = NOW_S, monotonic: Clock | None = None,
                 **limits: Any):
    def make(api_base: str) -> ZaloInput:
        base = ZaloSettings(app_id=APP_ID, oa_secret_key=OA_SECRET, app_secret_key=APP_SECRET,
                            access_token=OLD_TOKEN, refresh_token=OLD_REFRESH, api_base=api_base,
                            oauth_base=api_base)
        return ZaloInput(replace(base, **(settings or {})),
                         ChannelLimits(**{"http_backoff_s": 0.01, "http_attempts": 3, **limits}),
                         clock=lambda: clock, monotonic=monotonic or Clock())
    return make


def signed(body: bytes, secret: str = OA_SECRET) -> dict[str, str]:
    """Zalo's header for `body`, computed here independently of the channel's code."""
    event = json.loads(body)
    text = event["app_id"] + body.decode("utf-8") + str(event["timestamp"]) + secret
    return {"X-ZEvent-Signature": "mac=" + hashlib.sha256(text.encode("utf-8")).hexdigest()}


def event(text: str | None = None, msg_id: str | None = None, user_id: str | None = None, **fields: Any) -> bytes:
    payload = fixture_json("zalo_user_send_text.json")
    if text is not None:
        payload["message"]["text"] = text
    if msg_id is not None:
        payload["message"]["msg_id"] = msg_id
    if user_id is not None:
        payload["sender"]["id"] = user_id
    payload.update(fields)
    return to_bytes(payload)


def sent_messages(h: Harness) -> list[dict[str, Any]]:
    return [r["json"] for r in h.api.at(MESSAGE_PATH)]


# --- the happy path -------------------------------------------------------------------

def test_a_signed_message_reaches_rasa_namespaced_and_the_reply_quotes_it_with_buttons():
    body = fixture_bytes("zalo_user_send_text.json")

    async def scenario(h: Harness) -> None:
        status, text = await h.post(body, signed(body))
        assert (status, json.loads(text)) == (200, {"status": "received"})
        await h.settle()
        [message] = h.rasa.messages
        assert message.sender_id == f"zalo:{USER_ID}" and message.text == QUESTION
        assert message.input_channel == "zalo" and message.message_id == TEXT_EVENT["message"]["msg_id"]
        assert message.metadata == {"channel": "zalo", "message_id": TEXT_EVENT["message"]["msg_id"],
                                    "attachments": []}
        [request] = h.api.at(MESSAGE_PATH)
        assert request["headers"]["access_token"] == OLD_TOKEN
        sent = request["json"]
        assert sent["recipient"] == {"user_id": USER_ID}, "the namespace is stripped"
        assert sent["message"]["text"] == GREETING["text"]
        assert sent["message"]["quote_message_id"] == TEXT_EVENT["message"]["msg_id"]
        buttons = sent["message"]["attachment"]["payload"]["buttons"]
        assert sent["message"]["attachment"]["type"] == "template"
        assert [b["type"] for b in buttons] == ["oa.query.show"] * 2
        assert [b["title"] for b in buttons] == ["Đăng ký tạm trú", "Cấp lại thẻ căn cước"]
        assert [b["payload"] for b in buttons] == ["Đăng ký tạm trú", "Cấp lại thẻ căn cước"], \
            "Zalo shows the payload in the chat: the title, not /ask_overview{…}"

        # pressing a button sends its payload back as a user_send_text: Rasa gets the intent
        pressed = event(text="Cấp lại thẻ căn cước", msg_id="0c5d2e7f9a1b3c4d5e6f")
        assert (await h.post(pressed, signed(pressed)))[0] == 200
        await h.settle()
        assert h.rasa.messages[1].text == '/ask_overview{"procedure": "cap-lai-the-can-cuoc"}'

    run(scenario, make_channel(), script={MESSAGE_PATH: [Reply(200, OK)]}, answer=answer_with(GREETING))


def test_an_image_reaches_rasa_with_its_urls_in_the_metadata():
    body = fixture_bytes("zalo_user_send_image.json")
    image = fixture_json("zalo_user_send_image.json")

    async def scenario(h: Harness) -> None:
        assert (await h.post(body, signed(body)))[0] == 200
        await h.settle()
        [message] = h.rasa.messages
        assert message.sender_id == f"zalo:{USER_ID}" and message.text == image["message"]["text"]
        assert message.metadata["attachments"] == [{
            "type": "image", "url": image["message"]["attachments"][0]["payload"]["url"],
            "thumbnail": image["message"]["attachments"][0]["payload"]["thumbnail"]}]

    run(scenario, make_channel(clock=int(image["timestamp"]) / 1000), script={MESSAGE_PATH: [Reply(200, OK)]})


def test_a_long_answer_is_split_within_zalo_limits_and_buttons_go_five_at_a_time():
    long_text = ("Hồ sơ đăng ký tạm trú gồm tờ khai thay đổi thông tin cư trú và giấy tờ chứng minh "
                 "chỗ ở hợp pháp. ") * 30  # about 3,000 characters
    buttons = [{"title": f"Thủ tục số {i} " + "rất dài " * (20 if i == 0 else 0), "payload": f"/ask_fee{{\"n\": {i}}}"}
               for i in range(7)]

    async def scenario(h: Harness) -> None:
        body = event()
        assert (await h.post(body, signed(body)))[0] == 200
        await h.settle()
        messages = [m["message"] for m in sent_messages(h)]
        assert all(len(m["text"]) <= MAX_TEXT_CHARS for m in messages)
        assert "".join(m["text"] for m in messages[:2]).replace(" ", "") == long_text.replace(" ", "")
        groups = [m["attachment"]["payload"]["buttons"] for m in messages if "attachment" in m]
        assert [len(g) for g in groups] == [MAX_BUTTONS, 2]
        assert all(len(b["title"]) <= 100 for g in groups for b in g) and groups[0][0]["title"].endswith("…")
        assert all(m["quote_message_id"] == TEXT_EVENT["message"]["msg_id"] for m in messages)

    run(scenario, make_channel(), script={MESSAGE_PATH: [Reply(200, OK)]},
        answer=answer_with({"text": long_text, "buttons": buttons}))


def test_the_webhook_answers_before_rasa_has_finished():
    finished: list[bool] = []

    async def slow(_message: Any) -> None:
        await asyncio.sleep(1.5)
        finished.append(True)

    async def scenario(h: Harness) -> None:
        body = event()
        started = time.monotonic()
        assert (await h.post(body, signed(body)))[0] == 200
        assert time.monotonic() - started < 0.75 and not finished, "Zalo wants its 200 within about 2 seconds"
        await h.settle()
        assert finished and len(h.rasa.messages) == 1

    run(scenario, make_channel(), answer=slow)


def test_a_redelivered_event_is_handled_once():
    async def scenario(h: Harness) -> None:
        body = event()
        for _ in range(2):
            assert (await h.post(body, signed(body)))[0] == 200
        await h.settle()
        assert len(h.rasa.messages) == 1

    run(scenario, make_channel())


# --- what is refused ------------------------------------------------------------------

def _tampered() -> tuple[bytes, dict[str, str]]:
    headers = signed(event())
    return event(text="chuyển tiền cho tôi"), headers


REFUSALS = {
    "wrong secret": lambda: (event(), signed(event(), secret="not-the-oa-secret")),
    "missing header": lambda: (event(), {}),
    "malformed header": lambda: (event(), {"X-ZEvent-Signature": signed(event())["X-ZEvent-Signature"][4:]}),
    "tampered body": _tampered,
    "stale timestamp": lambda: (event(timestamp=str(int(NOW_S * 1000) - 301_000)),
                                signed(event(timestamp=str(int(NOW_S * 1000) - 301_000)))),
    "timestamp from the future": lambda: (event(timestamp=str(int(NOW_S * 1000) + 301_000)),
                                          signed(event(timestamp=str(int(NOW_S * 1000) + 301_000)))),
    "another app": lambda: (event(app_id="1111111111111111111"), signed(event(app_id="1111111111111111111"))),
    "no timestamp": lambda: (event(timestamp=None), signed(event(timestamp=""))),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_a_bad_missing_or_stale_signature_gets_401_and_nothing_reaches_rasa(case: str):
    body, headers = REFUSALS[case]()

    async def scenario(h: Harness) -> None:
        status, text = await h.post(body, headers)
        assert status == 401 and "error" in json.loads(text)
        await h.settle()
        assert h.rasa.messages == [] and h.api.received == []

    run(scenario, make_channel())


def test_the_freshness_window_is_configurable():
    body = event(timestamp=str(int(NOW_S * 1000) - 301_000))

    async def scenario(h: Harness) -> None:
        assert (await h.post(body, signed(body)))[0] == 200

    run(scenario, make_channel(settings={"signature_max_age_s": 600}))


def test_without_its_settings_the_channel_loads_and_refuses_everything(monkeypatch: pytest.MonkeyPatch):
    for name in ("ZALO_APP_ID", "ZALO_OA_SECRET_KEY", "ZALO_ACCESS_TOKEN", "ZALO_REFRESH_TOKEN", "ZALO_API_BASE"):
        monkeypatch.delenv(name, raising=False)
    credentials = {"app_id": "${ZALO_APP_ID}", "oa_secret_key": "${ZALO_OA_SECRET_KEY}",
                   "access_token": "${ZALO_ACCESS_TOKEN}", "api_base": "${ZALO_API_BASE}"}
    channel = ZaloInput.from_credentials(credentials)
    assert not channel.settings.can_verify and channel.settings.api_base == "https://openapi.zalo.me"
    unsigned = event()
    forged = {"X-ZEvent-Signature": "mac=" + hashlib.sha256(
        (APP_ID + unsigned.decode() + TEXT_EVENT["timestamp"]).encode()).hexdigest()}  # empty secret

    async def scenario(h: Harness) -> None:
        for headers in ({}, forged, signed(unsigned)):
            assert (await h.post(unsigned, headers))[0] == 401
        assert h.rasa.messages == []

    run(scenario, lambda _api: channel)


def test_settings_come_from_the_environment_through_quoted_placeholders(monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("ZALO_APP_ID", APP_ID)
    monkeypatch.setenv("ZALO_OA_SECRET_KEY", OA_SECRET)
    monkeypatch.setenv("ZALO_API_BASE", "http://127.0.0.1:9/")
    monkeypatch.delenv("ZALO_OAUTH_BASE", raising=False)
    settings = ZaloSettings.from_credentials({"app_id": "${ZALO_APP_ID}", "oa_secret_key": "${ZALO_OA_SECRET_KEY}",
                                              "api_base": "${ZALO_API_BASE}", "oauth_base": "${ZALO_OAUTH_BASE}"})
    assert (settings.app_id, settings.oa_secret_key) == (APP_ID, OA_SECRET) and settings.can_verify
    assert settings.api_base == "http://127.0.0.1:9" and settings.oauth_base == "https://oauth.zaloapp.com"
    assert settings.token_file is not None and settings.token_file.name == "zalo-tokens.json"
    monkeypatch.setenv("ZALO_TOKEN_FILE", "off")
    assert ZaloSettings.from_credentials({"token_file": "${ZALO_TOKEN_FILE}"}).token_file is None


async def _bad(h: Harness, body: bytes, headers: dict[str, str], expected: int) -> None:
    status, text = await h.post(body, headers)
    assert status == expected and "error" in json.loads(text) and "Traceback" not in text


@pytest.mark.parametrize("case", ["malformed JSON", "a JSON list", "unknown event", "text event without text",
                                  "image event without an image"])
def test_malformed_json_and_unknown_events_get_400_without_a_traceback(case: str, caplog: pytest.LogCaptureFixture):
    body = {
        "malformed JSON": b'{"app_id": "' + APP_ID.encode() + b'", "timestamp": ',
        "a JSON list": b"[1, 2, 3]",
        "unknown event": event(event_name="user_hacks_the_planet"),
        "text event without text": event(message={"msg_id": "x1", "text": 42}),
        "image event without an image": event(event_name="user_send_image", message={"msg_id": "x2"}),
    }[case]
    headers = {"X-ZEvent-Signature": "mac=" + "0" * 64} if case in ("malformed JSON", "a JSON list") else signed(body)

    async def scenario(h: Harness) -> None:
        await _bad(h, body, headers, 400)
        assert h.rasa.messages == []

    run(scenario, make_channel())
    assert not any(record.exc_info for record in caplog.records)


@pytest.mark.parametrize("transfer", ["with Content-Length", "chunked"])
def test_an_oversized_body_gets_413_unread(transfer: str):
    body = event(text="a" * 5000)  # a signed, valid event, but larger than the limit

    async def scenario(h: Harness) -> None:
        await _bad(h, body if transfer == "with Content-Length" else chunked(body, 512), signed(body), 413)
        assert h.rasa.messages == []

    run(scenario, make_channel(max_body_bytes=4096))


def test_zalos_other_events_are_acknowledged_and_ignored():
    body = fixture_bytes("zalo_follow.json")
    follow = fixture_json("zalo_follow.json")

    async def scenario(h: Harness) -> None:
        status, text = await h.post(body, signed(body))
        assert (status, json.loads(text)) == (200, {"status": "ignored"})
        await h.settle()
        assert h.rasa.messages == [] and h.api.received == []

    run(scenario, make_channel(clock=int(follow["timestamp"]) / 1000))


# --- tokens and outbound failures -----------------------------------------------------

def test_an_expired_token_is_refreshed_once_and_the_message_sent_again(tmp_path):
    token_file = tmp_path / "zalo-tokens.json"

    async def scenario(h: Harness) -> None:
        body = event()
        assert (await h.post(body, signed(body)))[0] == 200
        await h.settle()
        [refresh] = h.api.at(TOKEN_PATH)
        assert refresh["headers"]["secret_key"] == APP_SECRET
        assert refresh["form"] == {"refresh_token": OLD_REFRESH, "app_id": APP_ID, "grant_type": "refresh_token"}
        first, second = h.api.at(MESSAGE_PATH)
        assert first["headers"]["access_token"] == OLD_TOKEN
        assert second["headers"]["access_token"] == REFRESHED["access_token"]
        assert first["json"] == second["json"], "the same message, sent again"
        assert h.api.received.index(refresh) == 1, "refreshed between the two sends"
        assert (h.channel.tokens.access_token, h.channel.tokens.refresh_token) == \
            (REFRESHED["access_token"], REFRESHED["refresh_token"])

        # the next reply uses the new token straight away
        again = event(msg_id="1a2b3c4d5e6f7a8b9c0d")
        assert (await h.post(again, signed(again)))[0] == 200
        await h.settle()
        assert h.api.at(MESSAGE_PATH)[2]["headers"]["access_token"] == REFRESHED["access_token"]
        assert len(h.api.at(TOKEN_PATH)) == 1

    run(scenario, make_channel(settings={"token_file": token_file}),
        script={MESSAGE_PATH: [Reply(200, EXPIRED), Reply(200, OK)], TOKEN_PATH: [Reply(200, REFRESHED)]},
        answer=answer_with({"text": "Dạ, em trả lời anh/chị ạ."}))

    # the single-use refresh token survives a restart through the token file (owner-only)
    assert stat.S_IMODE(os.stat(token_file).st_mode) == 0o600
    restarted = make_channel(settings={"token_file": token_file})("http://127.0.0.1:9")
    assert restarted.tokens.access_token == REFRESHED["access_token"]
    fresh_env = make_channel(settings={"token_file": token_file, "refresh_token": "authorised-again"})(
        "http://127.0.0.1:9")
    assert fresh_env.tokens.refresh_token == "authorised-again", "new tokens in the environment win"


def test_a_failed_refresh_is_logged_and_not_retried_in_a_loop(caplog: pytest.LogCaptureFixture):
    async def scenario(h: Harness) -> None:
        for n in range(2):
            body = event(msg_id=f"f{n}")
            assert (await h.post(body, signed(body)))[0] == 200
            await h.settle()
        assert len(h.api.at(TOKEN_PATH)) == 1, "a refresh that failed is not tried again at once"
        assert len(h.rasa.messages) == 2

    caplog.set_level(logging.INFO)
    run(scenario, make_channel(),
        script={MESSAGE_PATH: [Reply(200, EXPIRED)],
                TOKEN_PATH: [Reply(200, {"error": -14014, "message": "Invalid refresh token"})]},
        answer=answer_with({"text": "Dạ."}))
    assert any("could not be refreshed" in r.getMessage() for r in caplog.records)


def test_outbound_5xx_is_retried_then_logged_without_the_text_or_ids(caplog: pytest.LogCaptureFixture):
    secret_question = "số căn cước của tôi là 001090012345, nhà ở 12 Hàng Bạc"

    async def scenario(h: Harness) -> None:
        body = event(text=secret_question)
        assert (await h.post(body, signed(body)))[0] == 200
        await h.settle()
        assert len(h.api.at(MESSAGE_PATH)) == 3, "three tries"
        [message] = h.rasa.messages
        assert message.text == secret_question, "the citizen's message reached Rasa all the same"

    caplog.set_level(logging.DEBUG)
    run(scenario, make_channel(), script={MESSAGE_PATH: [Reply(500, {"error": "boom"})]},
        answer=answer_with({"text": "Dạ, em ghi nhận ạ."}))
    logged = "\n".join(record.getMessage() for record in caplog.records)
    assert "failed after up to 3 attempt(s): HTTP 500" in logged
    for private in (secret_question, "001090012345", USER_ID, "Dạ, em ghi nhận ạ."):
        assert private not in logged


# --- limits ---------------------------------------------------------------------------

def test_a_flooding_sender_is_limited_without_slowing_another():
    clock = Clock()

    async def scenario(h: Harness) -> None:
        for n in range(8):
            body = event(msg_id=f"flood-{n}")
            assert (await h.post(body, signed(body)))[0] == 200
        other = event(msg_id="other-1", user_id="8765432109876543210", text="cho hỏi lệ phí")
        assert (await h.post(other, signed(other)))[0] == 200
        await h.settle()
        senders = [m.sender_id for m in h.rasa.messages]
        assert senders.count(f"zalo:{USER_ID}") == 3, "the burst, then nothing"
        assert senders[-1] == "zalo:8765432109876543210", "the other citizen is answered"
        notices = [m for m in sent_messages(h) if m["message"].get("text") == RATE_LIMITED_REPLY]
        assert len(notices) == 1 and notices[0]["recipient"] == {"user_id": USER_ID}, "told once, not per message"

        clock.now += 60  # the bucket refills
        later = event(msg_id="flood-later")
        assert (await h.post(later, signed(later)))[0] == 200
        await h.settle()
        assert [m.sender_id for m in h.rasa.messages].count(f"zalo:{USER_ID}") == 4

    run(scenario, make_channel(monotonic=clock, rate_burst=3, rate_per_minute=6))


def test_an_over_long_message_gets_a_polite_reply_and_does_not_reach_rasa():
    async def scenario(h: Harness) -> None:
        too_long = event(text="x" * 1001, msg_id="long-1")
        assert (await h.post(too_long, signed(too_long)))[0] == 200
        await h.settle()
        assert h.rasa.messages == []
        [reply] = sent_messages(h)
        assert reply["recipient"] == {"user_id": USER_ID} and reply["message"]["quote_message_id"] == "long-1"
        assert "1.000 ký tự" in reply["message"]["text"] and "ngắn gọn" in reply["message"]["text"]

        just_right = event(text="y" * 1000, msg_id="long-2")
        assert (await h.post(just_right, signed(just_right)))[0] == 200
        await h.settle()
        assert [m.text for m in h.rasa.messages] == ["y" * 1000]

    run(scenario, make_channel(max_message_chars=1000), script={MESSAGE_PATH: [Reply(200, OK)]})


def test_proactive_messages_go_to_the_zalo_user_and_never_to_another_channels_id():
    async def scenario(h: Harness) -> None:
        output = h.channel.get_output_channel()
        await output.send_text_message(f"zalo:{USER_ID}", "Hồ sơ của anh/chị đã được tiếp nhận.")
        await output.send_text_message("facebook:7312458809124563", "không được gửi")
        [sent] = sent_messages(h)
        assert sent == {"recipient": {"user_id": USER_ID},
                        "message": {"text": "Hồ sơ của anh/chị đã được tiếp nhận."}}

    run(scenario, make_channel(), script={MESSAGE_PATH: [Reply(200, OK)]})
