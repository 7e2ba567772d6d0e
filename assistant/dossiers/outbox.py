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

An entry confirmed in a Zalo or Messenger conversation records that conversation's Rasa id
(`conversation`, e.g. `zalo:123`): when the worker sends it, it asks Rasa to run
`action_notify_drafts` there (`announce`), and the action, which alone reads the outbox for
that conversation, claims the entry (`notified`) and tells the citizen its dossier code.
Kiosk and REST conversations are not recorded (nothing can be pushed to them: the citizen
learns the result by asking). An entry sent while the citizen is in the chat (they asked
"tra cứu NHAP-…", or logged in again) is told there and marked as announced at once.
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
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from enum import Enum
from pathlib import Path
from typing import Any
from urllib.parse import quote

import aiohttp

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
    owner TEXT,
    conversation TEXT,
    notified INTEGER NOT NULL DEFAULT 0
)"""
_META = "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"
_OWNER_KEY = "owner_hmac_key"
# columns added after the first release: (name, type); older files get them when opened
_ADDED_COLUMNS = (("owner", "TEXT"), ("conversation", "TEXT"), ("notified", "INTEGER NOT NULL DEFAULT 0"))
# Rasa conversation ids of the channels that can receive a pushed message
PUSH_PREFIXES = ("zalo:", "facebook:")
NOTIFY_ACTION = "action_notify_drafts"


def pushable(conversation: str | None) -> str | None:
    """The conversation id if a message can be pushed to it (Zalo, Messenger), else None."""
    return conversation if conversation and conversation.startswith(PUSH_PREFIXES) else None


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
    conversation: str | None = None  # Rasa id of a Zalo/Messenger conversation to tell; else None
    notified: bool = False  # the citizen has been told it was sent (or nobody can be)


class Outbox:
    def __init__(self, path: Path) -> None:
        self.path = path
        path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(_SCHEMA)
            db.execute(_META)
            for name, kind in _ADDED_COLUMNS:
                _add_column(db, name, kind)
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

    def log_ref(self, conversation: str) -> str:
        """A short keyed hash of a conversation id, for the log (not reversible without the file)."""
        return "c-" + hmac.new(self._key, conversation.encode("utf-8"), hashlib.sha256).hexdigest()[:10]

    def owned_by(self, entry: OutboxEntry, id_number: str | None) -> bool:
        """Is `id_number` the citizen who confirmed this entry? Never for an entry without owner."""
        claimed = self.owner_hash(id_number or "")
        return bool(entry.owner and claimed and hmac.compare_digest(entry.owner, claimed))

    def put(self, idempotency_key: str, procedure_id: str, token: str, payload: dict[str, Any],
            error: str, now: datetime, *, owner: str | None = None,
            conversation: str | None = None) -> OutboxEntry:
        """Keep a dossier to send later (the same key again keeps the first entry); `owner` is
        the ID number of the citizen who confirmed it, stored only as its keyed hash;
        `conversation` (the Rasa sender id) is kept only for Zalo and Messenger."""
        reference = draft_reference(idempotency_key)
        with self._connect() as db:
            db.execute("INSERT OR IGNORE INTO outbox (draft_reference, idempotency_key, procedure_id, token, "
                       "payload, status, attempts, last_error, created_at, updated_at, owner, conversation) "
                       "VALUES (?, ?, ?, ?, ?, ?, 1, ?, ?, ?, ?, ?)",
                       (reference, idempotency_key, procedure_id, token,
                        json.dumps(payload, ensure_ascii=False),
                        PENDING, error, now.isoformat(), now.isoformat(), self.owner_hash(owner or ""),
                        pushable(conversation)))
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
             dossier_code: str | None = None, *, told: bool = False) -> None:
        """Record an attempt; the login token is dropped once it is of no more use. `told`:
        the citizen has just been told in the chat that it was sent (no pushed message then)."""
        keep_token = status == PENDING
        with self._connect() as db:
            db.execute("UPDATE outbox SET status = ?, attempts = attempts + 1, last_error = ?, "
                       "dossier_code = COALESCE(?, dossier_code), updated_at = ?, "
                       "token = CASE WHEN ? THEN token ELSE NULL END, "
                       "notified = CASE WHEN ? THEN 1 ELSE notified END WHERE draft_reference = ?",
                       (status, error, dossier_code, now.isoformat(), keep_token,
                        told and status == SUBMITTED, reference))

    def unannounced(self) -> dict[str, list[str]]:
        """Sent entries whose conversation has not been told yet: conversation -> references."""
        with self._connect() as db:
            rows = db.execute("SELECT draft_reference, conversation FROM outbox WHERE status = ? "
                              "AND conversation IS NOT NULL AND notified = 0 ORDER BY created_at",
                              (SUBMITTED,)).fetchall()
        found: dict[str, list[str]] = {}
        for row in rows:
            found.setdefault(row["conversation"], []).append(row["draft_reference"])
        return found

    def claim_announcements(self, conversation: str) -> list[OutboxEntry]:
        """This conversation's sent entries not announced yet, marked as announced in the same
        statement: two runs at once never announce one entry twice, nor another conversation's."""
        if pushable(conversation) is None:
            return []
        with self._connect() as db:
            rows = db.execute("UPDATE outbox SET notified = 1 WHERE conversation = ? AND status = ? "
                              "AND notified = 0 RETURNING *", (conversation, SUBMITTED)).fetchall()
        return sorted((_entry(r) for r in rows), key=lambda e: e.created_at)

    def mark_notified(self, references: list[str]) -> None:
        """Nobody is to be told about these any more (their conversation is gone)."""
        with self._connect() as db:
            db.executemany("UPDATE outbox SET notified = 1 WHERE draft_reference = ?",
                           [(reference,) for reference in references])


