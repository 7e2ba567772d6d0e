"""What the Zalo and Messenger channels share: settings read from credentials.yml or the
environment, per-sender rate limiting, the maximum message length and its polite reply,
a bounded body reader, short JSON refusals, pseudonyms for logs, and background handling.

Every structure keyed by sender is bounded (least recently used entries are dropped), so a
flood of new sender ids cannot grow the process's memory without limit. Sender ids reach
these structures only after the platform's signature was checked, so they are ids the
platform vouches for, not whatever a forger types.
"""
from __future__ import annotations

import asyncio
import enum
import hashlib
import hmac
import logging
import os
import re
import secrets
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Coroutine, Hashable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from sanic import response
from sanic.request import Request
from sanic.response import HTTPResponse

from assistant.settings import load_settings

logger = logging.getLogger(__name__)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")

_PLACEHOLDER = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")

TOO_LONG_REPLY = ("Dạ, tin nhắn của anh/chị dài hơn {max_chars} ký tự nên em chưa đọc được. "
                  "Anh/chị vui lòng hỏi ngắn gọn hơn, hoặc chia thành vài tin nhắn nhỏ giúp em ạ.")
RATE_LIMITED_REPLY = ("Dạ, anh/chị đang gửi tin nhắn hơi nhanh. Anh/chị vui lòng đợi một chút "
                      "rồi nhắn tiếp giúp em ạ.")


# --- settings -------------------------------------------------------------------------

def resolve(credentials: Mapping[str, Any] | None, key: str, env_name: str | None,
            default: str | None = None) -> str | None:
    """A setting from credentials.yml, else from the environment, else `default`.

    Rasa replaces an unquoted `${VAR}` in credentials.yml itself, but refuses to start when
    VAR is unset. The proposed credentials.yml therefore quotes the placeholders
    (`"${ZALO_APP_ID}"`), which Rasa leaves alone, and they are expanded here: an unset
    variable gives `default`, and the channel then refuses its webhooks instead of
    stopping Rasa. An empty value counts as unset.
    """
    raw = (credentials or {}).get(key)
    if raw is None:
        value: str | None = os.environ.get(env_name) if env_name else None
    else:
        value = _PLACEHOLDER.sub(lambda m: os.environ.get(m.group(1), ""), str(raw))
    value = value.strip() if value is not None else None
    return value or default


def _number(credentials: Mapping[str, Any] | None, key: str, env_name: str | None, default: float,
            minimum: float) -> float:
    value = resolve(credentials, key, env_name)
    if value is None:
        return default
    try:
        number = float(value)
    except ValueError:
        logger.warning("setting %s=%r is not a number: using %s", env_name or key, value, default)
        return default
    return max(number, minimum)


@dataclass(frozen=True)
class ChannelLimits:
    """Limits both channels apply; each can be set per channel in credentials.yml or for
    both through the environment."""

    max_message_chars: int = 1000   # MAX_MESSAGE_CHARS (assistant.settings), as in the rest of the project
    max_body_bytes: int = 128 * 1024  # a webhook body larger than this is refused (413) unread
    rate_burst: int = 5             # messages a sender may send at once...
    rate_per_minute: float = 20.0   # ...and then at this pace
    max_tracked_senders: int = 10_000  # bound of every per-sender structure
    max_in_flight: int = 200        # messages being handled at once; beyond: 503, the platform retries
    http_attempts: int = 3          # tries of one outbound call (5xx, 429, network errors)
    http_backoff_s: float = 0.5     # first wait between tries, doubled each time
    http_timeout_s: float = 10.0    # per try

    @classmethod
    def from_credentials(cls, credentials: Mapping[str, Any] | None) -> ChannelLimits:
        def num(key: str, env: str | None, default: float, minimum: float = 1) -> float:
            return _number(credentials, key, env, default, minimum)

        d = cls()
        return cls(
            # MAX_MESSAGE_CHARS is read by the project's settings, as everywhere else
            max_message_chars=int(num("max_message_chars", None, load_settings().max_message_chars)),
            max_body_bytes=int(num("max_body_bytes", "CHANNEL_MAX_BODY_BYTES", d.max_body_bytes, 1024)),
            rate_burst=int(num("rate_burst", "CHANNEL_RATE_BURST", d.rate_burst)),
            rate_per_minute=num("rate_per_minute", "CHANNEL_RATE_PER_MINUTE", d.rate_per_minute, 0.1),
            max_tracked_senders=int(num("max_tracked_senders", "CHANNEL_MAX_TRACKED_SENDERS",
                                        d.max_tracked_senders, 100)),
            max_in_flight=int(num("max_in_flight", "CHANNEL_MAX_IN_FLIGHT", d.max_in_flight)),
            http_attempts=int(num("http_attempts", "CHANNEL_HTTP_ATTEMPTS", d.http_attempts)),
            http_backoff_s=num("http_backoff_s", "CHANNEL_HTTP_BACKOFF_S", d.http_backoff_s, 0),
            http_timeout_s=num("http_timeout_s", "CHANNEL_HTTP_TIMEOUT_S", d.http_timeout_s, 0.1),
        )


