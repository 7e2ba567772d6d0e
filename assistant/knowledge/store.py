"""The content store: officers' changes to the knowledge base, over the shipped YAML files.

The files in `knowledge_base/` are version 0 of every entry. An officer's change is first a
draft; an approver publishes it as a new version (who proposed it, who published it, when,
why). Every version can be restored, which publishes its payload again as a new version.
Entries are keyed as in `passages.py`: `faq:<id>` and `procedure:<id>/<aspect>`; a payload is
the entry as it would be written in its YAML file (dates as ISO strings), or None for a
retired FAQ entry. `generation` grows on every publish and restore, so a running process can
tell cheaply that the published content changed.

stdlib only (sqlite3): used from the Rasa side (Python 3.10) and the services (3.11).
"""
from __future__ import annotations

import contextlib
import dataclasses
import difflib
import json
import logging
import re
import sqlite3
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from assistant.knowledge.loader import load_knowledge_base, read_faq_entry, read_section
from assistant.knowledge.model import ASPECTS, PROCEDURE_IDS, KnowledgeBase
from assistant.sqlite_db import connection

logger = logging.getLogger(__name__)

FAQ_ID = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
KINDS = ("faq", "section")
DRAFT_STATES = ("open", "published", "discarded")

SCHEMA = """
CREATE TABLE IF NOT EXISTS drafts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_key TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('faq', 'section')),
    payload TEXT,                       -- JSON; NULL: retire the entry
    base_version INTEGER NOT NULL,      -- the published version the draft was made from
    proposed_by TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_by TEXT,
    updated_at TEXT,
    note TEXT NOT NULL DEFAULT '',
    state TEXT NOT NULL DEFAULT 'open' CHECK (state IN ('open', 'published', 'discarded')),
    decided_by TEXT,
    decided_at TEXT,
    published_version INTEGER
);
CREATE INDEX IF NOT EXISTS drafts_by_key ON drafts (entry_key, state);
CREATE TABLE IF NOT EXISTS versions (
    entry_key TEXT NOT NULL,
    version INTEGER NOT NULL CHECK (version >= 1),
    kind TEXT NOT NULL CHECK (kind IN ('faq', 'section')),
    payload TEXT,                       -- JSON; NULL: retired
    published_by TEXT NOT NULL,
    proposed_by TEXT,
    published_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    restored_from INTEGER,
    draft_id INTEGER REFERENCES drafts (id),
    PRIMARY KEY (entry_key, version)
);
CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (name, value) VALUES ('generation', 0);
"""


class StoreError(ValueError):
    """A request the store refuses; the message is shown to the officer."""


class StaleDraft(StoreError):
    """The entry was published again after the draft was made from it."""


# ---------------------------------------------------------------- keys and payloads

def entry_kind(key: str) -> str:
    """'faq' or 'section'; StoreError for anything else."""
    if key.startswith("faq:") and FAQ_ID.match(key[4:]):
        return "faq"
    if key.startswith("procedure:"):
        procedure, _, aspect = key[len("procedure:"):].partition("/")
        if procedure in PROCEDURE_IDS and aspect in ASPECTS:
            return "section"
        if procedure not in PROCEDURE_IDS:
            raise StoreError(f"Mã thủ tục không có trong danh mục: {procedure!r}.")
        raise StoreError(f"Phần không biết: {aspect!r} (chọn một trong: {', '.join(ASPECTS)}).")
    raise StoreError(f"Khóa mục không hợp lệ: {key!r} (dạng faq:<mã> hoặc procedure:<mã>/<phần>; "
                     "mã chỉ gồm chữ thường không dấu, số và dấu gạch ngang).")


def section_of(key: str) -> tuple[str, str]:
    procedure, _, aspect = key[len("procedure:"):].partition("/")
    return procedure, aspect


def _iso(value: Any) -> str:
    if isinstance(value, date | datetime):
        return value.isoformat()
    raise TypeError(f"not JSON: {type(value).__name__}")


