"""Who may do what in the console: the session cookie, roles, CSRF.

Rights (one role per account):
  editor    read everything; create and edit drafts
  approver  what an editor may, and publish, discard, restore
  admin     read everything; manage accounts. An admin does not publish: whoever manages the
            accounts cannot also approve content on their own (give them a second account).

A request without a live session gets 401 on the JSON API and a redirect to the login page
on the pages; the wrong role gets 403. Every state-changing request (not GET/HEAD) must carry
the session's CSRF token, as the `X-CSRF-Token` header or the `csrf_token` form field; it is
compared in constant time.
"""
from __future__ import annotations

import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated

from argon2 import PasswordHasher
from fastapi import Depends, Request

from assistant.knowledge.store import ContentStore
from assistant.settings import Settings
from services.console.accounts import ROLE_NAMES, Accounts, Session
from services.console.content import Content

COOKIE = "console_session"
COOKIE_PATH = "/console"
API_PREFIX = "/console/api"
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")

READERS = ("editor", "approver", "admin")
EDITORS = ("editor", "approver")
APPROVERS = ("approver",)
ADMINS = ("admin",)

LOGIN_NEEDED = "Anh/chị cần đăng nhập (phiên làm việc chưa có hoặc đã hết hạn)."
CSRF_REFUSED = ("Yêu cầu bị từ chối: thiếu hoặc sai mã chống giả mạo (CSRF). Anh/chị tải lại trang "
                "rồi thử lại.")


class LoginRequired(Exception):
    """No live session: 401 on the API, the login page for the pages."""


class Forbidden(Exception):
    def __init__(self, message: str) -> None:
        self.message = message
        super().__init__(message)


@dataclass
class Console:
    """Everything the console's routes need, made once per app (`console_running`)."""

    settings: Settings
    accounts: Accounts
    content: Content

    @classmethod
    def create(cls, settings: Settings, clock: Callable[[], float] = time.time,
               hasher: PasswordHasher | None = None) -> Console:
        store = ContentStore(settings.content_db)
        content = Content(settings.knowledge_base_dir, store, settings.today,
                          tuning_file=settings.search_tuning_file)
        return cls(settings, Accounts.from_settings(settings, clock, hasher), content)


def get_console(request: Request) -> Console:
    return request.app.state.console


ConsoleDep = Annotated[Console, Depends(get_console)]


def current_session(request: Request, console: ConsoleDep) -> Session:
    session = console.accounts.session(request.cookies.get(COOKIE))
    if session is None:
        raise LoginRequired()
    return session


async def _csrf_token_of(request: Request) -> str | None:
    token = request.headers.get("X-CSRF-Token")
    if token is None and request.headers.get("content-type", "").startswith(
            ("application/x-www-form-urlencoded", "multipart/form-data")):
        value = (await request.form()).get("csrf_token")
        token = value if isinstance(value, str) else None
    return token


async def check_csrf(request: Request, session: Session) -> None:
    if request.method in SAFE_METHODS:
        return
    token = await _csrf_token_of(request)
    if not token or not hmac.compare_digest(token.encode("utf-8"), session.csrf_token.encode("utf-8")):
        raise Forbidden(CSRF_REFUSED)


def allowed(*roles: str) -> Callable[..., Awaitable[Session]]:
    """A dependency: the session, when its officer has one of `roles` (and, for a change,
    the request carries the session's CSRF token)."""
    names = " hoặc ".join(ROLE_NAMES[r] for r in roles)

    async def dependency(request: Request, session: Annotated[Session, Depends(current_session)]) -> Session:
        if not session.officer.can(*roles):
            officer = session.officer
            raise Forbidden(f"Tài khoản {officer.username} ({ROLE_NAMES[officer.role]}) không có "
                            f"quyền làm việc này: cần vai trò {names}.")
        await check_csrf(request, session)
        return session

    dependency.roles = roles  # type: ignore[attr-defined]  # read by the authorisation test
    return dependency


Reader = Annotated[Session, Depends(allowed(*READERS))]
Editor = Annotated[Session, Depends(allowed(*EDITORS))]
Approver = Annotated[Session, Depends(allowed(*APPROVERS))]
Admin = Annotated[Session, Depends(allowed(*ADMINS))]
