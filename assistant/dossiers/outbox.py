"""The durable outbox: a confirmed dossier that could not reach the portal (down, timing
out) is written here before the citizen is told, and sent again until the portal answers.

Each entry carries the idempotency key chosen when the citizen confirmed, so sending it
again, from the action server or from the worker (`python -m assistant.dossiers.outbox`),
can never create a second dossier. SQLite in WAL mode: several processes may use it.
"""
from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from assistant.clients.portal import PortalAuthError, PortalClient, PortalRejected, PortalUnavailable

logger = logging.getLogger(__name__)

PENDING, SUBMITTED, NEEDS_LOGIN, REJECTED = "pending", "submitted", "needs_login", "rejected"

_SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    draft_reference TEXT PRIMARY KEY,
    idempotency_key TEXT NOT NULL UNIQUE,
    procedure_id TEXT NOT NULL,
    token TEXT,
    payload TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    dossier_code TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)"""


def draft_reference(idempotency_key: str) -> str:
    """The reference the citizen is given for a dossier still in the outbox."""
    return "NHAP-" + idempotency_key.replace("-", "")[:8].upper()


@dataclass(frozen=True)
class OutboxEntry:
    draft_reference: str
    idempotency_key: str
    procedure_id: str
    token: str | None
    payload: dict[str, Any]  # fields, commune_code
    status: str
    attempts: int
    last_error: str | None
    dossier_code: str | None
    created_at: datetime


class Outbox:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        try:
            with db:
                yield db
        finally:
            db.close()

    def put(self, idempotency_key: str, procedure_id: str, token: str, payload: dict[str, Any],
            error: str, now: datetime) -> OutboxEntry:
        """Keep a dossier to send later (the same key again keeps the first entry)."""
        reference = draft_reference(idempotency_key)
        with self._connect() as db:
            db.execute("INSERT OR IGNORE INTO outbox (draft_reference, idempotency_key, procedure_id, token, "
                       "payload, status, attempts, last_error, created_at, updated_at) "
                       "VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?)",
                       (reference, idempotency_key, procedure_id, token,
                        json.dumps(payload, ensure_ascii=False),
                        PENDING, error, now.isoformat(), now.isoformat()))
        entry = self.get(reference)
        assert entry is not None
        return entry

    def get(self, reference: str) -> OutboxEntry | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM outbox WHERE draft_reference = ?",
                             (reference.upper(),)).fetchone()
        return _entry(row) if row else None

    def pending(self) -> list[OutboxEntry]:
        with self._connect() as db:
            rows = db.execute("SELECT * FROM outbox WHERE status = ? ORDER BY created_at",
                              (PENDING,)).fetchall()
        return [_entry(r) for r in rows]

    def mark(self, reference: str, status: str, now: datetime, error: str | None = None,
             dossier_code: str | None = None) -> None:
        """Record an attempt; the login token is dropped once it is of no more use."""
        keep_token = status == PENDING
        with self._connect() as db:
            db.execute("UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?, "
                       "dossier_code = COALESCE(?, dossier_code), updated_at = ?, "
                       "token = CASE WHEN ? THEN token ELSE NULL END WHERE draft_reference = ?",
                       (status, error, dossier_code, now.isoformat(), keep_token, reference))


def _entry(row: sqlite3.Row) -> OutboxEntry:
    return OutboxEntry(row["draft_reference"], row["idempotency_key"], row["procedure_id"], row["token"],
                       json.loads(row["payload"]), row["status"], row["attempts"], row["last_error"],
                       row["dossier_code"], datetime.fromisoformat(row["created_at"]))


async def send_entry(outbox: Outbox, entry: OutboxEntry, client: PortalClient) -> str:
    """Try once to send an entry; its new status."""
    now = datetime.now(timezone.utc)
    if not entry.token:
        outbox.mark(entry.draft_reference, NEEDS_LOGIN, now, "no login token")
        return NEEDS_LOGIN
    try:
        dossier = await client.submit_dossier(entry.token, entry.procedure_id, entry.payload["fields"],
                                              entry.idempotency_key,
                                              commune_code=entry.payload.get("commune_code"))
    except PortalUnavailable as error:
        outbox.mark(entry.draft_reference, PENDING, now, str(error))
        return PENDING
    except PortalAuthError as error:  # the citizen's login ran out while the portal was down
        outbox.mark(entry.draft_reference, NEEDS_LOGIN, now, str(error))
        return NEEDS_LOGIN
    except PortalRejected as error:
        outbox.mark(entry.draft_reference, REJECTED, now, str(error))
        return REJECTED
    outbox.mark(entry.draft_reference, SUBMITTED, now, None, dossier.code)
    logger.info("outbox %s sent as dossier %s", entry.draft_reference, dossier.code)
    return SUBMITTED


async def drain(outbox: Outbox, client: PortalClient) -> dict[str, int]:
    """Send every pending entry once; counts by resulting status."""
    counts: dict[str, int] = {}
    for entry in outbox.pending():
        status = await send_entry(outbox, entry, client)
        counts[status] = counts.get(status, 0) + 1
    return counts


async def run_worker(outbox: Outbox, client: PortalClient, interval_s: float) -> None:
    while True:
        counts = await drain(outbox, client)
        if counts:
            logger.info("outbox: %s", counts)
        await asyncio.sleep(interval_s)


def main() -> None:
    from assistant.settings import load_settings

    parser = argparse.ArgumentParser(description="Send dossiers kept in the outbox when the portal answers.")
    parser.add_argument("--once", action="store_true", help="one pass, then exit")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    settings = load_settings()
    outbox, client = Outbox(settings.outbox_db), PortalClient.from_settings(settings)
    if args.once:
        print(asyncio.run(drain(outbox, client)))
    else:
        asyncio.run(run_worker(outbox, client, settings.outbox_interval_s))


if __name__ == "__main__":
    main()
