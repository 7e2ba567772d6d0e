"""The channels' one way out to a platform API: a POST with a timeout, retried with
exponential backoff (aiohttp-retry) on 5xx, 429 and network errors, that never raises.

A platform being down, slow or rate limiting us must not crash the channel nor make Rasa
drop the conversation turn: the caller gets a `Delivery` to look at, and a failure is
logged with the channel, what was sent (a kind, not the content), the HTTP status or the
exception's class, and a pseudonym of the recipient, never the text or the ids in clear.
A 4xx other than 429 is not retried: the platform understood and said no.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
from aiohttp_retry import ExponentialRetry, RetryClient

logger = logging.getLogger(__name__)

RETRIED_EXCEPTIONS: set[type[Exception]] = {aiohttp.ClientError, asyncio.TimeoutError}
RETRIED_STATUSES = {429}


@dataclass(frozen=True)
class Delivery:
    """What came back from one outbound call (after its retries)."""

    status: int | None  # HTTP status of the last try; None: no answer (network error, timeout)
    body: Any           # the answer's JSON, None if there was none or it was not JSON
    error: str | None   # why it failed, without personal data; None on a 2xx

    @property
    def ok(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


class HttpSender:
    """Posts JSON or a form to a platform API on behalf of one channel."""

    def __init__(self, channel: str, attempts: int = 3, backoff_s: float = 0.5,
                 timeout_s: float = 10.0) -> None:
        self.channel = channel
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s
        self.timeout_s = timeout_s
        self._retry_logger = logging.getLogger(f"{__name__}.retry")

    async def post(self, url: str, *, json: Any = None, form: Mapping[str, str] | None = None,
                   headers: Mapping[str, str] | None = None, what: str = "message",
                   ref: str = "-") -> Delivery:
        """POSTs and returns the outcome; logs a warning when it finally failed.

        `what` says what was sent ("message", "token refresh") and `ref` whom it was for
        (a pseudonym): both go to the log line, nothing else of the request does.
        """
        # aiohttp-retry waits start_timeout * factor**attempt, attempt counting from 1
        retry = ExponentialRetry(attempts=self.attempts, start_timeout=self.backoff_s / 2, factor=2.0,
                                 statuses=RETRIED_STATUSES, exceptions=RETRIED_EXCEPTIONS,
                                 retry_all_server_errors=True)
        try:
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=self.timeout_s)) as session:
                client = RetryClient(client_session=session, retry_options=retry, raise_for_status=False,
                                     logger=self._retry_logger)
                async with client.post(url, json=json, data=dict(form) if form is not None else None,
                                       headers=dict(headers or {})) as answer:
                    status = answer.status
                    try:
                        body = await answer.json(content_type=None)
                    except ValueError:
                        body = None
        except Exception as error:  # noqa: BLE001 (never raise into the channel)
            delivery = Delivery(None, None, type(error).__name__)
        else:
            delivery = Delivery(status, body, None if 200 <= status < 300 else f"HTTP {status}")
        if not delivery.ok:
            logger.warning("%s: %s to %s failed after up to %d attempt(s): %s",
                           self.channel, what, ref, self.attempts, delivery.error)
        return delivery
