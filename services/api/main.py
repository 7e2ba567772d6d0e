"""FastAPI app (port 8000): the knowledge base as a read-only JSON API.

Later issues add the kiosk page, semantic search and the officers' console here.
"""
from __future__ import annotations

from datetime import date
from functools import lru_cache
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query
from pydantic import BaseModel

from assistant.knowledge.answers import answer_aspect, answer_overview
from assistant.knowledge.loader import load_knowledge_base
from assistant.knowledge.model import ASPECTS, KnowledgeBase
from assistant.settings import Settings, load_settings

app = FastAPI(title="Trợ lý 06 API", version="0.1.0")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()


@lru_cache(maxsize=1)
def get_kb() -> KnowledgeBase:
    return load_knowledge_base(get_settings().knowledge_base_dir)


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


@app.get("/health")
def health(kb: Annotated[KnowledgeBase, Depends(get_kb)]) -> dict:
    return {"status": "ok", "procedures": len(kb.procedures), "faq": len(kb.faq)}


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
    aspect: Annotated[str, Query(description="documents, fee, time, where, who, forms, online… hoặc overview")] = "overview",
    on: Annotated[date | None, Query(description="Ngày áp dụng (mặc định: hôm nay)")] = None,
) -> AnswerOut:
    if procedure_id not in kb.procedures:
        raise HTTPException(404, f"Không có thủ tục với mã '{procedure_id}'.")
    if aspect != "overview" and aspect not in ASPECTS:
        raise HTTPException(422, f"Nội dung '{aspect}' không hợp lệ; chọn một trong: overview, {', '.join(ASPECTS)}.")
    day = on or settings.today()
    answer = (answer_overview(kb, procedure_id, day) if aspect == "overview"
              else answer_aspect(kb, procedure_id, aspect, day))
    return AnswerOut(procedure_id=procedure_id, aspect=aspect, text=answer.text, sources=answer.sources)
