"""A small log of what citizens asked and how it went, for the officers' dashboard.

No message text and nothing about the citizen: only when (UTC, second), the channel (kiosk,
rest, zalo, facebook), the NLU intent, the procedure the answer was about (if any) and the
outcome:
  answered   an answer was given (an aspect of a procedure, a FAQ entry, a passage)
  choices    the assistant was unsure and offered choices
  unknown    it said it could not answer (no passage good enough, or out of scope)
  fallback   the dialogue could not go on (Rasa's core fallback)
  submitted  a dossier was submitted to the portal (kind `dossier`)
  queued     a dossier was kept in the outbox because the portal was down (kind `dossier`);
             the dashboard counts it when the outbox has sent it, not here
Written by the action server in its own SQLite file (`STATS_DB`, var/stats.sqlite3); a
failure to write is logged and never stops an answer.
"""
from __future__ import annotations

import logging
import sqlite3
from contextlib import closing
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

logger = logging.getLogger(__name__)

OUTCOMES = ("answered", "choices", "unknown", "fallback")
DOSSIER_OUTCOMES = ("submitted", "queued")
# days are counted in Vietnam's time (UTC+7, no summer time)
LOCAL_OFFSET = "+7 hours"
LOCAL_TZ = timezone(timedelta(hours=7))

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at TEXT NOT NULL,
    kind TEXT NOT NULL DEFAULT 'question',
    channel TEXT NOT NULL,
    intent TEXT,
    procedure_id TEXT,
    outcome TEXT NOT NULL
)"""
_INDEX = "CREATE INDEX IF NOT EXISTS events_at ON events (at)"


class StatsLog:
    def __init__(self, path: Path) -> None:
        self.path = path
        self._ready = False

    def _connect(self) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(self.path, timeout=5)
        if not self._ready:
            connection.execute(_SCHEMA)
            connection.execute(_INDEX)
            connection.commit()
            self._ready = True
        return connection

    def record(self, channel: str, intent: str | None, procedure_id: str | None, outcome: str,
               at: datetime | None = None, kind: str = "question") -> None:
        allowed = DOSSIER_OUTCOMES if kind == "dossier" else OUTCOMES
        if outcome not in allowed:
            raise ValueError(f"unknown outcome {outcome!r} for {kind}")
        moment = (at or datetime.now(timezone.utc)).astimezone(timezone.utc)
        with closing(self._connect()) as connection, connection:
            connection.execute(
                "INSERT INTO events (at, kind, channel, intent, procedure_id, outcome) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (moment.isoformat(timespec="seconds"), kind, channel or "rest", intent, procedure_id,
                 outcome))

    def safe_record(self, *args, **kwargs) -> None:
        """`record`, but a full disk or a locked file is only logged: the citizen still gets the answer."""
        try:
            self.record(*args, **kwargs)
        except Exception:
            logger.exception("stats not recorded")

    def daily(self, first: date, last: date,
              kind: str = "question") -> list[tuple[str, str, str | None, str, int]]:
        """(local day, channel, procedure id, outcome, count) between two local days inclusive."""
        if not self.path.exists():
            return []
        start = datetime.combine(first, datetime.min.time(), LOCAL_TZ).astimezone(timezone.utc)
        end = datetime.combine(last + timedelta(days=1), datetime.min.time(),
                               LOCAL_TZ).astimezone(timezone.utc)
        with closing(self._connect()) as connection:
            return [tuple(row) for row in connection.execute(
                f"SELECT date(at, '{LOCAL_OFFSET}') AS day, channel, procedure_id, outcome, COUNT(*) "
                "FROM events WHERE kind = ? AND at >= ? AND at < ? "
                "GROUP BY day, channel, procedure_id, outcome ORDER BY day",
                (kind, start.isoformat(timespec="seconds"), end.isoformat(timespec="seconds")))]
