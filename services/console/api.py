"""The console's JSON API (`/console/api/…`). Entry keys travel as the `key` query
parameter: `faq:<id>` or `procedure:<id>/<aspect>`."""
from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, Field

from assistant.knowledge.store import Draft, StaleDraft, StoreError, Version
from assistant.unanswered import DRAFTED, UnansweredLog
from services.console.accounts import LOGIN_REFUSED, AccountError, Officer
from services.console.auth import (
    COOKIE,
    COOKIE_PATH,
    Admin,
    Approver,
    ConsoleDep,
    Editor,
    Reader,
)
from services.console.content import ContentInvalid

logger = logging.getLogger(__name__)
api = APIRouter(prefix="/console/api")

KeyQuery = Annotated[str, Query(description="faq:<mã> hoặc procedure:<mã thủ tục>/<phần>", max_length=200)]


# ---------------------------------------------------------------- models

class LoginIn(BaseModel):
    username: str = Field(max_length=100)
    password: str = Field(max_length=1024)


class MeOut(BaseModel):
    username: str
    role: str
    csrf_token: str


class EntryOut(BaseModel):
    key: str
    kind: str
    title: str
    version: int
    retired: bool
    open_drafts: int


class VersionOut(BaseModel):
    version: int
    published_by: str
    proposed_by: str | None
    published_at: str | None
    reason: str
    restored_from: int | None
    retired: bool


class DraftOut(BaseModel):
    id: int
    key: str
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


class EntryDetail(BaseModel):
    key: str
    kind: str
    title: str
    version: int
    payload: Any
    versions: list[VersionOut]
    drafts: list[DraftOut]


class DraftIn(BaseModel):
    key: str = Field(max_length=200)
    payload: dict[str, Any] | None  # null: retire the FAQ entry
    note: str = Field("", max_length=2000)
    new: bool = False  # a new FAQ entry (refused when the id is taken)
    inbox_ids: list[int] = Field(default_factory=list, max_length=5000)  # inbox questions it answers


class DraftEditIn(BaseModel):
    payload: dict[str, Any] | None
    note: str | None = Field(None, max_length=2000)


class SavedOut(BaseModel):
    draft: DraftOut
    warnings: list[str]


class ReasonIn(BaseModel):
    reason: str = Field("", max_length=2000)


class RestoreIn(BaseModel):
    key: str = Field(max_length=200)
    version: int
    reason: str = Field("", max_length=2000)


class PublishedOut(BaseModel):
    key: str
    version: int
    restored_from: int | None
    published_by: str
    published_at: str


class DiffOut(BaseModel):
    key: str
    old: int
    new: int
    diff: str


class AccountOut(BaseModel):
    username: str
    role: str
    active: bool
    locked: bool


class AccountIn(BaseModel):
    username: str = Field(max_length=100)
    password: str = Field(max_length=1024)
    role: Literal["editor", "approver", "admin"]


class AccountChange(BaseModel):
    role: Literal["editor", "approver", "admin"] | None = None
    active: bool | None = None
    password: str | None = Field(None, max_length=1024)
    unlock: bool = False


def draft_out(d: Draft) -> DraftOut:
    return DraftOut(id=d.id, key=d.entry_key, kind=d.kind, payload=d.payload, base_version=d.base_version,
                    proposed_by=d.proposed_by, created_at=d.created_at, updated_by=d.updated_by,
                    updated_at=d.updated_at, note=d.note, state=d.state, decided_by=d.decided_by,
                    decided_at=d.decided_at, published_version=d.published_version)


def published_out(v: Version) -> PublishedOut:
    return PublishedOut(key=v.entry_key, version=v.version, restored_from=v.restored_from,
                        published_by=v.published_by, published_at=v.published_at)


def account_out(o: Officer, now: float) -> AccountOut:
    return AccountOut(username=o.username, role=o.role, active=o.active, locked=o.locked_until > now)


def invalid(error: ContentInvalid) -> HTTPException:
    return HTTPException(error.status, {"message": "Nội dung chưa hợp lệ, chưa lưu gì.",
                                        "problems": error.problems})


