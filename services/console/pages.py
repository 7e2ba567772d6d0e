"""The console's Vietnamese pages (`/console/…`): plain HTML forms, no script.

Every form carries the session's CSRF token as a hidden field; every change answers with a
redirect (303) to a page that shows its result, or the form again with what is wrong.
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote

import yaml
from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from assistant.knowledge.model import ASPECT_TITLES, PROCEDURE_IDS
from assistant.knowledge.store import StoreError, render_yaml
from assistant.unanswered import DRAFTED, UnansweredLog
from services.console.accounts import LOGIN_REFUSED, ROLE_NAMES, ROLES, AccountError, Session
from services.console.api import set_session_cookie
from services.console.auth import COOKIE, COOKIE_PATH, Admin, Approver, ConsoleDep, Editor, Reader
from services.console.content import ContentInvalid
from services.console.inbox import parse_ids, suggestion

logger = logging.getLogger(__name__)
HERE = Path(__file__).resolve().parent
STATIC = {p.name: p for p in (HERE / "static").iterdir()}
templates = Jinja2Templates(directory=HERE / "templates")
templates.env.globals.update(role_names=ROLE_NAMES, aspect_titles=ASPECT_TITLES)
pages = APIRouter(prefix="/console", include_in_schema=False)


def render(request: Request, name: str, session: Session | None, status: int = 200,
           **context: Any) -> Response:
    return templates.TemplateResponse(request, name, {"session": session, **context}, status_code=status)


def render_error(request: Request, message: str, status: int) -> Response:
    return render(request, "error.html", None, status, message=message)


def see(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def entry_url(key: str) -> str:
    return f"/console/entry?key={quote(key, safe='')}"


@pages.get("/static/{name}")
def static(name: str) -> FileResponse:
    if name not in STATIC:
        raise HTTPException(404, "Không có tệp này.")
    return FileResponse(STATIC[name])


# ---------------------------------------------------------------- logging in and out

@pages.get("/login", response_class=HTMLResponse)
def login_page(request: Request) -> Response:
    return render(request, "login.html", None)


@pages.post("/login")
def login_form(request: Request, console: ConsoleDep, username: Annotated[str, Form(max_length=100)] = "",
               password: Annotated[str, Form(max_length=1024)] = "") -> Response:
    result = console.accounts.login(username, password)
    if result is None:
        return render(request, "login.html", None, 401, error=LOGIN_REFUSED, username=username)
    response = see("/console/")
    set_session_cookie(response, result[0], console.settings.console_cookie_secure)
    return response


@pages.post("/logout")
def logout_form(request: Request, console: ConsoleDep, session: Reader) -> Response:
    console.accounts.logout(request.cookies.get(COOKIE))
    logger.info("officer %s logged out", session.officer.username)
    response = see("/console/login")
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response


@pages.get("/password", response_class=HTMLResponse)
def password_page(request: Request, session: Reader) -> Response:
    return render(request, "password.html", session)


@pages.post("/password")
def password_form(request: Request, console: ConsoleDep, session: Reader,
                  current: Annotated[str, Form(max_length=1024)] = "",
                  new: Annotated[str, Form(max_length=1024)] = "") -> Response:
    try:
        console.accounts.change_own_password(session.officer.username, current, new)
    except AccountError as error:
        return render(request, "password.html", session, 400, error=str(error))
    response = render(request, "login.html", None, 200,
                      notice="Đã đổi mật khẩu. Anh/chị đăng nhập lại bằng mật khẩu mới.")
    response.delete_cookie(COOKIE, path=COOKIE_PATH, httponly=True, samesite="strict")
    return response


# ---------------------------------------------------------------- content

@pages.get("/", response_class=HTMLResponse)
def list_page(request: Request, console: ConsoleDep, session: Reader,
              q: Annotated[str, Query(max_length=200)] = "", kind: str = "") -> Response:
    entries = console.content.entries(q, kind if kind in ("faq", "section") else None)
    return render(request, "list.html", session, entries=entries, q=q, kind=kind,
                  open_drafts=len(console.content.store.drafts("open")))


@pages.get("/entry", response_class=HTMLResponse)
def entry_page(request: Request, console: ConsoleDep, session: Reader,
               key: Annotated[str, Query(max_length=200)],
               old: Annotated[int | None, Query(alias="from")] = None,
               new: Annotated[int | None, Query(alias="to")] = None) -> Response:
    content = console.content
    try:
        version, payload = content.current(key)
    except StoreError as error:
        return render_error(request, str(error), 404)
    history = content.history(key)
    numbers = [h.version for h in history]
    new = new if new in numbers else version
    old = old if old in numbers else (numbers[numbers.index(new) - 1] if numbers.index(new) > 0 else new)
    return render(request, "entry.html", session, key=key, title=content.title(key, payload), version=version,
                  current=render_yaml(payload), retired=payload is None, history=history[::-1],
                  drafts=content.store.drafts("open", key), old=old, new=new,
                  diff=content.diff(key, old, new) if old != new else "")


def _faq_form(payload: Any) -> dict[str, str]:
    payload = payload or {}
    return {
        "id": payload.get("id", ""), "procedure": payload.get("procedure") or "",
        "questions": "\n".join(payload.get("questions") or []), "answer": payload.get("answer", ""),
        "basis": payload.get("basis", ""), "sources": ", ".join(payload.get("sources") or []),
        "valid_from": payload.get("valid_from") or "", "valid_to": payload.get("valid_to") or "",
        "verified": "" if payload.get("verified") is False else "1",
    }


def _edit(request: Request, console: Any, session: Session, key: str, payload: Any, *, new: bool,
          draft_id: int | None, note: str = "", problems: list[str] | None = None, status: int = 200,
          form: dict[str, str] | None = None, section_yaml: str | None = None,
          inbox_ids: list[int] | None = None) -> Response:
    kind = "faq" if key.startswith("faq:") or new else "section"
    return render(request, "edit.html", session, status, key=key, kind=kind, new=new, draft_id=draft_id,
                  inbox_ids=",".join(map(str, inbox_ids or [])),
                  note=note, problems=problems or [], procedures=PROCEDURE_IDS,
                  form=form if form is not None else _faq_form(payload),
                  section_yaml=section_yaml if section_yaml is not None else render_yaml(payload),
                  title=console.content.title(key, payload) if key else "Mục hỏi đáp mới")


@pages.get("/edit", response_class=HTMLResponse)
def edit_page(request: Request, console: ConsoleDep, session: Editor,
              key: Annotated[str, Query(max_length=200)] = "", draft: int | None = None,
              inbox: Annotated[str, Query(max_length=20000)] = "") -> Response:
    if inbox:  # a new FAQ entry from a group of the inbox: prefilled, saved only with an answer
        ids = parse_ids(inbox)
        payload = suggestion(UnansweredLog(console.settings.unanswered_db), ids, console.content.exists)
        if not payload["questions"]:
            return render_error(request, "Không có câu hỏi nào với các mã này trong hộp thư.", 404)
        return _edit(request, console, session, "", payload, new=True, draft_id=None, inbox_ids=ids,
                     note="Từ hộp thư câu hỏi chưa trả lời được")
    if draft is not None:
        found = console.content.store.draft(draft)
        if found is None or found.state != "open":
            return render_error(request, f"Không có bản nháp số {draft} đang chờ duyệt.", 404)
        return _edit(request, console, session, found.entry_key, found.payload, new=False, draft_id=found.id,
                     note=found.note)
    if not key:
        return _edit(request, console, session, "", None, new=True, draft_id=None)
    try:
        _, payload = console.content.current(key)
    except StoreError as error:
        return render_error(request, str(error), 404)
    return _edit(request, console, session, key, payload, new=False, draft_id=None)


@pages.post("/edit")
def edit_form(
    request: Request, console: ConsoleDep, session: Editor,
    key: Annotated[str, Form(max_length=200)] = "", new: Annotated[str, Form()] = "",
    draft_id: Annotated[str, Form()] = "", note: Annotated[str, Form(max_length=2000)] = "",
    faq_id: Annotated[str, Form(alias="id", max_length=100)] = "", procedure: Annotated[str, Form()] = "",
    questions: Annotated[str, Form(max_length=20000)] = "",
    answer: Annotated[str, Form(max_length=20000)] = "",
    basis: Annotated[str, Form(max_length=2000)] = "", sources: Annotated[str, Form(max_length=2000)] = "",
    valid_from: Annotated[str, Form()] = "", valid_to: Annotated[str, Form()] = "",
    verified: Annotated[str, Form()] = "", section_yaml: Annotated[str, Form(max_length=100000)] = "",
    inbox_ids: Annotated[str, Form(max_length=20000)] = "",
) -> Response:
    is_new = new == "1"
    draft = int(draft_id) if draft_id.isdigit() else None
    form = {"id": faq_id.strip(), "procedure": procedure, "questions": questions, "answer": answer,
            "basis": basis, "sources": sources, "valid_from": valid_from, "valid_to": valid_to,
            "verified": verified}
    if is_new:
        key = f"faq:{faq_id.strip()}"
    payload: Any
    problems: list[str] = []
    if key.startswith("faq:"):
        payload = {"id": key[4:], "questions": [q.strip() for q in questions.splitlines() if q.strip()],
                   "answer": answer.strip(), "basis": basis.strip(),
                   "sources": [s for s in sources.replace(",", " ").split() if s]}
        if procedure:
            payload["procedure"] = procedure
        for name, value in (("valid_from", valid_from), ("valid_to", valid_to)):
            if value.strip():
                payload[name] = value.strip()
        if verified != "1":
            payload["verified"] = False
    else:
        try:
            payload = yaml.safe_load(section_yaml)
        except yaml.YAMLError as error:
            payload, problems = None, [f"YAML lỗi: {error}"]
    if draft is not None:
        existing = console.content.store.draft(draft)
        if existing and session.officer.role == "editor" and existing.proposed_by != session.officer.username:
            problems.append(f"Bản nháp số {draft} do {existing.proposed_by} soạn: biên tập viên chỉ sửa được "
                            "bản nháp của mình.")
    if not problems:
        try:
            saved = console.content.save_draft(key, payload, session.officer.username, note, new=is_new,
                                               draft_id=draft, search=_search(request))
            if inbox_ids:  # the inbox group this entry answers is done
                UnansweredLog(console.settings.unanswered_db).mark(
                    parse_ids(inbox_ids), DRAFTED, session.officer.username, saved.draft.id)
            return render(request, "saved.html", session, draft=saved.draft, warnings=saved.warnings,
                          entry_url=entry_url(saved.draft.entry_key))
        except ContentInvalid as error:
            problems = error.problems
        except StoreError as error:
            problems = [str(error)]
    return _edit(request, console, session, key, None, new=is_new, draft_id=draft, note=note,
                 problems=problems, status=422, form=form, section_yaml=section_yaml,
                 inbox_ids=parse_ids(inbox_ids))


def _search(request: Request) -> Any:
    holder = getattr(request.app.state, "search", None)
    return getattr(holder, "search", None)


@pages.post("/retire")
def retire_form(request: Request, console: ConsoleDep, session: Editor,
                key: Annotated[str, Form(max_length=200)],
                note: Annotated[str, Form(max_length=2000)] = "") -> Response:
    try:
        saved = console.content.save_draft(key, None, session.officer.username, note)
    except ContentInvalid as error:
        return render_error(request, " ".join(error.problems), error.status)
    return render(request, "saved.html", session, draft=saved.draft, warnings=[], entry_url=entry_url(key))


@pages.get("/drafts", response_class=HTMLResponse)
def drafts_page(request: Request, console: ConsoleDep, session: Reader) -> Response:
    content = console.content
    drafts = [(d, content.title(d.entry_key, d.payload), content.draft_diff(d))
              for d in content.store.drafts("open")]
    return render(request, "drafts.html", session, drafts=drafts)


@pages.post("/drafts/{draft_id}/publish")
def publish_form(request: Request, draft_id: int, console: ConsoleDep, session: Approver,
                 reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    try:
        version = console.content.publish(draft_id, session.officer.username, reason)
    except ContentInvalid as error:
        return render_error(request, "Nội dung chưa hợp lệ: " + "; ".join(error.problems), 422)
    except StoreError as error:
        return render_error(request, str(error), 409)
    return see(entry_url(version.entry_key))


@pages.post("/drafts/{draft_id}/discard")
def discard_form(request: Request, draft_id: int, console: ConsoleDep, session: Approver) -> Response:
    try:
        console.content.store.discard_draft(draft_id, session.officer.username)
    except StoreError as error:
        return render_error(request, str(error), 409)
    return see("/console/drafts")


@pages.post("/restore")
def restore_form(request: Request, console: ConsoleDep, session: Approver,
                 key: Annotated[str, Form(max_length=200)], version: Annotated[int, Form()],
                 reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    try:
        console.content.restore(key, version, session.officer.username, reason)
    except ContentInvalid as error:
        return render_error(request, "; ".join(error.problems), 422)
    except StoreError as error:
        return render_error(request, str(error), 409)
    return see(entry_url(key))


# ---------------------------------------------------------------- accounts (admin)

def _accounts(request: Request, console: Any, session: Session, status: int = 200,
              **context: Any) -> Response:
    now = console.accounts.clock()
    return render(request, "accounts.html", session, status, officers=console.accounts.all(), now=now,
                  roles=ROLES, **context)


@pages.get("/accounts", response_class=HTMLResponse)
def accounts_page(request: Request, console: ConsoleDep, session: Admin) -> Response:
    return _accounts(request, console, session)


@pages.post("/accounts")
def create_account_form(request: Request, console: ConsoleDep, session: Admin,
                        username: Annotated[str, Form(max_length=100)] = "",
                        password: Annotated[str, Form(max_length=1024)] = "",
                        role: Annotated[str, Form()] = "editor") -> Response:
    try:
        console.accounts.create(username, password, role, session.officer.username)
    except AccountError as error:
        return _accounts(request, console, session, 400, error=str(error), username=username)
    return see("/console/accounts")


@pages.post("/accounts/{username}")
def change_account_form(request: Request, username: str, console: ConsoleDep, session: Admin,
                        role: Annotated[str, Form()] = "", active: Annotated[str, Form()] = "",
                        password: Annotated[str, Form(max_length=1024)] = "",
                        unlock: Annotated[str, Form()] = "") -> Response:
    try:
        console.accounts.update(username, session.officer.username, role=role or None,
                                active={"1": True, "0": False}.get(active), password=password or None,
                                unlock=unlock == "1")
    except AccountError as error:
        return _accounts(request, console, session, 400, error=str(error))
    return see("/console/accounts")
