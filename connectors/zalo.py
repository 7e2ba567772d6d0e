"""Zalo Official Account channel (`zalo`): webhook `/webhooks/zalo/webhook`.

Inbound: Zalo POSTs one event per request, signed in the header
`X-ZEvent-Signature: mac=<hex>`, hex being the plain SHA-256 (not an HMAC) of
app_id + raw body + timestamp + OA secret key, with app_id and timestamp (milliseconds)
taken from the body. The body is read raw (and refused unread beyond the size limit),
decoded only to find those two fields, and the hash is computed over the raw bytes as
received: nothing of the event is used before the signature, the app id and the
timestamp's freshness have been checked (bad, missing or stale: 401). `user_send_text`
and `user_send_image` go to Rasa (image URLs in the message's metadata, for the dossier
journeys); Zalo's other events are acknowledged and ignored; anything else is a 400.

Outbound: the OA customer-service API (`POST {ZALO_API_BASE}/v3.0/oa/message/cs`, header
`access_token`). Replies quote the citizen's message (`quote_message_id`) so that Zalo
counts them as replies (8 free within 48 hours of the citizen's message), not as proactive
messages. Buttons become `oa.query.show` buttons; long texts are split within Zalo's 2,000
characters. Tokens, their refresh on -216 and the API calls are in `connectors.zalo_api`.
"""
from __future__ import annotations

import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.common import (
    RATE_LIMITED_REPLY,
    BoundedMap,
    ChannelLimits,
    Verdict,
    pseudonym,
    read_body,
    refuse,
    shorten,
    split_text,
    too_long,
    too_long_reply,
)
from connectors.webhook import PlatformOutput, WebhookInput
from connectors.zalo_api import (
    CHANNEL,
    MESSAGE_PATH,
    TOKEN_PATH,
    ZaloApi,
    ZaloSettings,
    ZaloTokens,
    zalo_signature,
)

__all__ = ["MESSAGE_PATH", "TOKEN_PATH", "ZaloInput", "ZaloOutput", "ZaloSettings"]

logger = logging.getLogger(__name__)

SIGNATURE_HEADER = "X-ZEvent-Signature"

MAX_TEXT_CHARS = 2000           # Zalo refuses a longer text (-210) rather than cutting it
MAX_BUTTONS = 5                 # per message
MAX_BUTTON_TITLE_CHARS = 100
MAX_BUTTON_PAYLOAD_CHARS = 1000
MORE_CHOICES_TEXT = "Anh/chị có thể chọn thêm:"
CHOOSE_TEXT = "Mời anh/chị chọn:"

HANDLED_EVENTS = frozenset({"user_send_text", "user_send_image"})
# Zalo's other webhook events: acknowledged (a non-200 makes Zalo resend for hours and
# then switch the webhook off) and ignored.
IGNORED_EVENTS = frozenset({
    "follow", "unfollow", "user_send_link", "user_send_audio", "user_send_video", "user_send_file",
    "user_send_sticker", "user_send_gif", "user_send_location", "user_send_business_card",
    "user_received_message", "user_seen_message", "user_submit_info", "user_reacted_message",
    "user_click_chatnow", "user_asking_product", "oa_send_text", "oa_send_image", "oa_send_gif",
    "oa_send_list", "oa_send_file", "oa_send_sticker", "oa_reacted_message", "anonymous_send_text",
    "anonymous_send_image", "anonymous_send_file", "anonymous_send_sticker", "add_user_to_tag",
    "change_oa_daily_quota", "change_oa_template_tags", "change_template_quality",
    "change_template_quota", "change_template_status", "widget_interaction_accepted",
    "widget_failed_to_sync_user_external_id", "shop_has_order", "user_feedback",
    "update_user_info", "oa_call_user", "user_call_oa",
})

_MAC = re.compile(r"^mac=([0-9a-fA-F]{64})$")


# --- output ---------------------------------------------------------------------------

def button_key(text: str) -> str:
    return " ".join(text.split()).casefold()