# --- logs -----------------------------------------------------------------------------

_PSEUDONYM_KEY = secrets.token_bytes(16)


def pseudonym(value: str) -> str:
    """A short stand-in for a sender id in logs: the same id gives the same pseudonym while
    the process runs (so one conversation's lines can be followed), and the id cannot be
    recovered from it (keyed with a random per-process key)."""
    return "u-" + hmac.new(_PSEUDONYM_KEY, value.encode(), hashlib.sha256).hexdigest()[:10]


# --- bounded per-sender memory --------------------------------------------------------

class BoundedMap(Generic[K, V]):
    """A mapping that forgets its least recently used entries beyond `capacity`."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._items: OrderedDict[K, V] = OrderedDict()

    def get(self, key: K) -> V | None:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: K, value: V) -> None:
        self._items[key] = value
        self._items.move_to_end(key)
        while len(self._items) > self.capacity:
            self._items.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        return key in self._items

    def __len__(self) -> int:
        return len(self._items)


class BoundedSet(Generic[K]):
    """Remembers the most recent `capacity` keys (first contacts, message ids already seen)."""

    def __init__(self, capacity: int) -> None:
        self._map: BoundedMap[K, bool] = BoundedMap(capacity)

    def add(self, key: K) -> bool:
        """Adds `key`; True if it was not there (a first time)."""
        known = key in self._map
        self._map.put(key, True)
        return not known

    def __contains__(self, key: object) -> bool:
        return key in self._map

    def __len__(self) -> int:
        return len(self._map)


class Verdict(enum.Enum):
    ALLOWED = "allowed"
    LIMITED_NOTIFY = "limited, tell the sender once"
    LIMITED = "limited, already told"


@dataclass
class _Bucket:
    tokens: float
    updated: float
    notified: bool = False


class RateLimiter:
    """A token bucket per sender: `burst` messages at once, then `per_minute`.

    Buckets are keyed by namespaced sender ("zalo:…", "facebook:…"), so one sender's flood
    empties only its own bucket. A sender over the limit is told once (`LIMITED_NOTIFY`),
    then silently dropped until the bucket refills, so a flood does not become a flood of
    replies (each Zalo reply also spends the OA's quota). When more than `capacity` senders
    are tracked the least recently seen bucket is dropped: that sender simply starts again
    with a full bucket, which errs on the side of answering citizens.
    """

    def __init__(self, burst: int, per_minute: float, capacity: int,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.burst = float(burst)
        self.rate_per_s = per_minute / 60.0
        self.clock = clock
        self._buckets: BoundedMap[str, _Bucket] = BoundedMap(capacity)

    def check(self, sender: str) -> Verdict:
        now = self.clock()
        bucket = self._buckets.get(sender)
        if bucket is None:
            bucket = _Bucket(tokens=self.burst, updated=now)
            self._buckets.put(sender, bucket)
        bucket.tokens = min(self.burst, bucket.tokens + (now - bucket.updated) * self.rate_per_s)
        bucket.updated = now
        if bucket.tokens >= 1.0:
            bucket.tokens -= 1.0
            bucket.notified = False
            return Verdict.ALLOWED
        if bucket.notified:
            return Verdict.LIMITED
        bucket.notified = True
        return Verdict.LIMITED_NOTIFY

    def __len__(self) -> int:
        return len(self._buckets)


# --- text -----------------------------------------------------------------------------

def too_long(text: str, max_chars: int) -> bool:
    return len(text) > max_chars


def too_long_reply(max_chars: int) -> str:
    return TOO_LONG_REPLY.format(max_chars=f"{max_chars:,}".replace(",", "."))


def split_text(text: str, limit: int) -> list[str]:
    """Cuts `text` into pieces of at most `limit` characters, at a paragraph break if one
    is in the second half of the piece, else at a line break, else at a space, else hard."""
    text = text.strip()
    pieces: list[str] = []
    while len(text) > limit:
        window = text[:limit + 1]
        cut = -1
        for separator in ("\n\n", "\n", " "):
            cut = window.rfind(separator)
            if cut >= limit // 2:
                break
        if cut < limit // 2:
            cut = limit
        pieces.append(text[:cut].rstrip())
        text = text[cut:].lstrip()
    if text:
        pieces.append(text)
    return pieces


def shorten(text: str, limit: int) -> str:
    """`text` within `limit` characters, with an ellipsis when something was cut."""
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 1].rstrip() + "…"


def platform_id(channel: str, recipient_id: str) -> str | None:
    """The platform's own id inside a namespaced Rasa sender id ("zalo:123" -> "123").

    An id without a namespace is taken as the platform's own (a proactive message addressed
    by hand); an id of another channel gives None, so that a Messenger PSID is never sent
    to Zalo or the other way round.
    """
    prefix = f"{channel}:"
    if recipient_id.startswith(prefix):
        return recipient_id[len(prefix):] or None
    if ":" in recipient_id:
        return None
    return recipient_id or None


# --- webhooks -------------------------------------------------------------------------

def refuse(status: int, error: str) -> HTTPResponse:
    """A short JSON refusal, never a traceback."""
    return response.json({"error": error}, status=status)


async def read_body(request: Request, max_bytes: int) -> bytes | None:
    """The raw body of a streamed request, or None as soon as it exceeds `max_bytes`.

    The route must be declared with `stream=True`: the body is then read here chunk by
    chunk, and an oversized one is refused after at most `max_bytes` were read, instead of
    being buffered whole first (Sanic's own limit is 100 MB).
    """
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > max_bytes:
        return None
    chunks: list[bytes] = []
    size = 0
    while True:
        chunk = await request.stream.read() if request.stream is not None else None
        if chunk is None:
            break
        size += len(chunk)
        if size > max_bytes:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


class BackgroundTasks:
    """Handles messages after the webhook has answered.

    Zalo wants its 200 within about 2 seconds and Meta within a few, while Rasa (NLU, the
    action server, the knowledge-base search) and a retried outbound call can take longer;
    a late answer makes the platform send the event again (duplicates) and, if it keeps
    happening, switch the webhook off. So the webhook checks the request, schedules the
    work and answers at once. The tasks are kept here (so they are not garbage-collected
    mid-way), counted (beyond `limit` the webhook answers 503 and the platform retries
    later) and awaited at shutdown for a few seconds.
    """

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._tasks: set[asyncio.Task[None]] = set()

    def full(self) -> bool:
        return len(self._tasks) >= self.limit

    def spawn(self, work: Coroutine[Any, Any, None], label: str) -> None:
        task = asyncio.get_running_loop().create_task(self._guarded(work, label))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    @staticmethod
    async def _guarded(work: Awaitable[None], label: str) -> None:
        try:
            await work
        except Exception as error:  # noqa: BLE001 (a message's failure must not reach the event loop)
            logger.error("%s: handling failed (%s)", label, type(error).__name__)

    async def drain(self, timeout_s: float = 10.0) -> None:
        """Waits (at most `timeout_s`) until every message in hand has been handled."""
        deadline = time.monotonic() + timeout_s
        while self._tasks and time.monotonic() < deadline:
            await asyncio.wait(set(self._tasks), timeout=max(0.0, deadline - time.monotonic()))

    def __len__(self) -> int:
        return len(self._tasks)
