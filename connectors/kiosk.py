"""The kiosk's channel, `kiosk` (webhook `/webhooks/kiosk/webhook`).

The kiosk page never talks to Rasa itself. The FastAPI app (services/kiosk) holds each
citizen's session and posts here with a sender id derived from that session's secret
(`kiosk:<hash>`); the bot's messages come back in the response, as on Rasa's REST channel.
Under its own name, the actions know the citizen is at a commune-office PC: they offer
the VNeID QR login and attach the printable receipt.

Unlike Rasa's REST channel, a client cannot choose another `input_channel`, and a sender id
outside the `kiosk:` namespace is refused (400), so nothing posted here lands in a Zalo or
Messenger conversation, nor in Rasa's shared "default" conversation.
"""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from rasa.core.channels.channel import CollectingOutputChannel, InputChannel, UserMessage
from sanic import Blueprint, response
from sanic.request import Request
from sanic.response import HTTPResponse

logger = logging.getLogger(__name__)

SENDER_PREFIX = "kiosk:"
MAX_SENDER_CHARS = 100
MAX_TEXT_CHARS = 5000  # the FastAPI app enforces the citizen's limit; this only bounds the channel


def valid_sender(sender: Any) -> bool:
    return (isinstance(sender, str) and sender.startswith(SENDER_PREFIX)
            and len(SENDER_PREFIX) < len(sender) <= MAX_SENDER_CHARS)


class KioskInput(InputChannel):
    @classmethod
    def name(cls) -> str:
        return "kiosk"

    def blueprint(self, on_new_message: Callable[[UserMessage], Awaitable[Any]]) -> Blueprint:
        hook = Blueprint("kiosk_webhook", __name__)

        @hook.route("/", methods=["GET"])
        async def health(_: Request) -> HTTPResponse:
            return response.json({"status": "ok"})

        @hook.route("/webhook", methods=["POST"])
        async def receive(request: Request) -> HTTPResponse:
            try:
                body = request.json
            except Exception:  # sanic raises on a body that is not JSON
                body = None
            if not isinstance(body, dict):
                return response.json({"error": "body must be a JSON object"}, status=400)
            sender, text, metadata = body.get("sender"), body.get("message"), body.get("metadata")
            if not valid_sender(sender):
                return response.json({"error": "sender must be a kiosk: id"}, status=400)
            if not isinstance(text, str) or not text.strip() or len(text) > MAX_TEXT_CHARS:
                return response.json({"error": "message must be non-empty text"}, status=400)
            collector = CollectingOutputChannel()
            try:
                await on_new_message(UserMessage(
                    text, collector, sender, input_channel=self.name(),
                    metadata=metadata if isinstance(metadata, dict) else None))
            except Exception:  # the message text may hold personal data: not logged
                logger.exception("kiosk message could not be handled")
                return response.json({"error": "the assistant failed on this message"}, status=500)
            return response.json(collector.messages)

        return hook
