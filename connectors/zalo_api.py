"""Zalo's side of the channel: its settings, its webhook signature, the OA's tokens and the
customer-service message API (`POST {ZALO_API_BASE}/v3.0/oa/message/cs`, header
`access_token`).

When Zalo says the access token is invalid or expired (-216, -220) the token is refreshed
once through the OAuth v4 refresh flow (`POST {ZALO_OAUTH_BASE}/v4/oa/access_token`,
`grant_type=refresh_token`, header `secret_key` = the application's secret key) and the
message sent again. Zalo's refresh tokens are single-use, so the new pair is kept in the
channel instance and in a file (ZALO_TOKEN_FILE, by default var/zalo-tokens.json, 0600).
"""
from __future__ import annotations

import asyncio
import hashlib
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assistant.settings import load_settings
from connectors.common import pseudonym, resolve
from connectors.outbound import Delivery, HttpSender

logger = logging.getLogger(__name__)

CHANNEL = "zalo"
DEFAULT_API_BASE = "https://openapi.zalo.me"
DEFAULT_OAUTH_BASE = "https://oauth.zaloapp.com"
MESSAGE_PATH = "/v3.0/oa/message/cs"
TOKEN_PATH = "/v4/oa/access_token"
DEFAULT_SIGNATURE_MAX_AGE_S = 300.0
TOKEN_ERRORS = frozenset({-216, -220})  # access token invalid (-216), expired or removed (-220)
REFRESH_COOLDOWN_S = 60.0       # after a failed refresh, do not hammer the OAuth server


@dataclass(frozen=True)
class ZaloSettings:
    """Read once at start-up. A missing app id or OA secret key leaves the webhook refusing
    everything; missing tokens only keep replies from being sent (and logged as such)."""

    app_id: str | None
    oa_secret_key: str | None       # verifies webhooks (the OA's key, not the app's)
    app_secret_key: str | None      # header `secret_key` of the OAuth refresh call
    access_token: str | None
    refresh_token: str | None
    api_base: str = DEFAULT_API_BASE
    oauth_base: str = DEFAULT_OAUTH_BASE
    signature_max_age_s: float = DEFAULT_SIGNATURE_MAX_AGE_S
    token_file: Path | None = None  # where refreshed tokens survive a restart (None: memory only)

    @property
    def can_verify(self) -> bool:
        return bool(self.app_id and self.oa_secret_key)

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> ZaloSettings:
        def get(key: str, env: str, default: str | None = None) -> str | None:
            return resolve(credentials, key, env, default)

        max_age = get("signature_max_age_s", "ZALO_SIGNATURE_MAX_AGE_S")
        token_file = get("token_file", "ZALO_TOKEN_FILE", str(load_settings().data_dir / "zalo-tokens.json"))
        try:
            max_age_s = float(max_age) if max_age else DEFAULT_SIGNATURE_MAX_AGE_S
        except ValueError:
            logger.warning("zalo: ZALO_SIGNATURE_MAX_AGE_S=%r is not a number: using the default", max_age)
            max_age_s = DEFAULT_SIGNATURE_MAX_AGE_S
        return cls(
            app_id=get("app_id", "ZALO_APP_ID"),
            oa_secret_key=get("oa_secret_key", "ZALO_OA_SECRET_KEY"),
            app_secret_key=get("app_secret_key", "ZALO_APP_SECRET_KEY"),
            access_token=get("access_token", "ZALO_ACCESS_TOKEN"),
            refresh_token=get("refresh_token", "ZALO_REFRESH_TOKEN"),
            api_base=(get("api_base", "ZALO_API_BASE") or DEFAULT_API_BASE).rstrip("/"),
            oauth_base=(get("oauth_base", "ZALO_OAUTH_BASE") or DEFAULT_OAUTH_BASE).rstrip("/"),
            signature_max_age_s=max(1.0, max_age_s),
            token_file=None if token_file is None or token_file.lower() == "off" else Path(token_file),
        )


def zalo_signature(app_id: str, raw_body: bytes, timestamp: str, oa_secret_key: str) -> str:
    """Zalo's webhook MAC: sha256(app_id + body + timestamp + OA secret key), hex."""
    return hashlib.sha256(app_id.encode() + raw_body + timestamp.encode() + oa_secret_key.encode()).hexdigest()


# --- tokens and the message API -------------------------------------------------------

