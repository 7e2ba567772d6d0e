"""The kiosk app's side of Rasa: messages through the `kiosk` channel
(connectors/kiosk.py), and the end of a conversation through Rasa's HTTP API."""
from __future__ import annotations

import logging
from typing import Any
from urllib.parse import quote

import httpx

logger = logging.getLogger(__name__)


class BotUnavailable(Exception):
    """Rasa did not answer (down, starting, or failed on the message)."""


class RasaBot:
    def __init__(self, base_url: str, api_token: str | None, timeout_s: float = 60.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.base_url = base_url.rstrip("/")
        self.api_token = api_token
        self._client = httpx.AsyncClient(timeout=timeout_s, transport=transport)

    async def send(self, sender: str, text: str,
                   metadata: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The bot's messages for one citizen message (Rasa's REST format)."""
        body: dict[str, Any] = {"sender": sender, "message": text}
        if metadata:
            body["metadata"] = metadata
        try:
            response = await self._client.post(f"{self.base_url}/webhooks/kiosk/webhook", json=body)
        except httpx.HTTPError as error:
            raise BotUnavailable(type(error).__name__) from error
        if response.status_code != 200:
            raise BotUnavailable(f"HTTP {response.status_code}")
        try:
            messages = response.json()
        except ValueError as error:
            raise BotUnavailable("not JSON") from error
        if not isinstance(messages, list):
            raise BotUnavailable("not a list")
        return [m for m in messages if isinstance(m, dict)]

    async def end(self, sender: str) -> bool:
        """Restart the conversation: its slots (login token, answers) are wiped in Rasa.
        False if Rasa could not be told (the id stays unreachable from the kiosk anyway)."""
        params = {"token": self.api_token} if self.api_token else None
        try:
            response = await self._client.post(
                f"{self.base_url}/conversations/{quote(sender, safe=':')}/tracker/events",
                json={"event": "restart"}, params=params)
        except httpx.HTTPError as error:
            logger.warning("kiosk conversation could not be restarted in Rasa: %s", type(error).__name__)
            return False
        if response.status_code != 200:
            logger.warning("kiosk conversation could not be restarted in Rasa: HTTP %s", response.status_code)
            return False
        return True

    async def aclose(self) -> None:
        await self._client.aclose()
