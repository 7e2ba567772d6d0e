"""The durable outbox: a confirmed dossier that could not reach the portal (down, timing
out) is written here before the citizen is told, and sent again until the portal answers.

Each entry carries the idempotency key chosen when the citizen confirmed, so sending it
again, from the action server or from the worker (`python -m assistant.dossiers.outbox`),
can never create a second dossier. SQLite in WAL mode: several processes may use it.

Each entry also records its owner: an HMAC-SHA256 of the citizen's ID number under a random
key kept in the `meta` table of the same file (a plain hash of a 12-digit number is
brute-forced in seconds), never the number itself. Only the owner, logged in again, can give
an entry that waits for a login (`needs_login`) a new token and send it (`resend_as_owner`).
Entries written before owners were recorded have none and can never be sent again.
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import logging
import secrets
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
    updated_at TEXT NOT NULL,
    owner TEXT
)"""
_META = "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
_OWNER_KEY = "owner_hmac_key"


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
    owner: str | None = None  # HMAC of the owner's ID number; None for entries older than owners


class Outbox:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)
            db.execute(_META)
            _add_owner_column(db)
            self._key = _owner_key(db)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=10)
        db.row_factory = sqlite3.Row
        try:
            with db:
                yield db
        finally:
            db.close()

    def owner_hash(self, id_number: str) -> str | None:
        """What is stored of an owner: the keyed hash of the ID number (None for no number)."""
        number = (id_number or "").strip()
        if not number:
            return None
        return hmac.new(self._key, number.encode("utf-8"), hashlib.sha256).hexdigest()

    def owned_by(self, entry: OutboxEntry, id_number: str | None) -> bool:
        """Is `id_number` the citizen who confirmed this entry? Never for an entry without owner."""
        claimed = self.owner_hash(id_number or "")
        return bool(entry.owner and claimed and hmac.compare_digest(entry.owner, claimed))

    def put(self, idempotency_key: str, procedure_id: str, token: str, payload: dict[str, Any],
            error: str, now: datetime, *, owner: str | None = None) -> OutboxEntry:
        """Keep a dossier to send later (the same key again keeps the first entry); `owner` is
        the ID number of the citizen who confirmed it, stored only as its keyed hash."""
        reference = draft_reference(idempotency_key)
        with self._connect() as db:
            db.execute("INSERT OR IGNORE INTO outbox (draft_reference, idempotency_key, procedure_id, token, "
                       "payload, status, attempts, last_error, created_at, updated_at, owner) "
                       "VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?)",
                       (reference, idempotency_key, procedure_id, token,
                        json.dumps(payload, ensure_ascii=False),
                        PENDING, error, now.isoformat(), now.isoformat(), self.owner_hash(owner or "")))
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

    def drafts_of(self, id_number: str) -> list[OutboxEntry]:
        """The citizen's entries not sent yet: waiting for the portal or for a new login."""
        owner = self.owner_hash(id_number)
        if owner is None:
            return []
        with self._connect() as db:
            rows = db.execute("SELECT * FROM outbox WHERE owner = ? AND status IN (?, ?) ORDER BY created_at",
                              (owner, PENDING, NEEDS_LOGIN)).fetchall()
        return [_entry(r) for r in rows]

    def relogin(self, reference: str, id_number: str, token: str, now: datetime) -> OutboxEntry | None:
        """Give an entry waiting for a login the owner's new token and make it pending again;
        None (nothing changed) unless it waits for a login and `id_number` is its owner."""
        owner = self.owner_hash(id_number)
        if owner is None or not token:
            return None
        with self._connect() as db:
            changed = db.execute("UPDATE outbox SET token = ?, status = ?, updated_at = ? "
                                 "WHERE draft_reference = ? AND status = ? AND owner = ?",
                                 (token, PENDING, now.isoformat(), reference.upper(), NEEDS_LOGIN,
                                  owner)).rowcount
        return self.get(reference) if changed else None

    def mark(self, reference: str, status: str, now: datetime, error: str | None = None,
             dossier_code: str | None = None) -> None:
        """Record an attempt; the login token is dropped once it is of no more use."""
        keep_token = status == PENDING
        with self._connect() as db:
            db.execute("UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?, "
                       "dossier_code = COALESCE(?, dossier_code), updated_at = ?, "
                       "token = CASE WHEN ? THEN token ELSE NULL END WHERE draft_reference = ?",
                       (status, error, dossier_code, now.isoformat(), keep_token, reference))


def _add_owner_column(db: sqlite3.Connection) -> None:
    """Outbox files made before owners were recorded get the column; their entries keep none."""
    columns = {row["name"] for row in db.execute("PRAGMA table_info(outbox)")}
    if "owner" in columns:
        return
    try:
        db.execute("ALTER TABLE outbox ADD COLUMN owner TEXT")
    except sqlite3.OperationalError as error:  # another process added it in the meantime
        if "duplicate column" not in str(error):
            raise


def _owner_key(db: sqlite3.Connection) -> bytes:
    """The file's HMAC key for owners: made at random the first time, then always the same."""
    db.execute("INSERT OR IGNORE INTO meta (name, value) VALUES (?, ?)", (_OWNER_KEY, secrets.token_hex(32)))
    row = db.execute("SELECT value FROM meta WHERE name = ?", (_OWNER_KEY,)).fetchone()
    return bytes.fromhex(row["value"])


def _entry(row: sqlite3.Row) -> OutboxEntry:
    return OutboxEntry(row["draft_reference"], row["idempotency_key"], row["procedure_id"], row["token"],
                       json.loads(row["payload"]), row["status"], row["attempts"], row["last_error"],
                       row["dossier_code"], datetime.fromisoformat(row["created_at"]), row["owner"])


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


async def resend_as_owner(outbox: Outbox, entry: OutboxEntry, id_number: str, token: str,
                          client: PortalClient) -> OutboxEntry | None:
    """Send now, with the owner's new login token and its own idempotency key, an entry that
    waited for a login; the entry afterwards, or None if it was not theirs to send."""
    fresh = outbox.relogin(entry.draft_reference, id_number, token, datetime.now(timezone.utc))
    if fresh is None:
        return None
    await send_entry(outbox, fresh, client)
    return outbox.get(entry.draft_reference)


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