def refused(error: StoreError) -> HTTPException:
    return HTTPException(409 if isinstance(error, StaleDraft) else 400, str(error))


def search_of(request: Request) -> Any:
    """The running app's search when it is ready (services/api/main.py SearchHolder), else None."""
    holder = getattr(request.app.state, "search", None)
    return getattr(holder, "search", None)


# ---------------------------------------------------------------- logging in

@api.post("/login", response_model=MeOut)
def login(body: LoginIn, console: ConsoleDep, response: Response) -> MeOut:
    result = console.accounts.login(body.username, body.password)
    if result is None:
        raise HTTPException(401, LOGIN_REFUSED)
    token, session = result
    set_session_cookie(response, token, console.settings.console_cookie_secure)
    return MeOut(username=session.officer.username, role=session.officer.role, csrf_token=session.csrf_token)


def set_session_cookie(response: Response, token: str, secure: bool) -> None:
    response.set_cookie(COOKIE, token, path=COOKIE_PATH, httponly=True, samesite="strict", secure=secure)


@api.post("/logout")
def logout(request: Request, console: ConsoleDep, session: Reader, response: Response) -> dict[str, bool]:
    console.accounts.logout(request.cookies.get(COOKIE))
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    logger.info("officer %s logged out", session.officer.username)
    return {"ok": True}


@api.get("/me", response_model=MeOut)
def me(session: Reader) -> MeOut:
    return MeOut(username=session.officer.username, role=session.officer.role, csrf_token=session.csrf_token)


class PasswordIn(BaseModel):
    current: str = Field(max_length=1024)
    new: str = Field(max_length=1024)


@api.post("/me/password")
def change_password(body: PasswordIn, console: ConsoleDep, session: Reader,
                    response: Response) -> dict[str, bool]:
    """The officer's own password; every session of theirs ends (log in again)."""
    try:
        console.accounts.change_own_password(session.officer.username, body.current, body.new)
    except AccountError as error:
        raise HTTPException(400, str(error)) from error
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    return {"ok": True}


# ---------------------------------------------------------------- content

@api.get("/entries", response_model=list[EntryOut])
def list_entries(console: ConsoleDep, _: Reader,
                 q: Annotated[str, Query(max_length=200)] = "",
                 kind: Literal["faq", "section"] | None = None) -> list[EntryOut]:
    return [EntryOut(**e.__dict__) for e in console.content.entries(q, kind)]


@api.get("/entry", response_model=EntryDetail)
def get_entry(console: ConsoleDep, _: Reader, key: KeyQuery) -> EntryDetail:
    content = console.content
    try:
        version, payload = content.current(key)
    except StoreError as error:
        raise HTTPException(404, str(error)) from error
    return EntryDetail(
        key=key, kind="faq" if key.startswith("faq:") else "section", title=content.title(key, payload),
        version=version, payload=payload,
        versions=[VersionOut(version=h.version, published_by=h.published_by, proposed_by=h.proposed_by,
                             published_at=h.published_at, reason=h.reason, restored_from=h.restored_from,
                             retired=h.retired) for h in content.history(key)],
        drafts=[draft_out(d) for d in content.store.drafts("open", key)])


@api.get("/diff", response_model=DiffOut)
def get_diff(console: ConsoleDep, _: Reader, key: KeyQuery,
             old: Annotated[int, Query(alias="from")], new: Annotated[int, Query(alias="to")]) -> DiffOut:
    try:
        return DiffOut(key=key, old=old, new=new, diff=console.content.diff(key, old, new))
    except StoreError as error:
        raise HTTPException(404, str(error)) from error


@api.get("/drafts", response_model=list[DraftOut])
def list_drafts(console: ConsoleDep, _: Reader,
                state: Literal["open", "published", "discarded"] = "open") -> list[DraftOut]:
    return [draft_out(d) for d in console.content.store.drafts(state)]


@api.get("/drafts/{draft_id}", response_model=DraftOut)
def get_draft(draft_id: int, console: ConsoleDep, _: Reader) -> DraftOut:
    draft = console.content.store.draft(draft_id)
    if draft is None:
        raise HTTPException(404, f"Không có bản nháp số {draft_id}.")
    return draft_out(draft)


