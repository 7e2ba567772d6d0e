"""What the Zalo and Messenger channels share.

Input: the per-sender rate limit, background handling, the duplicate filter, the outbound
sender, and a webhook blueprint whose POST route never answers with a traceback and which
waits for the messages in hand when the server stops. Each channel adds its own `_receive`
(signature, events) and, if it needs them, more routes (Messenger's handshake).

Output: the platform id taken out of the namespaced Rasa sender id, texts cut to the
platform's limit, custom JSON passed through as the platform's message objects. Each
channel adds its own `_send`, buttons and images."""
from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import InputChannel, OutputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

from connectors.common import (
    BackgroundTasks,
    BoundedSet,
    ChannelLimits,
    RateLimiter,
    platform_id,
    pseudonym,
    refuse,
    split_text,
)
from connectors.outbound import HttpSender

logger = logging.getLogger(__name__)

OnNewMessage = Callable[[UserMessage], Awaitable[Any]]


class PlatformOutput(OutputChannel):
    max_text_chars: int = 2000
    conversation_kind: str = ""   # for the log line: "Zalo", "Messenger"

    async def _send(self, platform_user: str, message: dict[str, Any]) -> None:
        raise NotImplementedError

    def _platform_user(self, recipient_id: str) -> str | None:
        """The platform's id of the recipient, or None (logged) if it belongs to another channel."""
        user = platform_id(self.name(), recipient_id)
        if user is None:
            logger.warning("%s: not sent: %s is not a %s conversation", self.name(), pseudonym(recipient_id),
                           self.conversation_kind)
        return user

    async def send_text_message(self, recipient_id: str, text: str, **kwargs: Any) -> None:
        user = self._platform_user(recipient_id)
        if user is None:
            return
        for part in split_text(text, self.max_text_chars):
            await self._send(user, {"text": part})

    async def send_custom_json(self, recipient_id: str, json_message: Any, **kwargs: Any) -> None:
        """A custom response is taken as the platform's `message` object (or a list of them)."""
        user = self._platform_user(recipient_id)
        if user is None:
            return
        for message in json_message if isinstance(json_message, list) else [json_message]:
            if isinstance(message, dict):
                await self._send(user, dict(message))


class WebhookInput(InputChannel):
    def __init__(self, limits: ChannelLimits | None,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.limits = limits or ChannelLimits()
        self.sender = HttpSender(self.name(), self.limits.http_attempts, self.limits.http_backoff_s,
                                 self.limits.http_timeout_s)
        self.limiter = RateLimiter(self.limits.rate_burst, self.limits.rate_per_minute,
                                   self.limits.max_tracked_senders, monotonic)
        self.tasks = BackgroundTasks(self.limits.max_in_flight)
        self._seen: BoundedSet[str] = BoundedSet(self.limits.max_tracked_senders)

    async def wait_idle(self, timeout_s: float = 10.0) -> None:
        """Waits until the messages in hand have been handled (shutdown, tests)."""
        await self.tasks.drain(timeout_s)

    async def _receive(self, request: Request, on_new_message: OnNewMessage) -> HTTPResponse:
        raise NotImplementedError

    def _add_routes(self, blueprint: Blueprint) -> None:
        """More routes on the channel's blueprint (none by default)."""

    def blueprint(self, on_new_message: OnNewMessage) -> Blueprint:
        channel = self.name()
        webhook_blueprint = Blueprint(f"{channel}_webhook", type(self).__module__)

        @webhook_blueprint.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        self._add_routes(webhook_blueprint)

        @webhook_blueprint.route("/webhook", methods=["POST"], stream=True)
        async def webhook(request: Request) -> HTTPResponse:
            try:
                return await self._receive(request, on_new_message)
            except Exception as error:  # noqa: BLE001 (a short answer, never a traceback)
                logger.error("%s: webhook failed (%s)", channel, type(error).__name__)
                return refuse(500, "internal error")

        @webhook_blueprint.listener("before_server_stop")
        async def finish(*_: Any) -> None:
            await self.wait_idle()

        return webhook_blueprint
