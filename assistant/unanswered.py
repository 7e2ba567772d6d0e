"""Questions the assistant could not answer, stored without personal data for the officers."""
from __future__ import annotations

import sqlite3
from datetime import datetime, timezone
from pathlib import Path

from assistant.text.redact import redact

_SCHEMA = """
CREATE TABLE IF NOT EXISTS unanswered (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    asked_at TEXT NOT NULL,
    channel TEXT NOT NULL,
    text TEXT NOT NULL,
    intent TEXT,
    confidence REAL,
    reason TEXT NOT NULL
)
"""


class UnansweredLog:
    """One short-lived SQLite connection per write: safe from many concurrent actions."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=5)
        connection.execute(_SCHEMA)
        return connection

    def record(self, text: str, channel: str, intent: str | None, confidence: float | None,
               reason: str) -> None:
        with self._connect() as connection:
            connection.execute(
                "INSERT INTO unanswered (asked_at, channel, text, intent, confidence, reason) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (datetime.now(timezone.utc).isoformat(timespec="seconds"), channel,
                 redact(text)[:1000], intent, confidence, reason),
            )

    def recent(self, limit: int = 100) -> list[dict]:
        with self._connect() as connection:
            connection.row_factory = sqlite3.Row
            rows = connection.execute(
                "SELECT * FROM unanswered ORDER BY id DESC LIMIT ?", (limit,)
            ).fetchall()
        return [dict(row) for row in rows]