class ZaloOutput(PlatformOutput):
    """Sends Rasa's responses to one Zalo user, quoting the message being answered.

    A button's payload is what Zalo shows in the chat as the citizen's message when it is
    pressed (`oa.query.show`), so a Rasa payload such as `/ask_fee{"procedure": …}` is
    replaced by the button's title, and `remember_buttons` keeps title -> payload for the
    input channel to translate the press back.
    """

    max_text_chars = MAX_TEXT_CHARS
    conversation_kind = "Zalo"

    def __init__(self, api: ZaloApi, quote_message_id: str | None = None,
                 remember_buttons: Callable[[str, dict[str, str]], None] | None = None) -> None:
        super().__init__()
        self.api = api
        self.quote_message_id = quote_message_id
        self.remember_buttons = remember_buttons

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: list[dict[str, Any]],
                                     **kwargs: Any) -> None:
        user_id = self._platform_user(recipient_id)
        if user_id is None:
            return
        zalo_buttons, pressed = self._zalo_buttons(buttons)
        if pressed and self.remember_buttons is not None:
            self.remember_buttons(f"{CHANNEL}:{user_id}", pressed)
        parts = split_text(text, MAX_TEXT_CHARS) or [CHOOSE_TEXT]
        for part in parts[:-1]:
            await self._send(user_id, {"text": part})
        groups = [zalo_buttons[i:i + MAX_BUTTONS] for i in range(0, len(zalo_buttons), MAX_BUTTONS)] or [[]]
        for index, group in enumerate(groups):
            message: dict[str, Any] = {"text": parts[-1] if index == 0 else MORE_CHOICES_TEXT}
            if group:
                message["attachment"] = {"type": "template", "payload": {"buttons": group}}
            await self._send(user_id, message)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        user_id = self._platform_user(recipient_id)
        if user_id is None:
            return
        await self._send(user_id, {"attachment": {"type": "template", "payload": {
            "template_type": "media", "elements": [{"media_type": "image", "url": image}]}}})

    async def _send(self, user_id: str, message: dict[str, Any]) -> None:
        if self.quote_message_id:
            message["quote_message_id"] = self.quote_message_id
        await self.api.send(user_id, message)

    @staticmethod
    def _zalo_buttons(buttons: Iterable[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, str]]:
        zalo_buttons: list[dict[str, Any]] = []
        pressed: dict[str, str] = {}
        for button in buttons:
            title = shorten(str(button.get("title") or ""), MAX_BUTTON_TITLE_CHARS)
            if not title:
                continue
            url = button.get("url")
            payload = button.get("payload")
            if isinstance(url, str) and url.startswith(("https://", "http://")):
                zalo_buttons.append({"type": "oa.open.url", "title": title, "payload": {"url": url}})
                continue
            if not isinstance(payload, str) or not payload:
                continue
            if payload.startswith("/") or len(payload) > MAX_BUTTON_PAYLOAD_CHARS:
                pressed[button_key(title)] = payload
                payload = title
            zalo_buttons.append({"type": "oa.query.show", "title": title, "payload": payload})
        return zalo_buttons, pressed


# --- input ----------------------------------------------------------------------------

@dataclass(frozen=True)
class ZaloEvent:
    user_id: str
    message_id: str | None
    text: str
    attachments: list[dict[str, str]] = field(default_factory=list)


def _parse_event(payload: dict[str, Any]) -> ZaloEvent | None:
    """The parts of a `user_send_text`/`user_send_image` event Rasa needs; None if malformed."""
    sender, message = payload.get("sender"), payload.get("message")
    if not isinstance(sender, dict) or not isinstance(message, dict):
        return None
    user_id = sender.get("id")
    if not isinstance(user_id, (str, int)) or isinstance(user_id, bool) or not str(user_id).strip():
        return None
    message_id = message.get("msg_id")
    text = message.get("text", "")
    if not isinstance(text, str):
        return None
    attachments: list[dict[str, str]] = []
    if payload.get("event_name") == "user_send_image":
        for item in message.get("attachments") or []:
            content = item.get("payload") if isinstance(item, dict) else None
            url = content.get("url") if isinstance(content, dict) else None
            if isinstance(url, str) and url.startswith(("https://", "http://")):
                entry = {"type": str(item.get("type") or "image"), "url": url}
                if isinstance(content.get("thumbnail"), str):
                    entry["thumbnail"] = content["thumbnail"]
                attachments.append(entry)
        if not attachments:
            return None
    return ZaloEvent(str(user_id).strip(), str(message_id) if message_id else None, text, attachments)