@api.post("/drafts", response_model=SavedOut, status_code=201)
def create_draft(body: DraftIn, request: Request, console: ConsoleDep, session: Editor) -> SavedOut:
    try:
        saved = console.content.save_draft(body.key, body.payload, session.officer.username, body.note,
                                           new=body.new, search=search_of(request))
    except ContentInvalid as error:
        raise invalid(error) from error
    except StoreError as error:
        raise refused(error) from error
    if body.inbox_ids:  # the inbox group this draft answers is done (services/console/inbox.py)
        UnansweredLog(console.settings.unanswered_db).mark(body.inbox_ids, DRAFTED, session.officer.username,
                                                          saved.draft.id)
    return SavedOut(draft=draft_out(saved.draft), warnings=saved.warnings)


@api.put("/drafts/{draft_id}", response_model=SavedOut)
def edit_draft(draft_id: int, body: DraftEditIn, request: Request, console: ConsoleDep,
               session: Editor) -> SavedOut:
    draft = console.content.store.draft(draft_id)
    if draft is None:
        raise HTTPException(404, f"Không có bản nháp số {draft_id}.")
    officer = session.officer
    if officer.role == "editor" and draft.proposed_by != officer.username:
        raise HTTPException(403, f"Bản nháp số {draft_id} do {draft.proposed_by} soạn: biên tập viên chỉ sửa "
                                 "được bản nháp của mình (người duyệt sửa được mọi bản nháp).")
    try:
        saved = console.content.save_draft(draft.entry_key, body.payload, officer.username,
                                           body.note if body.note is not None else draft.note,
                                           draft_id=draft_id, search=search_of(request))
    except ContentInvalid as error:
        raise invalid(error) from error
    except StoreError as error:
        raise refused(error) from error
    return SavedOut(draft=draft_out(saved.draft), warnings=saved.warnings)


@api.post("/drafts/{draft_id}/publish", response_model=PublishedOut)
def publish_draft(draft_id: int, body: ReasonIn, console: ConsoleDep, session: Approver) -> PublishedOut:
    try:
        return published_out(console.content.publish(draft_id, session.officer.username, body.reason))
    except ContentInvalid as error:
        raise invalid(error) from error
    except StoreError as error:
        raise refused(error) from error


@api.post("/drafts/{draft_id}/discard", response_model=DraftOut)
def discard_draft(draft_id: int, console: ConsoleDep, session: Approver) -> DraftOut:
    try:
        return draft_out(console.content.store.discard_draft(draft_id, session.officer.username))
    except StoreError as error:
        raise refused(error) from error


@api.post("/restore", response_model=PublishedOut)
def restore_version(body: RestoreIn, console: ConsoleDep, session: Approver) -> PublishedOut:
    try:
        return published_out(console.content.restore(body.key, body.version, session.officer.username,
                                                      body.reason))
    except ContentInvalid as error:
        raise invalid(error) from error
    except StoreError as error:
        raise refused(error) from error


# ---------------------------------------------------------------- accounts (admin)

@api.get("/accounts", response_model=list[AccountOut])
def list_accounts(console: ConsoleDep, _: Admin) -> list[AccountOut]:
    now = console.accounts.clock()
    return [account_out(o, now) for o in console.accounts.all()]


@api.post("/accounts", response_model=AccountOut, status_code=201)
def create_account(body: AccountIn, console: ConsoleDep, session: Admin) -> AccountOut:
    try:
        officer = console.accounts.create(body.username, body.password, body.role, session.officer.username)
    except AccountError as error:
        raise HTTPException(400, str(error)) from error
    return account_out(officer, console.accounts.clock())


@api.patch("/accounts/{username}", response_model=AccountOut)
def change_account(username: str, body: AccountChange, console: ConsoleDep, session: Admin) -> AccountOut:
    try:
        officer = console.accounts.update(username, session.officer.username, role=body.role,
                                          active=body.active, password=body.password, unlock=body.unlock)
    except AccountError as error:
        raise HTTPException(400, str(error)) from error
    return account_out(officer, console.accounts.clock())