def _add_column(db: sqlite3.Connection, name: str, kind: str) -> None:
    """Outbox files made before a column existed get it (owner, conversation: NULL, so their
    entries have no owner and are never pushed; notified: 0)."""
    columns = {row["name"] for row in db.execute("PRAGMA table_info(outbox)")}
    if name in columns:
        return
    try:
        db.execute(f"ALTER TABLE outbox ADD COLUMN {name} {kind}")
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
                       row["dossier_code"], datetime.fromisoformat(row["created_at"]), row["owner"],
                       row["conversation"], bool(row["notified"]))


async def send_entry(outbox: Outbox, entry: OutboxEntry, client: PortalClient, *, told: bool = True) -> str:
    """Try once to send an entry; its new status. `told`: the caller tells the citizen the
    outcome in the chat (the action server); the worker passes False, and `announce` then
    pushes a message to the entry's conversation."""
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
    outbox.mark(entry.draft_reference, SUBMITTED, now, None, dossier.code, told=told)
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
        status = await send_entry(outbox, entry, client, told=False)
        counts[status] = counts.get(status, 0) + 1
    return counts


class Notice(Enum):
    """What became of a request to Rasa to announce a conversation's sent drafts."""
    ASKED = "asked"    # Rasa ran the action (whether it could announce anything is in the outbox)
    GONE = "gone"      # Rasa has no such conversation: nobody left to tell
    FAILED = "failed"  # Rasa down or refusing: ask again at the next pass


Notifier = Callable[[str], Awaitable[Notice]]