class ZaloInput(WebhookInput):
    """The `zalo` input channel (credentials key `connectors.zalo.ZaloInput`)."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Never fails on missing settings: a channel without its secrets loads (so Rasa
        starts) and refuses every webhook with 401."""
        return cls(ZaloSettings.from_credentials(credentials), ChannelLimits.from_credentials(credentials))

    def __init__(self, settings: ZaloSettings, limits: ChannelLimits | None = None, *,
                 clock: Callable[[], float] = time.time,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(limits, monotonic)
        self.settings = settings
        self.clock = clock
        self.tokens = ZaloTokens(settings, self.sender, monotonic)
        self.api = ZaloApi(settings, self.tokens, self.sender)
        self._buttons: BoundedMap[str, dict[str, str]] = BoundedMap(self.limits.max_tracked_senders)
        if not settings.can_verify:
            logger.warning("zalo: ZALO_APP_ID or ZALO_OA_SECRET_KEY is not set: the Zalo webhook "
                           "refuses every request (401)")

    def get_output_channel(self) -> OutputChannel:
        """What Rasa sends with when no message of the citizen is being answered (its HTTP API:
        `/conversations/<id>/execute?output_channel=latest`, used by the outbox worker to
        announce a sent draft). There is no message to quote, so `quote_message_id` is left
        out and Zalo counts the message as proactive: outside the reply window (48 hours
        after the citizen's last message, 8 free replies), or beyond the OA's proactive
        quota, Zalo may refuse it (logged with its error code, not retried). We do not use
        Zalo's paid transaction-message API; the citizen still gets the result by asking."""
        return ZaloOutput(self.api, remember_buttons=self._remember_buttons)

    async def _receive(self, request: Request,
                       on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        raw = await read_body(request, self.limits.max_body_bytes)
        if raw is None:
            return refuse(413, "body too large")
        if not self.settings.can_verify:
            return refuse(401, "channel not configured")
        match = _MAC.match((request.headers.get(SIGNATURE_HEADER) or "").strip())
        if match is None:
            logger.warning("zalo: webhook refused: missing or malformed signature")
            return refuse(401, "missing or malformed signature")
        try:
            payload = json.loads(raw)
        except ValueError:
            return refuse(400, "malformed JSON")
        if not isinstance(payload, dict):
            return refuse(400, "malformed JSON")
        problem = self._signature_problem(payload, raw, match.group(1).lower())
        if problem is not None:
            logger.warning("zalo: webhook refused: %s", problem)
            return refuse(401, problem)
        event_name = payload.get("event_name")
        if event_name in IGNORED_EVENTS:
            return response.json({"status": "ignored"})
        if event_name not in HANDLED_EVENTS:
            return refuse(400, "unknown event")
        event = _parse_event(payload)
        if event is None:
            return refuse(400, "malformed event")
        return self._accept(event, on_new_message)

    def _signature_problem(self, payload: dict[str, Any], raw: bytes, mac: str) -> str | None:
        app_id, timestamp = payload.get("app_id"), payload.get("timestamp")
        if not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in (app_id, timestamp)):
            return "unsigned event"
        app_id, timestamp = str(app_id), str(timestamp)
        expected = zalo_signature(app_id, raw, timestamp, self.settings.oa_secret_key or "")
        if not hmac.compare_digest(expected, mac):
            return "bad signature"
        if not hmac.compare_digest(app_id.encode(), (self.settings.app_id or "").encode()):
            return "signed for another app"
        try:
            sent_ms = int(timestamp)
        except ValueError:
            return "bad timestamp"
        if abs(self.clock() * 1000 - sent_ms) > self.settings.signature_max_age_s * 1000:
            return "stale signature"
        return None

    def _accept(self, event: ZaloEvent,
                on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        if self.tasks.full():
            return refuse(503, "busy")
        if event.message_id and not self._seen.add(event.message_id):
            return response.json({"status": "duplicate"})
        sender = f"{CHANNEL}:{event.user_id}"
        ref = pseudonym(sender)
        output = ZaloOutput(self.api, event.message_id, self._remember_buttons)
        verdict = self.limiter.check(sender)
        if verdict is not Verdict.ALLOWED:
            logger.info("zalo: %s is sending too fast: message dropped", ref)
            if verdict is Verdict.LIMITED_NOTIFY:
                self.tasks.spawn(output.send_text_message(sender, RATE_LIMITED_REPLY), "zalo")
            return response.json({"status": "rate limited"})
        if too_long(event.text, self.limits.max_message_chars):
            logger.info("zalo: %s sent %d characters: asked to be shorter", ref, len(event.text))
            self.tasks.spawn(output.send_text_message(sender, too_long_reply(self.limits.max_message_chars)),
                             "zalo")
            return response.json({"status": "too long"})
        text = self._pressed_payload(sender, event.text)
        message = UserMessage(text, output, sender, input_channel=CHANNEL, message_id=event.message_id,
                              metadata={"channel": CHANNEL, "message_id": event.message_id,
                                        "attachments": event.attachments})
        self.tasks.spawn(self._handle(message, on_new_message, ref), "zalo")
        return response.json({"status": "received"})

    @staticmethod
    async def _handle(message: UserMessage, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                      ref: str) -> None:
        try:
            await on_new_message(message)
        except Exception as error:  # noqa: BLE001 (logged without the message; the next one must work)
            logger.error("zalo: a message from %s could not be handled (%s)", ref, type(error).__name__)

    def _remember_buttons(self, sender: str, pressed: dict[str, str]) -> None:
        self._buttons.put(sender, pressed)

    def _pressed_payload(self, sender: str, text: str) -> str:
        """The Rasa payload of a button this sender was just offered, if `text` is its title."""
        offered = self._buttons.get(sender)
        return offered.get(button_key(text), text) if offered else text
