"""Kiosk sessions: one per citizen at the PC, from the first message to "Kết thúc phiên"
or the inactivity timeout.

The page holds its session's secret in memory only (no cookie, no storage). The Rasa
conversation id is derived from the secret by a hash, so neither the id in Rasa's tracker
nor anything on screen after the end leads back to the conversation. One store per app
(`app.state`), bounded: when full, the least recently used session is ended first.
"""
from __future__ import annotations

import asyncio
import hashlib
import secrets
import time
from collections import OrderedDict, deque
from collections.abc import Callable
from dataclasses import dataclass, field

SECRET_BYTES = 32
GRACE_S = 15.0  # the page ends itself at idle_s; the server waits a little longer (slow network)
MESSAGES_PER_MINUTE = 20


def sender_id(secret: str) -> str:
    """The Rasa conversation of a kiosk session (namespaced for the `kiosk` channel)."""
    return "kiosk:" + hashlib.sha256(secret.encode()).hexdigest()[:32]


@dataclass
class KioskSession:
    secret: str
    created: float
    last_seen: float
    qr_session: str | None = None  # the portal's QR-login session, while a QR code is shown
    busy: asyncio.Lock = field(default_factory=asyncio.Lock)  # one message at a time
    recent: deque[float] = field(default_factory=deque)  # times of recent messages

    @property
    def sender(self) -> str:
        return sender_id(self.secret)

    def allow_message(self, now: float) -> bool:
        """At most MESSAGES_PER_MINUTE messages in any minute (a stuck key, a script)."""
        while self.recent and now - self.recent[0] > 60:
            self.recent.popleft()
        if len(self.recent) >= MESSAGES_PER_MINUTE:
            return False
        self.recent.append(now)
        return True


class SessionStore:
    """Open sessions by secret. Expired and evicted sessions are handed to `on_end` (which
    restarts their Rasa conversation) by `sweep`, run periodically by the app."""

    def __init__(self, idle_s: float, capacity: int, clock: Callable[[], float] = time.monotonic) -> None:
        self.idle_s = idle_s
        self.capacity = max(1, capacity)
        self.clock = clock
        self._open: OrderedDict[str, KioskSession] = OrderedDict()
        self._ending: list[KioskSession] = []

    def open(self) -> KioskSession:
        now = self.clock()
        session = KioskSession(secrets.token_urlsafe(SECRET_BYTES), now, now)
        self._open[session.secret] = session
        while len(self._open) > self.capacity:
            _, oldest = self._open.popitem(last=False)
            self._ending.append(oldest)
        return session

    def get(self, secret: str | None) -> KioskSession | None:
        """The open session with this secret, marked as seen now; None if unknown or idle
        too long."""
        if not secret:
            return None
        session = self._open.get(secret)
        if session is None:
            return None
        now = self.clock()
        if self._idle(session, now):
            self._ending.append(self._open.pop(secret))
            return None
        session.last_seen = now
        self._open.move_to_end(secret)
        return session

    def close(self, secret: str | None) -> KioskSession | None:
        return self._open.pop(secret, None) if secret else None

    def sweep(self) -> list[KioskSession]:
        """Sessions to end: idle past the timeout, or evicted since the last sweep."""
        now = self.clock()
        idle = [s for s in self._open.values() if self._idle(s, now)]
        for session in idle:
            del self._open[session.secret]
        ending, self._ending = self._ending + idle, []
        return ending

    def _idle(self, session: KioskSession, now: float) -> bool:
        return now - session.last_seen > self.idle_s + GRACE_S

    def __len__(self) -> int:
        return len(self._open)
