"""Facebook Messenger channel (`facebook`): webhook `/webhooks/facebook/webhook`.

Replaces Rasa 3.6's built-in channel of the same name, which checks only the old SHA-1
`X-Hub-Signature` header, compares it in non-constant time and sends through Graph API
v2.12 with blocking calls. Here:

- GET answers Meta's verify-token handshake (`hub.mode=subscribe`, `hub.verify_token`,
  echo `hub.challenge`); a wrong or unset token gets 403.
- POST is accepted only with `X-Hub-Signature-256: sha256=<hex HMAC-SHA256(app secret,
  raw body)>`, checked on the raw bytes before the JSON is parsed (bad or missing: 401).
  Text messages, quick-reply presses and postbacks go to Rasa (image and file URLs in the
  metadata); echoes, deliveries, reads and the like are acknowledged and ignored.
- Replies go to `{FB_API_BASE}/v21.0/me/messages` with `messaging_type: RESPONSE`,
  buttons as quick replies (at most 13, titles of at most 20 characters), texts split at
  2,000 characters. Messages Rasa sends on its own, through `get_output_channel()` (the
  outbox worker's "your draft was sent" announcement, run by Rasa's HTTP API), may come
  after Messenger's 24-hour window: they go as `messaging_type: MESSAGE_TAG` with
  `tag: ACCOUNT_UPDATE` (a change to the citizen's application). The first time a sender
  writes, the channel first says that this is an automated assistant. Who has been told is
  remembered in memory only (bounded): after a restart a returning sender is told once more.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.common import (
    RATE_LIMITED_REPLY,
    BoundedSet,
    ChannelLimits,
    Verdict,
    pseudonym,
    read_body,
    refuse,
    resolve,
    shorten,
    split_text,
    too_long,
    too_long_reply,
)
from connectors.outbound import Delivery, HttpSender
from connectors.webhook import PlatformOutput, WebhookInput

logger = logging.getLogger(__name__)

CHANNEL = "facebook"
GRAPH_API_VERSION = "v21.0"
DEFAULT_API_BASE = "https://graph.facebook.com"
SIGNATURE_HEADER = "X-Hub-Signature-256"
MAX_TEXT_CHARS = 2000
MAX_QUICK_REPLIES = 13
MAX_QUICK_REPLY_TITLE_CHARS = 20
MAX_QUICK_REPLY_PAYLOAD_CHARS = 1000
AUTOMATED_NOTICE = ("Xin chào anh/chị! Em là Trợ lý 06, trợ lý ảo trả lời tự động (không phải cán bộ) "
                    "về thủ tục cư trú và căn cước công dân. Câu trả lời của em để anh/chị tham khảo; "
                    "khi cần, anh/chị liên hệ công an cấp xã nơi cư trú ạ.")
CHOOSE_TEXT = "Mời anh/chị chọn:"
# the message tag of messages not answering the citizen (allowed outside the 24-hour window)
PUSH_TAG = "ACCOUNT_UPDATE"
# messaging events of a page subscription that carry nothing for Rasa
IGNORED_EVENTS = frozenset({"delivery", "read", "reaction", "optin", "referral", "account_linking",
                            "policy_enforcement", "message_edit", "pass_thread_control",
                            "take_thread_control", "request_thread_control", "app_roles", "standby",
                            "game_play", "handover"})

_SIGNATURE = re.compile(r"^sha256=([0-9a-fA-F]{64})$")


@dataclass(frozen=True)
class FacebookSettings:
    verify_token: str | None
    app_secret: str | None
    page_access_token: str | None
    api_base: str = DEFAULT_API_BASE

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> FacebookSettings:
        return cls(
            verify_token=resolve(credentials, "verify_token", "FB_VERIFY_TOKEN"),
            app_secret=resolve(credentials, "app_secret", "FB_APP_SECRET"),
            page_access_token=resolve(credentials, "page_access_token", "FB_PAGE_ACCESS_TOKEN"),
            api_base=(resolve(credentials, "api_base", "FB_API_BASE") or DEFAULT_API_BASE).rstrip("/"),
        )


def hub_signature(app_secret: str, raw_body: bytes) -> str:
    """What Meta puts in X-Hub-Signature-256 for `raw_body`."""
    return "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


# --- output ---------------------------------------------------------------------------

class MessengerApi:
    """Posts to the Send API; the page token travels in the Authorization header, not in
    the URL, so that it cannot end up in a proxy's or a library's log of URLs."""

    def __init__(self, settings: FacebookSettings, sender: HttpSender) -> None:
        self.url = f"{settings.api_base}/{GRAPH_API_VERSION}/me/messages"
        self.token = settings.page_access_token
        self.sender = sender

    async def send(self, psid: str, message: dict[str, Any], *, tag: str | None = None) -> bool:
        """A reply (`RESPONSE`, within 24 hours of the citizen's message), or with `tag` a
        tagged message (`MESSAGE_TAG`), which Messenger accepts outside that window."""
        ref = pseudonym(f"{CHANNEL}:{psid}")
        if not self.token:
            logger.warning("facebook: message to %s not sent: FB_PAGE_ACCESS_TOKEN is not set", ref)
            return False
        body: dict[str, Any] = {"recipient": {"id": psid}, "messaging_type": "RESPONSE", "message": message}
        if tag:
            body.update(messaging_type="MESSAGE_TAG", tag=tag)
        delivery = await self.sender.post(
            self.url, json=body,
            headers={"Authorization": f"Bearer {self.token}"}, ref=ref)
        if delivery.status is not None and not delivery.ok:
            logger.warning("facebook: Graph API error for %s: code %s", ref, _graph_error(delivery))
        return delivery.ok


def _graph_error(delivery: Delivery) -> Any:
    """The Graph API's error code (its message is left out: it may quote the request)."""
    error = delivery.body.get("error") if isinstance(delivery.body, dict) else None
    return error.get("code") if isinstance(error, dict) else None


class FacebookOutput(PlatformOutput):
    """Sends Rasa's responses to one Messenger user (a page-scoped id): as replies, or,
    given a message `tag`, as tagged messages (not answering a message of the citizen)."""

    max_text_chars = MAX_TEXT_CHARS
    conversation_kind = "Messenger"

    def __init__(self, api: MessengerApi, tag: str | None = None) -> None:
        super().__init__()
        self.api = api
        self.tag = tag

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    async def send_text_with_buttons(self, recipient_id: str, text: str, buttons: list[dict[str, Any]],
                                     **kwargs: Any) -> None:
        psid = self._platform_user(recipient_id)
        if psid is None:
            return
        quick_replies, links = self._quick_replies(buttons)
        if links:
            text = "\n".join([text, *links])
        parts = split_text(text, MAX_TEXT_CHARS) or [CHOOSE_TEXT]
        for part in parts[:-1]:
            await self._send(psid, {"text": part})
        last: dict[str, Any] = {"text": parts[-1]}
        if quick_replies:
            last["quick_replies"] = quick_replies
        await self._send(psid, last)

    async def send_image_url(self, recipient_id: str, image: str, **kwargs: Any) -> None:
        psid = self._platform_user(recipient_id)
        if psid is not None:
            await self._send(psid, {"attachment": {"type": "image", "payload": {"url": image,
                                                                                   "is_reusable": True}}})

    async def _send(self, psid: str, message: dict[str, Any]) -> None:
        await self.api.send(psid, message, tag=self.tag)

    @staticmethod
    def _quick_replies(buttons: Iterable[dict[str, Any]]) -> tuple[list[dict[str, str]], list[str]]:
        """Buttons as quick replies; link buttons (which quick replies cannot be) as text lines."""
        quick_replies: list[dict[str, str]] = []
        links: list[str] = []
        for button in buttons:
            title = str(button.get("title") or "").strip()
            url, payload = button.get("url"), button.get("payload")
            if title and isinstance(url, str) and url.startswith(("https://", "http://")):
                links.append(f"{title}: {url}")
            elif title and isinstance(payload, str) and 0 < len(payload) <= MAX_QUICK_REPLY_PAYLOAD_CHARS:
                quick_replies.append({"content_type": "text",
                                      "title": shorten(title, MAX_QUICK_REPLY_TITLE_CHARS),
                                      "payload": payload})
        if len(quick_replies) > MAX_QUICK_REPLIES:
            logger.warning("facebook: %d buttons, Messenger shows %d: the rest are left out",
                           len(quick_replies), MAX_QUICK_REPLIES)
        return quick_replies[:MAX_QUICK_REPLIES], links


# --- input ----------------------------------------------------------------------------

@dataclass(frozen=True)
class MessengerEvent:
    psid: str
    message_id: str | None
    text: str
    attachments: list[dict[str, str]] = field(default_factory=list)


def _classify(item: Any) -> MessengerEvent | str:
    """One entry of `messaging`: an event for Rasa, or "ignored", or "unknown"."""
    if not isinstance(item, dict):
        return "unknown"
    sender = item.get("sender")
    psid = sender.get("id") if isinstance(sender, dict) else None
    message, postback = item.get("message"), item.get("postback")
    if isinstance(message, dict):
        if message.get("is_echo"):
            return "ignored"  # what the page itself sent
        if not isinstance(psid, str) or not psid:
            return "unknown"
        quick_reply = message.get("quick_reply")
        text = quick_reply.get("payload") if isinstance(quick_reply, dict) else None
        if not isinstance(text, str):
            text = message.get("text") if isinstance(message.get("text"), str) else ""
        attachments = _attachments(message.get("attachments"))
        if not text and not attachments:
            return "ignored"  # a sticker or a shared post without a link: nothing to answer
        return MessengerEvent(psid, message.get("mid"), text, attachments)
    if isinstance(postback, dict):
        payload = postback.get("payload")
        if not isinstance(psid, str) or not psid or not isinstance(payload, str):
            return "unknown"
        return MessengerEvent(psid, postback.get("mid"), payload)
    if any(key in item for key in IGNORED_EVENTS):
        return "ignored"
    return "unknown"


def _attachments(items: Any) -> list[dict[str, str]]:
    found: list[dict[str, str]] = []
    for item in items if isinstance(items, list) else []:
        payload = item.get("payload") if isinstance(item, dict) else None
        url = payload.get("url") if isinstance(payload, dict) else None
        if isinstance(url, str) and url.startswith(("https://", "http://")):
            found.append({"type": str(item.get("type") or "file"), "url": url})
    return found


class FacebookInput(WebhookInput):
    """The `facebook` input channel (credentials key `connectors.facebook.FacebookInput`)."""

    @classmethod
    def name(cls) -> str:
        return CHANNEL

    @classmethod
    def from_credentials(cls, credentials: dict[str, Any] | None) -> InputChannel:
        """Never fails on missing settings: without them the channel loads (so Rasa
        starts), the handshake gets 403 and every POST 401."""
        return cls(FacebookSettings.from_credentials(credentials), ChannelLimits.from_credentials(credentials))

    def __init__(self, settings: FacebookSettings, limits: ChannelLimits | None = None, *,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        super().__init__(limits, monotonic)
        self.settings = settings
        self.api = MessengerApi(settings, self.sender)
        self._told: BoundedSet[str] = BoundedSet(self.limits.max_tracked_senders)
        if not settings.app_secret:
            logger.warning("facebook: FB_APP_SECRET is not set: the Messenger webhook refuses every "
                           "request (401)")
        if not settings.verify_token:
            logger.warning("facebook: FB_VERIFY_TOKEN is not set: the webhook handshake is refused (403)")

    def get_output_channel(self) -> OutputChannel:
        """What Rasa sends with when no message of the citizen is being answered (its HTTP API:
        `/conversations/<id>/execute?output_channel=latest`, used by the outbox worker): the
        message may come after the 24-hour window, so it is tagged `ACCOUNT_UPDATE`. Replies
        to inbound messages use their own output (`_accept`) and stay `RESPONSE`."""
        return FacebookOutput(self.api, tag=PUSH_TAG)

    def _add_routes(self, blueprint: Blueprint) -> None:
        @blueprint.route("/webhook", methods=["GET"])
        async def handshake(request: Request) -> HTTPResponse:
            expected = self.settings.verify_token
            given = request.args.get("hub.verify_token") or ""
            if (request.args.get("hub.mode") == "subscribe" and expected
                    and hmac.compare_digest(given.encode(), expected.encode())):
                return response.text(request.args.get("hub.challenge") or "")
            logger.warning("facebook: webhook handshake refused (wrong or unset verify token)")
            return refuse(403, "verification failed")

    async def _receive(self, request: Request,
                       on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> HTTPResponse:
        raw = await read_body(request, self.limits.max_body_bytes)
        if raw is None:
            return refuse(413, "body too large")
        if not self.settings.app_secret:
            return refuse(401, "channel not configured")
        given = _SIGNATURE.match((request.headers.get(SIGNATURE_HEADER) or "").strip())
        expected = hub_signature(self.settings.app_secret, raw)
        if given is None or not hmac.compare_digest(f"sha256={given.group(1).lower()}", expected):
            logger.warning("facebook: webhook refused: %s", "bad signature" if given else "missing signature")
            return refuse(401, "bad signature" if given else "missing or malformed signature")
        try:
            payload = json.loads(raw)
        except ValueError:
            return refuse(400, "malformed JSON")
        if not isinstance(payload, dict) or payload.get("object") != "page" \
                or not isinstance(payload.get("entry"), list):
            return refuse(400, "not a page event")
        items: list[Any] = []
        for entry in payload["entry"]:
            messaging = entry.get("messaging") if isinstance(entry, dict) else None
            if isinstance(messaging, list):
                items.extend(messaging)
        kinds = [_classify(item) for item in items]
        if not kinds or all(kind == "unknown" for kind in kinds):
            return refuse(400, "unknown event")
        if self.tasks.full():
            return refuse(503, "busy")
        for kind in kinds:
            if isinstance(kind, MessengerEvent):
                self._accept(kind, on_new_message)
        return response.json({"status": "EVENT_RECEIVED"})

    def _accept(self, event: MessengerEvent, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> None:
        if event.message_id and not self._seen.add(event.message_id):
            return
        sender = f"{CHANNEL}:{event.psid}"
        ref = pseudonym(sender)
        verdict = self.limiter.check(sender)
        if verdict is Verdict.LIMITED:
            logger.info("facebook: %s is sending too fast: message dropped", ref)
            return
        output = FacebookOutput(self.api)
        first_contact = self._told.add(sender)
        if verdict is Verdict.LIMITED_NOTIFY:
            logger.info("facebook: %s is sending too fast: message dropped", ref)
            reply: str | None = RATE_LIMITED_REPLY
        elif too_long(event.text, self.limits.max_message_chars):
            logger.info("facebook: %s sent %d characters: asked to be shorter", ref, len(event.text))
            reply = too_long_reply(self.limits.max_message_chars)
        else:
            reply = None
        message = None if reply is not None else UserMessage(
            event.text, output, sender, input_channel=CHANNEL, message_id=event.message_id,
            metadata={"channel": CHANNEL, "message_id": event.message_id, "attachments": event.attachments})
        self.tasks.spawn(self._handle(output, sender, first_contact, reply, message, on_new_message, ref),
                         "facebook")

    @staticmethod
    async def _handle(output: FacebookOutput, sender: str, first_contact: bool, reply: str | None,
                      message: UserMessage | None, on_new_message: Callable[[UserMessage], Awaitable[Any]],
                      ref: str) -> None:
        """In order: the automated-assistant notice on first contact, then either the
        channel's own reply (too fast, too long) or Rasa's."""
        if first_contact:
            await output.send_text_message(sender, AUTOMATED_NOTICE)
        if reply is not None:
            await output.send_text_message(sender, reply)
        if message is None:
            return
        try:
            await on_new_message(message)
        except Exception as error:  # noqa: BLE001 (logged without the message; the next one must work)
            logger.error("facebook: a message from %s could not be handled (%s)", ref, type(error).__name__)
