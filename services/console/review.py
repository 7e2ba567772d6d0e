"""The console's review pages and API: the inbox of unanswered questions, the dashboard, the
"hết hiệu lực" list. Readers (every role) see them; editors and approvers triage the inbox
and turn a group into a FAQ draft (see inbox.py for how)."""
from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Form, HTTPException, Query, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from assistant.unanswered import HANDLED, IGNORED, OPEN, UnansweredLog
from services.console import dashboard as dash
from services.console.api import search_of
from services.console.auth import Console, ConsoleDep, Editor, Reader
from services.console.expired import KIND_NAMES, expired_entries
from services.console.inbox import Group, inbox_groups, parse_ids, suggestion
from services.console.pages import render, see

review_api = APIRouter(prefix="/console/api")
review_pages = APIRouter(prefix="/console", include_in_schema=False)

STATUS_NAMES = {OPEN: "Chưa xử lý", HANDLED: "Đã xử lý", IGNORED: "Bỏ qua", "drafted": "Đã soạn bản nháp"}
REASON_NAMES = {"general": "không tìm được câu trả lời", "no_procedure": "không rõ thủ tục",
                "low_confidence": "không chắc ý định", "out_of_scope": "ngoài phạm vi",
                "choices": "chỉ đưa lựa chọn", "unknown_passage": "nội dung không khớp",
                "core_fallback": "không hiểu"}


def unanswered_log(console: Console) -> UnansweredLog:
    return UnansweredLog(console.settings.unanswered_db)


def build_dashboard(console: Console) -> dash.Dashboard:
    settings = console.settings
    names = {p.id: p.name for p in console.content.base_kb.procedures.values()}
    return dash.build(settings.stats_db, settings.outbox_db, settings.today(), names)


# ---------------------------------------------------------------- API

class GroupOut(BaseModel):
    ids: list[int]
    count: int
    first: str
    last: str
    channels: dict[str, int]
    reasons: dict[str, int]
    examples: list[str]


class InboxOut(BaseModel):
    method: str  # encoder | ngram | none
    groups: list[GroupOut]


class MarkIn(BaseModel):
    ids: list[int] = Field(min_length=1, max_length=5000)
    status: Literal["handled", "ignored", "open"]


class SuggestionOut(BaseModel):
    key: str
    payload: dict[str, Any]
    inbox_ids: list[int]


def group_out(group: Group) -> GroupOut:
    return GroupOut(ids=group.ids, count=group.count, first=group.first, last=group.last,
                    channels=group.channels, reasons=group.reasons, examples=group.examples)


@review_api.get("/inbox", response_model=InboxOut)
def inbox(request: Request, console: ConsoleDep, _: Reader,
          status: Literal["open", "handled", "ignored", "drafted", "all"] = "open",
          days: Annotated[int, Query(ge=1, le=3650)] = 90) -> InboxOut:
    groups, method = inbox_groups(unanswered_log(console), search_of(request),
                                  "" if status == "all" else status, days)
    return InboxOut(method=method, groups=[group_out(g) for g in groups])


@review_api.post("/inbox/mark")
def mark(body: MarkIn, console: ConsoleDep, session: Editor) -> dict[str, int]:
    return {"changed": unanswered_log(console).mark(body.ids, body.status, session.officer.username)}


@review_api.get("/inbox/suggestion", response_model=SuggestionOut)
def inbox_suggestion(console: ConsoleDep, _: Editor,
                     ids: Annotated[str, Query(max_length=20000, description="1,2,3")]) -> SuggestionOut:
    """A new FAQ entry from a group, not saved (the answer is the officer's to write): POST it
    to /console/api/drafts with `new: true`, an answer, and `inbox_ids` to mark the group."""
    chosen = parse_ids(ids)
    payload = suggestion(unanswered_log(console), chosen, console.content.exists)
    if not payload["questions"]:
        raise HTTPException(404, "Không có câu hỏi nào với các mã này.")
    return SuggestionOut(key=f"faq:{payload['id']}", payload=payload, inbox_ids=chosen)


@review_api.get("/dashboard")
def dashboard_json(console: ConsoleDep, _: Reader) -> dict[str, Any]:
    return build_dashboard(console).as_json()


@review_api.get("/expired")
def expired_json(console: ConsoleDep, _: Reader) -> list[dict[str, str]]:
    return [e.as_json() for e in expired_entries(console.content.published_kb(), console.settings.today())]


# ---------------------------------------------------------------- pages

@review_pages.get("/inbox", response_class=HTMLResponse)
def inbox_page(request: Request, console: ConsoleDep, session: Reader, status: str = "open",
               days: Annotated[int, Query(ge=1, le=3650)] = 90) -> Response:
    status = status if status in (*STATUS_NAMES, "all") else "open"
    groups, method = inbox_groups(unanswered_log(console), search_of(request),
                                  "" if status == "all" else status, days)
    return render(request, "inbox.html", session, groups=groups, method=method, shown=status, days=days,
                  status_names=STATUS_NAMES, reason_names=REASON_NAMES, channel_names=dash.CHANNEL_NAMES,
                  can_edit=session.officer.role in ("editor", "approver"))


@review_pages.post("/inbox/mark")
def mark_form(console: ConsoleDep, session: Editor, ids: Annotated[list[str], Form()] = [],  # noqa: B006
              status: Annotated[str, Form()] = "", back: Annotated[str, Form()] = "open") -> Response:
    if status in (HANDLED, IGNORED, OPEN):
        unanswered_log(console).mark(parse_ids(ids), status, session.officer.username)
    return see(f"/console/inbox?status={back if back in (*STATUS_NAMES, 'all') else 'open'}")


@review_pages.get("/dashboard", response_class=HTMLResponse)
def dashboard_page(request: Request, console: ConsoleDep, session: Reader) -> Response:
    return render(request, "dashboard.html", session, board=build_dashboard(console),
                  channel_names=dash.CHANNEL_NAMES, outcome_names=dash.OUTCOME_NAMES)


@review_pages.get("/expired", response_class=HTMLResponse)
def expired_page(request: Request, console: ConsoleDep, session: Reader) -> Response:
    today = console.settings.today()
    items = expired_entries(console.content.published_kb(), today)
    return render(request, "expired.html", session, items=items, today=today, kind_names=KIND_NAMES,
                  can_edit=session.officer.role in ("editor", "approver"))
