"""Questions the assistant could not answer, stored without personal data for the officers.

Written by the action server (one row per question it gave up on or answered only with
choices), read and triaged in the officers' console (services/console/inbox.py): each row is
`open` until an officer marks it `handled`, `ignored` or `drafted` (turned into a FAQ draft,
whose number is kept). The text is redacted (assistant/text/redact.py) before it is written:
the file never holds an ID number, a phone number, a dossier code, an e-mail or a detected
name.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from datetime import datetime, timezone
from pathlib import Path

from assistant.text.redact import redact

OPEN, HANDLED, IGNORED, DRAFTED = "open", "handled", "ignored", "drafted"
STATUSES = (OPEN, HANDLED, IGNORED, DRAFTED)

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
# columns added with the console's inbox; older files get them when opened
_ADDED_COLUMNS = (("status", "TEXT NOT NULL DEFAULT 'open'"), ("status_by", "TEXT"),
                  ("status_at", "TEXT"), ("draft_id", "INTEGER"))


class UnansweredLog:
    """One short-lived SQLite connection per write: safe from many concurrent actions."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=5)
        if not self._ready:
            connection.execute(_SCHEMA)
            present = {row[1] for row in connection.execute("PRAGMA table_info(unanswered)")}
            for name, kind in _ADDED_COLUMNS:
                if name not in present:
                    connection.execute(f"ALTER TABLE unanswered ADD COLUMN {name} {kind}")
            connection.commit()
            self._ready = True
        return connection

    def record(self, text: str, channel: str, intent: str | None, confidence: float | None,
               reason: str, at: datetime | None = None) -> None:
        moment = (at or datetime.now(timezone.utc)).astimezone(timezone.utc)
        with self._connect() as connection:
            connection.execute(
                "INSERT INTO unanswered (asked_at, channel, text, intent, confidence, reason) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (moment.isoformat(timespec="seconds"), channel, redact(text)[:1000], intent, confidence,
                 reason),
            )

    def recent(self, limit: int = 100) -> list[dict]:
        return self.rows(limit=limit)

    def rows(self, status: str | None = None, since: datetime | None = None, limit: int = 2000) -> list[dict]:
        """Newest first; nothing (and no file created) when nothing was ever recorded."""
        if not self.path.exists():
            return []
        clauses, values = [], []
        if status:
            clauses.append("status = ?")
            values.append(status)
        if since:
            clauses.append("asked_at >= ?")
            values.append(since.astimezone(timezone.utc).isoformat(timespec="seconds"))
        where = f"WHERE {' AND '.join(clauses)} " if clauses else ""
        with self._connect() as connection:
            connection.row_factory = sqlite3.Row
            found = connection.execute(f"SELECT * FROM unanswered {where}ORDER BY id DESC LIMIT ?",
                                       (*values, limit)).fetchall()
        return [dict(row) for row in found]

    def mark(self, ids: Iterable[int], status: str, by: str, draft_id: int | None = None) -> int:
        """Set the status of these questions; how many there were."""
        if status not in STATUSES:
            raise ValueError(f"unknown status {status!r}")
        chosen = sorted({int(i) for i in ids})
        if not chosen or not self.path.exists():
            return 0
        marks = ",".join("?" * len(chosen))
        with self._connect() as connection:
            changed = connection.execute(
                f"UPDATE unanswered SET status = ?, status_by = ?, status_at = ?, draft_id = ? "
                f"WHERE id IN ({marks})",
                (status, by, datetime.now(timezone.utc).isoformat(timespec="seconds"), draft_id, *chosen),
            ).rowcount
        return changed

    def texts(self, ids: Iterable[int]) -> list[str]:
        """The (redacted) texts of these questions, oldest first."""
        chosen = sorted({int(i) for i in ids})
        if not chosen or not self.path.exists():
            return []
        marks = ",".join("?" * len(chosen))
        with self._connect() as connection:
            return [row[0] for row in connection.execute(
                f"SELECT text FROM unanswered WHERE id IN ({marks}) ORDER BY id", chosen)]
