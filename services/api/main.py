"""FastAPI app (port 8000): the kiosk web chat at `/` (services/kiosk), the knowledge base
as a read-only JSON API, and its search.

The search (embedding model + FAISS index) loads in a worker thread after start-up, so the
app answers `/health` at once and the event loop never waits on the model; until it is
ready, search requests get 503 with a Vietnamese message. Everything answers from the
PUBLISHED content (the YAML files with the officers' published versions over them); the same
thread then watches the content store and swaps in a new search within seconds of a publish
or restore (assistant/knowledge/live.py). The officers' console (services/console) is under
`/console`.
"""
from __future__ import annotations

import asyncio
import logging
import os
import threading
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Annotated, AsyncIterator

from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from assistant.embeddings.encoder import Encoder, SentenceTransformerEncoder, use_query_threads
from assistant.knowledge.answers import answer_aspect, answer_overview
from assistant.knowledge.lexical import Hit
from assistant.knowledge.live import LiveSearch
from assistant.knowledge.model import ASPECTS, KnowledgeBase
from assistant.knowledge.search import KnowledgeSearch
from assistant.knowledge.store import PublishedContent
from assistant.settings import Settings, load_settings
from services.console import routes as console
from services.kiosk import routes as kiosk

logger = logging.getLogger(__name__)
MAX_QUERY_CHARS = 1000


class DropQueryStrings(logging.Filter):
    """Access-log lines keep the path but not the query string: `?q=` carries what a
    citizen typed, which may hold an ID number or a phone."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str) and "?" in args[2]:
            record.args = (*args[:2], args[2].split("?", 1)[0] + "?…", *args[3:])
        return True


logging.getLogger("uvicorn.access").addFilter(DropQueryStrings())


def _show_live_updates() -> None:
    """The live-update lines (rows embedded, seconds, failures) reach the server's output:
    uvicorn configures only its own loggers, and the root logger drops INFO."""
    live_log = logging.getLogger("assistant.knowledge.live")
    if not live_log.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(levelname)s:     %(name)s: %(message)s"))
        live_log.addHandler(handler)
        live_log.setLevel(logging.INFO)
        live_log.propagate = False  # a library may have given the root logger a handler too


_show_live_updates()
MAX_K = 20


@dataclass
class SearchHolder:
    """What requests read: the published knowledge base and its search, each replaced whole
    (one attribute assignment) by the live-update thread when the content changes; a request
    reads `search` once and keeps that instance to the end (KnowledgeSearch is immutable)."""

    search: KnowledgeSearch | None = None
    status: str = "loading"  # loading | ready | unavailable
    ready: threading.Event = field(default_factory=threading.Event)
    kb: KnowledgeBase | None = None
    generation: int = -1  # the content store's generation `kb` and `search` were built from


def make_encoder(settings: Settings) -> Encoder:
    """The embedding model (torch is imported here, in the loader thread, off the event loop)."""
    return SentenceTransformerEncoder(settings.embedding_model)


def _query_threads(settings: Settings, encoder: Encoder) -> None:
    if isinstance(encoder, SentenceTransformerEncoder):
        use_query_threads(settings.query_threads)


def live_search(holder: SearchHolder, settings: Settings) -> LiveSearch:
    return LiveSearch(holder, PublishedContent(settings.knowledge_base_dir, settings.content_db),
                      lambda: make_encoder(settings), settings.search_tuning_file, settings.kb_index_dir,
                      settings.nlu_data_dir, settings.kb_watch_interval_s,
                      on_ready=lambda encoder: _query_threads(settings, encoder))


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # before torch is imported
    holder = SearchHolder()
    app.state.search = holder
    live = app.state.live = live_search(holder, get_settings())
    stop = threading.Event()
    watcher = threading.Thread(target=live.run, args=(stop,), daemon=True, name="search-live")
    watcher.start()
    try:
        async with kiosk.kiosk_running(app, get_settings()), console.console_running(app, get_settings()):
            yield
    finally:
        stop.set()  # the watcher ends after its current poll (a first build is not interrupted)
        await asyncio.to_thread(watcher.join, 10)


app = FastAPI(title="Trợ lý 06 API", version="0.3.0", lifespan=lifespan)
kiosk.install(app)
console.install(app)


@app.exception_handler(RequestValidationError)
async def vietnamese_validation_error(request: Request, error: RequestValidationError) -> JSONResponse:
    """FastAPI's own 422 body is English; say in Vietnamese which parameter is wrong."""
    names = ", ".join(dict.fromkeys(str(e.get("loc", ["", "?"])[-1]) for e in error.errors()))
    return JSONResponse(status_code=422, content={
        "detail": f"Tham số không hợp lệ: {names}. Anh/chị kiểm tra lại giá trị (số, ngày dạng YYYY-MM-DD).",
        "errors": jsonable_encoder(error.errors()),
    })


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


def get_kb(request: Request) -> KnowledgeBase:
    """The published knowledge base, as the search answers from it."""
    return request.app.state.live.current_kb()


