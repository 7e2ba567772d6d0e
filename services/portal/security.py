"""Who is calling: bearer tokens for citizens and officers, and the kiosk's client key.

A citizen's token is 32 random bytes, shown once and stored only as its SHA-256 with an
expiry; the officer token comes from PORTAL_OFFICER_TOKEN. Both are compared in constant
time. A route states what it needs (`CitizenDep`, `OfficerDep`, `CallerDep`) and gets
401 for a missing, unknown or expired token and 403 for a valid token without the right.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from fastapi import Depends, HTTPException, Request
from sqlalchemy.orm import Session

from services.portal.db import AccessToken, Citizen
from services.portal.deps import DbDep, PortalState, StateDep

BEARER = {"WWW-Authenticate": "Bearer"}


def sha256_hex(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def same_secret(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


@dataclass(frozen=True)
class Caller:
    kind: str  # citizen | officer
    citizen: Citizen | None = None

    @property
    def is_officer(self) -> bool:
        return self.kind == "officer"


def issue_token(session: Session, state: PortalState, citizen: Citizen, method: str) -> tuple[str, datetime]:
    """A new login for `citizen`; the caller commits. Returns the token and its expiry."""
    token = secrets.token_urlsafe(32)
    now = state.now()
    expires = now + timedelta(minutes=state.settings.portal_token_minutes)
    session.add(AccessToken(token_hash=sha256_hex(token), citizen_id=citizen.id, method=method,
                            created_at=now, expires_at=expires))
    return token, expires


def _unauthorized(message: str) -> HTTPException:
    return HTTPException(401, message, headers=BEARER)


def optional_caller(request: Request, state: StateDep, session: DbDep) -> Caller | None:
    """The caller, None without an Authorization header; 401 for a token that is not valid
    (a client with an expired login must log in again, not silently see less)."""
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise _unauthorized("Tiêu đề Authorization phải có dạng 'Bearer <mã đăng nhập>'.")
    officer_token = state.settings.portal_officer_token
    if officer_token and same_secret(token, officer_token):
        return Caller("officer")
    login = session.get(AccessToken, sha256_hex(token))  # looked up by hash: no timing oracle on the token
    if login is None:
        raise _unauthorized("Mã đăng nhập không hợp lệ; anh/chị đăng nhập lại giúp em.")
    if login.expires_at <= state.now():
        raise _unauthorized("Phiên đăng nhập đã hết hạn; anh/chị đăng nhập lại giúp em.")
    return Caller("citizen", session.get(Citizen, login.citizen_id))


def require_caller(caller: Annotated[Caller | None, Depends(optional_caller)]) -> Caller:
    if caller is None:
        raise _unauthorized("Chức năng này cần đăng nhập: anh/chị đăng nhập bằng VNeID hoặc mã OTP.")
    return caller


def require_citizen(caller: Annotated[Caller, Depends(require_caller)]) -> Citizen:
    if caller.citizen is None:
        raise HTTPException(403, "Chức năng này dành cho công dân đã đăng nhập.")
    return caller.citizen


def require_officer(caller: Annotated[Caller, Depends(require_caller)]) -> Caller:
    if not caller.is_officer:
        raise HTTPException(403, "Chỉ cán bộ tiếp nhận mới được thực hiện thao tác này.")
    return caller


def check_client_key(request: Request, state: StateDep) -> None:
    """With PORTAL_CLIENT_KEY set, every API call must carry it (X-Client-Key), as a real
    portal identifies the kiosk; unset (the default sandbox), nothing is checked."""
    expected = state.settings.portal_client_key
    if expected and not same_secret(request.headers.get("x-client-key", ""), expected):
        raise HTTPException(401, "Thiết bị chưa được cấp quyền truy cập cổng dịch vụ công (X-Client-Key).")


OptionalCallerDep = Annotated[Caller | None, Depends(optional_caller)]
CallerDep = Annotated[Caller, Depends(require_caller)]
CitizenDep = Annotated[Citizen, Depends(require_citizen)]
OfficerDep = Annotated[Caller, Depends(require_officer)]
