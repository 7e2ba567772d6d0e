"""Officer accounts and their login sessions (SQLite, `Settings.console_db`).

Passwords: argon2id (argon2-cffi's defaults), at least 12 characters. A session is a random
256-bit token held by the browser in an HttpOnly cookie; only its sha256 is stored, so a
copy of the database logs nobody in. Sessions end after `console_idle_s` without a request
and `console_session_max_s` after login. `console_lockout_failures` wrong passwords in a row
lock the account for `console_lockout_s`; a login refused for any reason (no such user,
wrong password, locked, disabled) gets the same answer, so it does not tell whether a
username exists.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import re
import secrets
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from assistant.settings import Settings
from assistant.sqlite_db import connection

logger = logging.getLogger(__name__)

ROLES = ("editor", "approver", "admin")
ROLE_NAMES = {"editor": "biên tập viên", "approver": "người duyệt", "admin": "quản trị tài khoản"}
MIN_PASSWORD = 12
MAX_PASSWORD = 1024
USERNAME = re.compile(r"^[a-z0-9][a-z0-9._-]{2,39}$")

SCHEMA = """
CREATE TABLE IF NOT EXISTS officers (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('editor', 'approver', 'admin')),
    active INTEGER NOT NULL DEFAULT 1,
    failed_logins INTEGER NOT NULL DEFAULT 0,
    locked_until REAL NOT NULL DEFAULT 0,
    created_at REAL NOT NULL,
    created_by TEXT
);
CREATE TABLE IF NOT EXISTS sessions (
    token_sha256 TEXT PRIMARY KEY,
    officer_id INTEGER NOT NULL REFERENCES officers (id) ON DELETE CASCADE,
    csrf_token TEXT NOT NULL,
    created_at REAL NOT NULL,
    last_seen REAL NOT NULL
);
"""

LOGIN_REFUSED = ("Đăng nhập không thành công: tên đăng nhập hoặc mật khẩu không đúng, hoặc tài khoản đang "
                 "tạm khóa vì nhập sai nhiều lần (thử lại sau ít phút).")


class AccountError(ValueError):
    """A refused account change; the message is shown to the admin."""


@dataclass(frozen=True)
class Officer:
    id: int
    username: str
    role: str
    active: bool
    locked_until: float

    def can(self, *roles: str) -> bool:
        return self.active and self.role in roles


@dataclass(frozen=True)
class Session:
    officer: Officer
    csrf_token: str
    created_at: float
    last_seen: float


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def check_username(username: str) -> str:
    username = username.strip().lower()
    if not USERNAME.match(username):
        raise AccountError("Tên đăng nhập gồm 3–40 ký tự: chữ thường không dấu, số, dấu chấm, gạch dưới "
                           "hoặc gạch ngang, bắt đầu bằng chữ hoặc số.")
    return username


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise AccountError(f"Mật khẩu phải có ít nhất {MIN_PASSWORD} ký tự.")
    if len(password) > MAX_PASSWORD:
        raise AccountError(f"Mật khẩu dài quá {MAX_PASSWORD} ký tự.")
    return password


def check_role(role: str) -> str:
    if role not in ROLES:
        raise AccountError(f"Vai trò phải là một trong: {', '.join(ROLES)}.")
    return role


def _officer(row: sqlite3.Row) -> Officer:
    return Officer(row["id"], row["username"], row["role"], bool(row["active"]), row["locked_until"])


class Accounts:
    """Officers and sessions in one SQLite file; no state in memory but settings and clock."""

    def __init__(self, path: Path, *, idle_s: float = 1800, max_s: float = 28800, lockout_failures: int = 5,
                 lockout_s: float = 900, clock: Callable[[], float] = time.time,
                 hasher: PasswordHasher | None = None) -> None:
        self.path = Path(path)
        self.idle_s, self.max_s = idle_s, max_s
        self.lockout_failures, self.lockout_s = lockout_failures, lockout_s
        self.clock = clock
        self.hasher = hasher or PasswordHasher()
        self._dummy_hash = self.hasher.hash(secrets.token_urlsafe(16))  # equal work for unknown users
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self._connect() as db:
            db.execute("PRAGMA journal_mode = WAL")  # readers (other processes) never wait for a writer
            db.executescript(SCHEMA)

    @classmethod
    def from_settings(cls, settings: Settings, clock: Callable[[], float] = time.time,
                      hasher: PasswordHasher | None = None) -> Accounts:
        return cls(settings.console_db, idle_s=settings.console_idle_s, max_s=settings.console_session_max_s,
                   lockout_failures=settings.console_lockout_failures, lockout_s=settings.console_lockout_s,
                   clock=clock, hasher=hasher)

    def _connect(self) -> contextlib.AbstractContextManager[sqlite3.Connection]:
        return connection(self.path)

    # accounts

    def create(self, username: str, password: str, role: str, created_by: str | None = None) -> Officer:
        username, role = check_username(username), check_role(role)
        password_hash = self.hasher.hash(check_password(password))
        with self._connect() as db:
            try:
                db.execute("INSERT INTO officers (username, password_hash, role, created_at, created_by) "
                           "VALUES (?, ?, ?, ?, ?)",
                           (username, password_hash, role, self.clock(), created_by))
            except sqlite3.IntegrityError as error:
                raise AccountError(f"Tên đăng nhập {username!r} đã có người dùng.") from error
        logger.info("officer %s (%s) created by %s", username, role, created_by or "command line")
        officer = self.get(username)
        assert officer is not None
        return officer

    def get(self, username: str) -> Officer | None:
        with self._connect() as db:
            row = db.execute("SELECT * FROM officers WHERE username = ?",
                             (username.strip().lower(),)).fetchone()
            return _officer(row) if row else None

    def all(self) -> list[Officer]:
        with self._connect() as db:
            return [_officer(r) for r in db.execute("SELECT * FROM officers ORDER BY username")]

    def count_admins(self) -> int:
        with self._connect() as db:
            return int(db.execute("SELECT COUNT(*) FROM officers WHERE role = 'admin' AND active = 1")
                       .fetchone()[0])

    def update(self, username: str, by: str, *, role: str | None = None, active: bool | None = None,
               password: str | None = None, unlock: bool = False) -> Officer:
        """An admin's change to an account. Disabling it, or a new role or password, ends its
        sessions. The last active admin cannot be demoted or disabled."""
        officer = self.get(username)
        if officer is None:
            raise AccountError(f"Không có tài khoản {username!r}.")
        if role is not None:
            check_role(role)
        losing_admin = officer.role == "admin" and officer.active and (
            (role is not None and role != "admin") or active is False)
        if losing_admin and self.count_admins() <= 1:
            raise AccountError("Không thể bỏ quyền hoặc khóa tài khoản quản trị cuối cùng.")
        changes: dict[str, object] = {}
        if role is not None:
            changes["role"] = role
        if active is not None:
            changes["active"] = int(active)
        if password is not None:
            changes["password_hash"] = self.hasher.hash(check_password(password))
        if unlock or password is not None:
            changes.update(failed_logins=0, locked_until=0)
        if changes:
            with self._connect() as db:
                db.execute(f"UPDATE officers SET {', '.join(f'{k} = ?' for k in changes)} WHERE id = ?",
                           (*changes.values(), officer.id))
                if role is not None or active is False or password is not None:
                    db.execute("DELETE FROM sessions WHERE officer_id = ?", (officer.id,))
        logger.info("officer %s changed by %s: %s", officer.username, by,
                    ", ".join(k for k in changes if k != "password_hash") or "password")
        updated = self.get(username)
        assert updated is not None
        return updated

    def change_own_password(self, username: str, current: str, new: str) -> None:
        """An officer's own new password (the current one must be right); their other sessions end."""
        with self._connect() as db:
            row = db.execute("SELECT * FROM officers WHERE username = ?", (username,)).fetchone()
        if row is None or not self._verify(row["password_hash"], current):
            raise AccountError("Mật khẩu hiện tại không đúng.")
        if new == current:
            raise AccountError("Mật khẩu mới phải khác mật khẩu hiện tại.")
        password_hash = self.hasher.hash(check_password(new))
        with self._connect() as db:
            db.execute("UPDATE officers SET password_hash = ? WHERE id = ?", (password_hash, row["id"]))
            db.execute("DELETE FROM sessions WHERE officer_id = ?", (row["id"],))
        logger.info("officer %s changed their password", username)

    # logging in and out

    def login(self, username: str, password: str) -> tuple[str, Session] | None:
        """A new session (its token, to give to the browser, and its record) or None."""
        now = self.clock()
        with self._connect() as db:
            row = db.execute("SELECT * FROM officers WHERE username = ?",
                             (username.strip().lower(),)).fetchone()
            if row is None or not row["active"] or row["locked_until"] > now:
                self._verify(self._dummy_hash, password)
                logger.info("console login refused (unknown, disabled or locked account)")
                return None
            if not self._verify(row["password_hash"], password):
                failures = row["failed_logins"] + 1
                locked_until = now + self.lockout_s if failures >= self.lockout_failures else 0
                db.execute("UPDATE officers SET failed_logins = ?, locked_until = ? WHERE id = ?",
                           (0 if locked_until else failures, locked_until, row["id"]))
                if locked_until:
                    logger.warning("officer %s locked after %d failed logins", row["username"], failures)
                else:
                    logger.info("console login refused for %s", row["username"])
                return None
            if self.hasher.check_needs_rehash(row["password_hash"]):
                db.execute("UPDATE officers SET password_hash = ? WHERE id = ?",
                           (self.hasher.hash(password), row["id"]))
            db.execute("UPDATE officers SET failed_logins = 0, locked_until = 0 WHERE id = ?", (row["id"],))
            token, csrf = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
            db.execute("INSERT INTO sessions (token_sha256, officer_id, csrf_token, created_at, last_seen) "
                       "VALUES (?, ?, ?, ?, ?)", (token_hash(token), row["id"], csrf, now, now))
            db.execute("DELETE FROM sessions WHERE last_seen < ? OR created_at < ?",
                       (now - self.idle_s, now - self.max_s))
        logger.info("officer %s logged in", row["username"])
        return token, Session(_officer(row), csrf, now, now)

    def _verify(self, password_hash: str, password: str) -> bool:
        try:
            return self.hasher.verify(password_hash, password)
        except (VerificationError, InvalidHashError):
            return False

    def session(self, token: str | None) -> Session | None:
        """The live session of a token (its idle clock restarted), or None."""
        if not token:
            return None
        now = self.clock()
        digest = token_hash(token)
        with self._connect() as db:
            row = db.execute(
                "SELECT s.csrf_token, s.created_at, s.last_seen, o.* FROM sessions s "
                "JOIN officers o ON o.id = s.officer_id WHERE s.token_sha256 = ?", (digest,)).fetchone()
            if row is None:
                return None
            expired = now - row["last_seen"] > self.idle_s or now - row["created_at"] > self.max_s
            if expired or not row["active"]:
                db.execute("DELETE FROM sessions WHERE token_sha256 = ?", (digest,))
                return None
            db.execute("UPDATE sessions SET last_seen = ? WHERE token_sha256 = ?", (now, digest))
            return Session(_officer(row), row["csrf_token"], row["created_at"], now)

    def logout(self, token: str | None) -> None:
        if token:
            with self._connect() as db:
                db.execute("DELETE FROM sessions WHERE token_sha256 = ?", (token_hash(token),))