class RasaNotifier:
    """Asks Rasa (HTTP API, `--enable-api`) to run `action_notify_drafts` in a conversation,
    answering on its latest input channel, which pushes the messages (Zalo, Messenger).
    Rasa 3.6 marks this endpoint as deprecated; it is still the way to run one action."""

    def __init__(self, rasa_url: str, api_token: str | None, timeout_s: float = 30.0) -> None:
        self.rasa_url = rasa_url.rstrip("/")
        self.api_token = api_token
        self.timeout = aiohttp.ClientTimeout(total=timeout_s)

    async def __call__(self, conversation: str) -> Notice:
        url = f"{self.rasa_url}/conversations/{quote(conversation, safe=':')}/execute"
        params = {"output_channel": "latest", **({"token": self.api_token} if self.api_token else {})}
        try:
            async with aiohttp.ClientSession(timeout=self.timeout) as session:
                async with session.post(url, params=params, json={"name": NOTIFY_ACTION}) as response:
                    body = await response.json(content_type=None) if response.status in (200, 404) else None
        except (aiohttp.ClientError, asyncio.TimeoutError, ValueError) as error:  # noqa: UP041
            logger.warning("outbox: Rasa could not be asked to announce: %s", type(error).__name__)
            return Notice.FAILED
        if response.status == 404 and _unknown_conversation(body):
            return Notice.GONE
        if response.status != 200:  # a bare 404: Rasa's HTTP API is off (no --enable-api) or elsewhere
            logger.warning("outbox: Rasa refused the announcement: HTTP %s", response.status)
            return Notice.FAILED
        if isinstance(body, dict) and body.get("messages"):  # collected, not pushed: no such channel now
            logger.warning("outbox: the conversation's latest channel cannot receive a pushed message")
        return Notice.ASKED


def _unknown_conversation(body: Any) -> bool:
    """Is this Rasa's own 404 for a conversation its tracker store does not have?"""
    return isinstance(body, dict) and body.get("message") == "Conversation ID not found."


async def announce(outbox: Outbox, notify: Notifier) -> dict[str, int]:
    """Ask for one announcement per conversation with sent, unannounced entries; counts of
    entries announced, given up (conversation gone) and kept for the next pass. An entry
    counts as announced once the action has claimed it: Rasa answers 200 even when the
    action server is down, and the entry is then kept."""
    counts: dict[str, int] = {}
    for conversation, references in outbox.unannounced().items():
        outcome = await _ask(notify, conversation, outbox.log_ref(conversation))
        if outcome is Notice.GONE:
            outbox.mark_notified(references)
        left = [r for r in references if not _notified(outbox, r)]
        if outcome is Notice.FAILED:
            logger.info("outbox: announcement to %s kept for the next pass", outbox.log_ref(conversation))
        elif left:
            logger.warning("outbox: %d draft(s) of %s not announced (action server down?): kept",
                           len(left), outbox.log_ref(conversation))
        result = "kept" if left else ("gone" if outcome is Notice.GONE else "announced")
        counts[result] = counts.get(result, 0) + len(references)
    return counts


async def _ask(notify: Notifier, conversation: str, ref: str) -> Notice:
    """The notifier's answer; any error it raises counts as a failure (logged, never raised)."""
    try:
        outcome = await notify(conversation)
    except Exception as error:  # noqa: BLE001 (the worker must go on)
        logger.warning("outbox: announcing to %s failed: %s", ref, type(error).__name__)
        return Notice.FAILED
    if outcome is Notice.GONE:
        logger.info("outbox: %s no longer exists in Rasa: its drafts are not announced", ref)
    return outcome


def _notified(outbox: Outbox, reference: str) -> bool:
    entry = outbox.get(reference)
    return entry is None or entry.notified


async def one_pass(outbox: Outbox, client: PortalClient, notify: Notifier | None) -> dict[str, int]:
    """Send what is pending, then announce what was sent; counts of both."""
    counts = await drain(outbox, client)
    if notify is not None:
        counts.update({f"notice_{k}": v for k, v in (await announce(outbox, notify)).items()})
    return counts


async def run_worker(outbox: Outbox, client: PortalClient, interval_s: float,
                     notify: Notifier | None = None) -> None:
    while True:
        counts = await one_pass(outbox, client, notify)
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
    notify = RasaNotifier(settings.rasa_url, settings.rasa_api_token)
    if args.once:
        print(asyncio.run(one_pass(outbox, client, notify)))
    else:
        asyncio.run(run_worker(outbox, client, settings.outbox_interval_s, notify))


if __name__ == "__main__":
    main()