class ZaloTokens:
    """The OA's access and refresh tokens, refreshed when Zalo refuses the access token.

    Refresh tokens are single-use: after a refresh the one in ZALO_REFRESH_TOKEN is spent.
    The new pair is kept here, and written to `token_file` when one is configured (mode
    0600), tagged with the environment's refresh token it descends from: after a restart
    the file is used only if the environment still holds that same token, so an operator
    who pastes freshly authorised tokens into the environment is not overridden by it.
    """

    def __init__(self, settings: ZaloSettings, sender: HttpSender,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.settings = settings
        self.sender = sender
        self.monotonic = monotonic
        self.access_token = settings.access_token
        self.refresh_token = settings.refresh_token
        self._lock = asyncio.Lock()
        self._failed_at: float | None = None
        self._load()

    async def refresh(self, refused_token: str | None) -> bool:
        """Gets a new access token unless another call already did since `refused_token`
        was refused; True if there is now a token worth trying."""
        async with self._lock:
            if self.access_token and self.access_token != refused_token:
                return True
            if self._failed_at is not None and self.monotonic() - self._failed_at < REFRESH_COOLDOWN_S:
                return False
            if not (self.refresh_token and self.settings.app_id and self.settings.app_secret_key):
                logger.error("zalo: cannot refresh the access token: ZALO_REFRESH_TOKEN, ZALO_APP_ID "
                             "or ZALO_APP_SECRET_KEY is not set")
                self._failed_at = self.monotonic()
                return False
            delivery = await self.sender.post(
                f"{self.settings.oauth_base}{TOKEN_PATH}",
                form={"refresh_token": self.refresh_token, "app_id": self.settings.app_id,
                      "grant_type": "refresh_token"},
                headers={"secret_key": self.settings.app_secret_key}, what="token refresh")
            body = delivery.body if isinstance(delivery.body, dict) else {}
            access, refresh = body.get("access_token"), body.get("refresh_token")
            if not (delivery.ok and isinstance(access, str) and access and isinstance(refresh, str) and refresh):
                logger.error("zalo: the access token could not be refreshed (%s, error %s): the OA may "
                             "need to be authorised again (docs/channels.md)",
                             delivery.error or "no token in the answer", body.get("error"))
                self._failed_at = self.monotonic()
                return False
            self.access_token, self.refresh_token = access, refresh
            self._failed_at = None
            self._save()
            logger.info("zalo: access token refreshed")
            return True

    def _load(self) -> None:
        path = self.settings.token_file
        if path is None or not path.is_file():
            return
        try:
            stored = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            logger.warning("zalo: token file unreadable: using the environment's tokens")
            return
        if not isinstance(stored, dict) or stored.get("seed") != self.settings.refresh_token:
            return  # the operator has put new tokens in the environment since
        if isinstance(stored.get("access_token"), str) and isinstance(stored.get("refresh_token"), str):
            self.access_token, self.refresh_token = stored["access_token"], stored["refresh_token"]

    def _save(self) -> None:
        path = self.settings.token_file
        if path is None:
            return
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary = path.with_suffix(path.suffix + ".tmp")
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(descriptor, "w", encoding="utf-8") as out:
                json.dump({"seed": self.settings.refresh_token, "access_token": self.access_token,
                           "refresh_token": self.refresh_token}, out)
            os.replace(temporary, path)
        except OSError as error:
            logger.error("zalo: refreshed tokens not saved to the token file (%s): they will be lost "
                         "at the next restart", type(error).__name__)


def _zalo_error(delivery: Delivery) -> int | None:
    """Zalo's `error` field (0: success), None when there is no readable one."""
    if isinstance(delivery.body, dict) and isinstance(delivery.body.get("error"), int):
        return delivery.body["error"]
    return None


class ZaloApi:
    """Sends customer-service messages, refreshing the token once on -216/-220."""

    def __init__(self, settings: ZaloSettings, tokens: ZaloTokens, sender: HttpSender) -> None:
        self.url = f"{settings.api_base}{MESSAGE_PATH}"
        self.tokens = tokens
        self.sender = sender

    async def send(self, user_id: str, message: dict[str, Any]) -> bool:
        ref = pseudonym(f"{CHANNEL}:{user_id}")
        body = {"recipient": {"user_id": user_id}, "message": message}
        token = self.tokens.access_token
        if not token and not await self.tokens.refresh(None):
            logger.warning("zalo: message to %s not sent: no access token", ref)
            return False
        token = self.tokens.access_token
        delivery = await self._post(body, token, ref)
        code = _zalo_error(delivery)
        if code in TOKEN_ERRORS:
            logger.info("zalo: Zalo refused the access token (%s): refreshing it", code)
            if not await self.tokens.refresh(token):
                logger.warning("zalo: message to %s not sent: no valid access token", ref)
                return False
            delivery = await self._post(body, self.tokens.access_token, ref)
            code = _zalo_error(delivery)
        if delivery.ok and code == 0:
            return True
        if delivery.ok:
            logger.warning("zalo: Zalo refused a message to %s (error %s)", ref, code)
        return False

    async def _post(self, body: dict[str, Any], token: str | None, ref: str) -> Delivery:
        return await self.sender.post(self.url, json=body, headers={"access_token": token or ""}, ref=ref)
