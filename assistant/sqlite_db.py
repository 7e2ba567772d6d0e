"""One short-lived SQLite connection per unit of work, the way the content store and the
officers' accounts open theirs: rows by column name, foreign keys enforced, autocommit
(callers open their own `BEGIN IMMEDIATE` where several statements must hold together)."""
from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator
from pathlib import Path


@contextlib.contextmanager
def connection(path: Path, timeout_s: float = 10) -> Iterator[sqlite3.Connection]:
    db = sqlite3.connect(path, timeout=timeout_s, isolation_level=None)
    db.row_factory = sqlite3.Row
    db.execute("PRAGMA foreign_keys = ON")
    try:
        yield db
    finally:
        db.close()