def canonical(payload: Any) -> Any:
    """The payload as plain JSON data (dates as ISO strings, keys as strings)."""
    return None if payload is None else json.loads(json.dumps(payload, default=_iso, ensure_ascii=False))


def render_yaml(payload: Any) -> str:
    """Canonical YAML of a payload (sorted keys, Vietnamese as is): what diffs compare."""
    if payload is None:
        return "# (mục đã gỡ bỏ)\n"
    return yaml.safe_dump(canonical(payload), allow_unicode=True, sort_keys=True,
                          default_flow_style=False, width=100)


def diff_payloads(old: Any, new: Any, old_label: str, new_label: str) -> str:
    lines = difflib.unified_diff(render_yaml(old).splitlines(keepends=True),
                                 render_yaml(new).splitlines(keepends=True),
                                 fromfile=old_label, tofile=new_label)
    return "".join(lines)


def base_payloads(base_dir: Path) -> dict[str, Any]:
    """Version 0 of every entry: the YAML files' own data, by entry key."""
    payloads: dict[str, Any] = {}
    for path in sorted((base_dir / "faq").glob("*.yml")):
        for entry in yaml.safe_load(path.read_text(encoding="utf-8")) or []:
            if isinstance(entry, dict) and isinstance(entry.get("id"), str):
                payloads[f"faq:{entry['id']}"] = canonical(entry)
    for path in sorted((base_dir / "procedures").glob("*.yml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for aspect, section in (data.get("sections") or {}).items():
            payloads[f"procedure:{data.get('id', path.stem)}/{aspect}"] = canonical(section)
    return payloads


def payload_problems(key: str, payload: Any, kb: KnowledgeBase) -> list[str]:
    """Everything wrong with a payload for `key`, in Vietnamese (empty: it can be published).

    The loader's own rules (what `python -m assistant.knowledge.check` enforces) plus what the
    console requires of new content: a FAQ entry's legal basis, its id matching the key."""
    try:
        kind = entry_kind(key)
    except StoreError as error:
        return [str(error)]
    if payload is None:
        return [] if kind == "faq" else [
            "Không gỡ bỏ được một phần của thủ tục (cả chín phần là bắt buộc); "
            "hãy đặt 'valid_to' (ngày hết hiệu lực) cho nội dung cũ."]
    if not isinstance(payload, dict):
        return ["Nội dung phải là một bảng khóa: giá trị."]
    if kind == "faq":
        problems = [p.message for p in read_faq_entry(payload, kb.sources)[1]]
        if payload.get("id") not in (None, "") and payload.get("id") != key[4:]:
            problems.append(f"'id' ({payload.get('id')!r}) phải trùng mã của mục ({key[4:]!r}).")
        basis = payload.get("basis")
        if not isinstance(basis, str) or not basis.strip():
            problems.append("thiếu căn cứ pháp lý ('basis'): văn bản luật người dân được xem kèm câu trả lời")
        return problems
    return [p.message for p in read_section(section_of(key)[1], payload, kb.sources)[1]]


def apply_overlay(base: KnowledgeBase, published: dict[str, Version]) -> KnowledgeBase:
    """A new knowledge base: `base` with each entry's latest published version (base untouched).
    A stored payload that no longer passes the check (say, a source key was removed from
    sources.yml) is skipped with a warning, and the entry keeps its earlier content."""
    faq = dict(base.faq)
    procedures = dict(base.procedures)
    for key, version in sorted(published.items()):
        if payload_problems(key, version.payload, base):
            logger.warning("published %s v%d no longer passes the check; not applied", key, version.version)
            continue
        if version.kind == "faq":
            entry_id = key[4:]
            if version.payload is None:
                faq.pop(entry_id, None)
            else:
                entry, _ = read_faq_entry(version.payload, base.sources)
                if entry is not None:
                    faq[entry_id] = entry
        else:
            procedure_id, aspect = section_of(key)
            section, _ = read_section(aspect, version.payload, base.sources)
            if section is not None and procedure_id in procedures:
                procedure = procedures[procedure_id]
                procedures[procedure_id] = dataclasses.replace(
                    procedure, sections={**procedure.sections, aspect: section})
    return KnowledgeBase(procedures=procedures, faq=faq, sources=dict(base.sources))


def published_knowledge_base(base_dir: Path, store: ContentStore) -> KnowledgeBase:
    """The YAML base with the latest published version of every overlaid entry."""
    return apply_overlay(load_knowledge_base(base_dir), store.latest_all())


def published_generation(path: Path) -> int:
    """The store's generation, read-only (one SQLite read); 0 while there is no store yet, so
    that a process that only reads never creates the file."""
    if not Path(path).is_file():
        return 0
    db = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=10)
    try:
        row = db.execute("SELECT value FROM meta WHERE name = 'generation'").fetchone()
    except sqlite3.OperationalError:  # created but its schema not yet written
        return 0
    finally:
        db.close()
    return int(row[0]) if row else 0


class PublishedContent:
    """What one process answers from: the YAML base (read once) with the store's published
    versions over it, reloaded by whoever notices that `generation()` changed (the search
    service's watcher, the action server's poller). Works without a store (the YAML alone)."""

    def __init__(self, base_dir: Path, content_db: Path) -> None:
        self.base_dir = Path(base_dir)
        self.content_db = Path(content_db)
        self._base: KnowledgeBase | None = None

    def generation(self) -> int:
        return published_generation(self.content_db)

    def load(self) -> tuple[int, KnowledgeBase]:
        """(generation, knowledge base); the generation is read first, so a publish made while
        loading is seen again by the next poll rather than missed."""
        generation = self.generation()
        if self._base is None:
            self._base = load_knowledge_base(self.base_dir)
        if generation == 0:
            return 0, self._base
        return generation, apply_overlay(self._base, ContentStore(self.content_db).latest_all())


# ---------------------------------------------------------------- records

@dataclass(frozen=True)
class Version:
    entry_key: str
    version: int
    kind: str
    payload: Any
    published_by: str
    proposed_by: str | None
    published_at: str
    reason: str
    restored_from: int | None = None
    draft_id: int | None = None

    @property
    def retired(self) -> bool:
        return self.payload is None


@dataclass(frozen=True)
class Draft:
    id: int
    entry_key: str
    kind: str
    payload: Any
    base_version: int
    proposed_by: str
    created_at: str
    updated_by: str | None
    updated_at: str | None
    note: str
    state: str
    decided_by: str | None
    decided_at: str | None
    published_version: int | None


def _load(text: str | None) -> Any:
    return None if text is None else json.loads(text)


def _dump(payload: Any) -> str | None:
    return None if payload is None else json.dumps(canonical(payload), ensure_ascii=False, sort_keys=True)


def _version(row: sqlite3.Row) -> Version:
    return Version(row["entry_key"], row["version"], row["kind"], _load(row["payload"]), row["published_by"],
                   row["proposed_by"], row["published_at"], row["reason"], row["restored_from"],
                   row["draft_id"])


def _draft(row: sqlite3.Row) -> Draft:
    return Draft(row["id"], row["entry_key"], row["kind"], _load(row["payload"]), row["base_version"],
                 row["proposed_by"], row["created_at"], row["updated_by"], row["updated_at"], row["note"],
                 row["state"], row["decided_by"], row["decided_at"], row["published_version"])


def utc_now() -> datetime:
    return datetime.now(timezone.utc)


# ---------------------------------------------------------------- the store

class ContentStore:
    """Drafts and published versions in one SQLite file. Holds no state but its path: each
    call opens its own connection, so it is safe to share between threads and processes."""

    def __init__(self, path: Path, clock: Callable[[], datetime] = utc_now) -> None:
        self.path = Path(path)
        self.clock = clock
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode = WAL")  # readers (other processes) never wait for a writer
            db.executescript(SCHEMA)

    def _connect(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return connection(self.path)

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One transaction that holds the write lock from its start (no lost updates)."""
        with self._connect() as db:
            db.execute("BEGIN IMMEDIATE")
            try:
                yield db
            except BaseException:
                db.execute("ROLLBACK")
                raise
            db.execute("COMMIT")

    def _now(self) -> str:
        return self.clock().astimezone(timezone.utc).isoformat(timespec="seconds")

    # reading

    def generation(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT value FROM meta WHERE name = 'generation'").fetchone()[0])

    def versions(self, key: str) -> list[Version]:
        """Stored versions of one entry (1, 2, …; version 0 is the YAML file)."""
        with self._connect() as db:
            rows = db.execute("SELECT * FROM versions WHERE entry_key = ? ORDER BY version", (key,))
            return [_version(r) for r in rows]

    def version(self, key: str, number: int) -> Version | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM versions WHERE entry_key = ? AND version = ?",
                             (key, number)).fetchone()
            return _version(row) if row else None

    def latest_version_number(self, key: str) -> int:
        with self._connect() as db:
            return self._latest_number(db, key)

    @staticmethod
    def _latest_number(db: sqlite3.Connection, key: str) -> int:
        row = db.execute("SELECT MAX(version) FROM versions WHERE entry_key = ?", (key,)).fetchone()
        return int(row[0] or 0)

    def latest_all(self) -> dict[str, Version]:
        """The latest published version of every entry that has one."""
        with self._connect() as db:
            rows = db.execute(
                "SELECT v.* FROM versions v JOIN (SELECT entry_key, MAX(version) AS top FROM versions "
                "GROUP BY entry_key) t ON v.entry_key = t.entry_key AND v.version = t.top")
            return {r["entry_key"]: _version(r) for r in rows}

    def draft(self, draft_id: int) -> Draft | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM drafts WHERE id = ?", (draft_id,)).fetchone()
            return _draft(row) if row else None

    def drafts(self, state: str | None = "open", key: str | None = None) -> list[Draft]:
        query, args = "SELECT * FROM drafts WHERE 1 = 1", []
        if state is not None:
            query, args = query + " AND state = ?", [*args, state]
        if key is not None:
            query, args = query + " AND entry_key = ?", [*args, key]
        with self._connect() as db:
            return [_draft(r) for r in db.execute(query + " ORDER BY id", args)]

    # writing

    def create_draft(self, key: str, payload: Any, proposed_by: str, note: str = "") -> Draft:
        kind = entry_kind(key)
        now = self._now()
        with self._write() as db:
            cursor = db.execute(
                "INSERT INTO drafts (entry_key, kind, payload, base_version, proposed_by, created_at, note) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (key, kind, _dump(payload), self._latest_number(db, key), proposed_by, now, note))
            draft_id = int(cursor.lastrowid or 0)
        logger.info("draft %d for %s by %s", draft_id, key, proposed_by)
        return self._must_draft(draft_id)

    def update_draft(self, draft_id: int, payload: Any, updated_by: str, note: str | None = None) -> Draft:
        """New content for an open draft; it is now based on the latest published version."""
        with self._write() as db:
            draft = self._open_draft(db, draft_id)
            db.execute("UPDATE drafts SET payload = ?, updated_by = ?, updated_at = ?, note = ?, "
                       "base_version = ? WHERE id = ?",
                       (_dump(payload), updated_by, self._now(), draft.note if note is None else note,
                        self._latest_number(db, draft.entry_key), draft_id))
        logger.info("draft %d for %s edited by %s", draft_id, draft.entry_key, updated_by)
        return self._must_draft(draft_id)

    def discard_draft(self, draft_id: int, by: str) -> Draft:
        with self._write() as db:
            draft = self._open_draft(db, draft_id)
            db.execute("UPDATE drafts SET state = 'discarded', decided_by = ?, decided_at = ? WHERE id = ?",
                       (by, self._now(), draft_id))
        logger.info("draft %d for %s discarded by %s", draft_id, draft.entry_key, by)
        return self._must_draft(draft_id)

    def publish_draft(self, draft_id: int, by: str, reason: str) -> Version:
        """The draft's payload becomes the entry's next version. The caller has validated it.
        StaleDraft when the entry was published again since the draft was based on it."""
        reason = _required_reason(reason)
        with self._write() as db:
            draft = self._open_draft(db, draft_id)
            latest = self._latest_number(db, draft.entry_key)
            if latest != draft.base_version:
                raise StaleDraft(f"Mục {draft.entry_key} đã có phiên bản {latest} được xuất bản sau khi bản "
                                 f"nháp này được soạn (từ phiên bản {draft.base_version}); hãy mở bản nháp, "
                                 "xem lại và lưu lại trước khi xuất bản.")
            version = Version(draft.entry_key, latest + 1, draft.kind, draft.payload, by, draft.proposed_by,
                              self._now(), reason, None, draft_id)
            self._insert_version(db, version)
            db.execute("UPDATE drafts SET state = 'published', decided_by = ?, decided_at = ?, "
                       "published_version = ? WHERE id = ?", (by, version.published_at, version.version,
                                                              draft_id))
        logger.info("%s v%d published by %s (draft %d)", draft.entry_key, version.version, by, draft_id)
        return version

    def restore(self, key: str, from_version: int, by: str, reason: str, base_payload: Any = None) -> Version:
        """Publish an earlier version's payload again as a new version. Version 0 is the YAML
        file's content, which the caller passes as `base_payload`."""
        kind = entry_kind(key)
        reason = _required_reason(reason)
        with self._write() as db:
            latest = self._latest_number(db, key)
            if from_version == 0:
                payload = base_payload
            else:
                row = db.execute("SELECT payload FROM versions WHERE entry_key = ? AND version = ?",
                                 (key, from_version)).fetchone()
                if row is None:
                    raise StoreError(f"Mục {key} không có phiên bản {from_version}.")
                payload = _load(row["payload"])
            if from_version > latest or from_version < 0:
                raise StoreError(f"Mục {key} không có phiên bản {from_version}.")
            if from_version == latest:
                raise StoreError(f"Phiên bản {from_version} đang là phiên bản hiện hành của {key}.")
            version = Version(key, latest + 1, kind, payload, by, None, self._now(), reason, from_version)
            self._insert_version(db, version)
        logger.info("%s v%d restored from v%d by %s", key, version.version, from_version, by)
        return version

    # helpers

    def _insert_version(self, db: sqlite3.Connection, v: Version) -> None:
        db.execute("INSERT INTO versions (entry_key, version, kind, payload, published_by, proposed_by, "
                   "published_at, reason, restored_from, draft_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                   (v.entry_key, v.version, v.kind, _dump(v.payload), v.published_by, v.proposed_by,
                    v.published_at, v.reason, v.restored_from, v.draft_id))
        db.execute("UPDATE meta SET value = value + 1 WHERE name = 'generation'")

    @staticmethod
    def _open_draft(db: sqlite3.Connection, draft_id: int) -> Draft:
        row = db.execute("SELECT * FROM drafts WHERE id = ?", (draft_id,)).fetchone()
        if row is None:
            raise StoreError(f"Không có bản nháp số {draft_id}.")
        draft = _draft(row)
        if draft.state != "open":
            state = "đã được xuất bản" if draft.state == "published" else "đã bị hủy"
            raise StoreError(f"Bản nháp số {draft_id} {state}; không thay đổi được nữa.")
        return draft

    def _must_draft(self, draft_id: int) -> Draft:
        draft = self.draft(draft_id)
        assert draft is not None
        return draft


def _required_reason(reason: str) -> str:
    reason = " ".join((reason or "").split())
    if not reason:
        raise StoreError("Cần ghi lý do (ví dụ: văn bản mới, sửa lỗi): lý do được lưu cùng phiên bản.")
    return reason