class ProcedureSummary(BaseModel):
    id: str
    name: str
    group: str
    codes: list[str]
    updated: date


class AnswerOut(BaseModel):
    procedure_id: str
    aspect: str
    text: str
    sources: list[str]


class SearchHit(BaseModel):
    procedure_id: str | None
    faq_id: str | None
    title: str
    text: str
    source: str
    score: float


class DecisionHit(SearchHit):
    aspect: str | None  # for a procedure section: documents, fee, …


class SearchDecision(BaseModel):
    decision: str  # answer | choices | unknown
    hits: list[DecisionHit]


def _hit_out(hit: Hit) -> SearchHit:
    p = hit.passage
    return SearchHit(procedure_id=p.procedure_id, faq_id=p.faq_id, title=p.title, text=p.text,
                     source=p.source, score=round(hit.score, 4))


def get_search(request: Request) -> KnowledgeSearch:
    holder: SearchHolder = request.app.state.search
    if holder.search is None:
        message = ("Dạ, chức năng tìm kiếm đang khởi động, anh/chị thử lại sau ít giây ạ."
                   if holder.status == "loading" else
                   "Dạ, chức năng tìm kiếm tạm thời không hoạt động; cán bộ đã được thông báo.")
        raise HTTPException(503, message)
    return holder.search


def _checked_query(q: str) -> str:
    if not q.strip():
        raise HTTPException(422, "Câu hỏi đang trống: anh/chị nhập nội dung cần tìm (tham số q).")
    if len(q) > MAX_QUERY_CHARS:
        raise HTTPException(422, f"Câu hỏi dài {len(q)} ký tự, quá giới hạn {MAX_QUERY_CHARS} ký tự: "
                                 "anh/chị rút gọn lại giúp em.")
    return q


@app.get("/health")
def health(request: Request, kb: Annotated[KnowledgeBase, Depends(get_kb)]) -> dict:
    holder: SearchHolder = request.app.state.search
    return {"status": "ok", "procedures": len(kb.procedures), "faq": len(kb.faq),
            "search": holder.status, "content_generation": holder.generation}


@app.get("/api/kb/search", response_model=list[SearchHit])
def search_passages(
    search: Annotated[KnowledgeSearch, Depends(get_search)],
    settings: Annotated[Settings, Depends(get_settings)],
    q: Annotated[str, Query(description="Câu hỏi, tối đa 1.000 ký tự")] = "",
    k: Annotated[int, Query(description="Số kết quả (1–20)")] = 5,
) -> list[SearchHit]:
    """Passages in force today, best first (sync: FastAPI runs it in a worker thread)."""
    query = _checked_query(q)
    if not 1 <= k <= MAX_K:
        raise HTTPException(422, f"Số kết quả k phải từ 1 đến {MAX_K}.")
    return [_hit_out(hit) for hit in search.search(query, settings.today(), k)]


@app.get("/api/kb/answer", response_model=SearchDecision)
def answer_question(
    search: Annotated[KnowledgeSearch, Depends(get_search)],
    settings: Annotated[Settings, Depends(get_settings)],
    q: Annotated[str, Query(description="Câu hỏi, tối đa 1.000 ký tự")] = "",
) -> SearchDecision:
    """What the assistant should do with a free question, by the calibrated thresholds."""
    decision = search.decide(_checked_query(q), settings.today())
    return SearchDecision(decision=decision.kind, hits=[
        DecisionHit(**_hit_out(h).model_dump(), aspect=h.passage.aspect) for h in decision.hits])


@app.get("/api/kb/procedures", response_model=list[ProcedureSummary])
def list_procedures(kb: Annotated[KnowledgeBase, Depends(get_kb)]) -> list[ProcedureSummary]:
    return [
        ProcedureSummary(id=p.id, name=p.name, group=p.group, codes=list(p.codes), updated=p.updated)
        for p in kb.procedures.values()
    ]


@app.get("/api/kb/procedures/{procedure_id}/answer", response_model=AnswerOut)
def procedure_answer(
    procedure_id: str,
    kb: Annotated[KnowledgeBase, Depends(get_kb)],
    settings: Annotated[Settings, Depends(get_settings)],
    aspect: Annotated[str, Query(
        description="documents, fee, time, where, who, forms, online… hoặc overview")] = "overview",
    on: Annotated[date | None, Query(description="Ngày áp dụng (mặc định: hôm nay)")] = None,
) -> AnswerOut:
    if procedure_id not in kb.procedures:
        raise HTTPException(404, f"Không có thủ tục với mã '{procedure_id}'.")
    if aspect != "overview" and aspect not in ASPECTS:
        raise HTTPException(422, f"Nội dung '{aspect}' không hợp lệ; chọn một trong: overview, "
                                 f"{', '.join(ASPECTS)}.")
    day = on or settings.today()
    answer = (answer_overview(kb, procedure_id, day) if aspect == "overview"
              else answer_aspect(kb, procedure_id, aspect, day))
    return AnswerOut(procedure_id=procedure_id, aspect=aspect, text=answer.text, sources=answer.sources)
