"""Dossiers: submission (idempotent), reading (full for the owner and officers, status and
dates for anyone else), the citizen's own list and the officers' status changes.

The applicant is always the citizen the token belongs to: nothing in the body can name
someone else. A submission carries an `Idempotency-Key` chosen by the client once per
dossier: the same key with the same body returns the dossier already created (200), the
same key with a different body is refused (409), so retries and double clicks never make
two dossiers.
"""
from __future__ import annotations

import hashlib
import json
import logging
import re
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, HTTPException, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from assistant.identity import mask_id_number
from assistant.knowledge.model import PROCEDURE_IDS
from services.portal import states
from services.portal.attachments import AttachmentIn, checked_files
from services.portal.codes import agency_code, next_dossier_code
from services.portal.db import Attachment, Citizen, Dossier, StatusChange
from services.portal.deps import DbDep, StateDep, local_time
from services.portal.registry import address_out, profile_out
from services.portal.security import CallerDep, CitizenDep, OfficerDep, OptionalCallerDep
from services.portal.units import commune

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/dossiers", tags=["hồ sơ"])

IDEMPOTENCY_KEY = re.compile(r"[A-Za-z0-9_.:\-]{8,128}")
MAX_FIELDS = 100
MAX_FIELDS_BYTES = 64 * 1024


class DossierIn(BaseModel):
    procedure_id: str
    fields: dict[str, Any] = Field(default_factory=dict)
    attachments: list[AttachmentIn] = Field(default_factory=list)
    commune_code: int | None = None  # the receiving commune; default: the applicant's permanent residence


class StatusIn(BaseModel):
    status: str
    reason: str | None = None


class HistoryOut(BaseModel):
    status: str
    status_label: str
    reason: str | None
    at: datetime


class AttachmentOut(BaseModel):
    name: str
    content_type: str
    size: int
    sha256: str


class DossierPublic(BaseModel):
    view: Literal["public"] = "public"
    code: str
    procedure_id: str
    status: str
    status_label: str
    created_at: datetime
    updated_at: datetime


class DossierFull(DossierPublic):
    """The public view and what only the owner and officers see."""
    view: Literal["full"] = "full"  # type: ignore[assignment]
    agency_code: str
    receiving_commune: dict[str, Any] | None
    applicant: dict[str, Any]
    fields: dict[str, Any]
    attachments: list[AttachmentOut]
    history: list[HistoryOut]


def public_view(dossier: Dossier) -> DossierPublic:
    return DossierPublic(code=dossier.code, procedure_id=dossier.procedure_id, status=dossier.status,
                         status_label=states.LABELS[dossier.status], created_at=local_time(dossier.created_at),
                         updated_at=local_time(dossier.updated_at))


def full_view(dossier: Dossier) -> DossierFull:
    return DossierFull(
        **public_view(dossier).model_dump(exclude={"view"}), agency_code=dossier.agency_code,
        receiving_commune=address_out(None, dossier.commune_code), applicant=profile_out(dossier.citizen),
        fields=dossier.fields,
        attachments=[AttachmentOut(name=a.name, content_type=a.content_type, size=a.size, sha256=a.sha256)
                     for a in dossier.attachments],
        history=[HistoryOut(status=h.to_status, status_label=states.LABELS[h.to_status], reason=h.reason,
                            at=local_time(h.at)) for h in dossier.history])


def _request_hash(body: DossierIn) -> str:
    canonical = json.dumps(body.model_dump(mode="json"), sort_keys=True, ensure_ascii=False,
                           separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _by_key(session: Session, citizen: Citizen, key: str) -> Dossier | None:
    return session.scalar(select(Dossier).where(Dossier.citizen_id == citizen.id,
                                                Dossier.idempotency_key == key))


def _replay(existing: Dossier, request_hash: str, response: Response) -> DossierFull:
    if existing.request_hash != request_hash:
        raise HTTPException(409, "Mã Idempotency-Key này đã được dùng cho một hồ sơ khác nội dung "
                                 f"({existing.code}); mỗi hồ sơ mới cần một mã mới.")
    response.status_code = 200
    response.headers["Idempotent-Replayed"] = "true"
    return full_view(existing)


def _check_content(body: DossierIn) -> None:
    if body.procedure_id not in PROCEDURE_IDS:
        raise HTTPException(422, f"Không có thủ tục mã '{body.procedure_id}' trong danh mục.")
    if len(body.fields) > MAX_FIELDS:
        raise HTTPException(422, f"Hồ sơ có quá nhiều trường thông tin (tối đa {MAX_FIELDS}).")
    if len(json.dumps(body.fields, ensure_ascii=False).encode()) > MAX_FIELDS_BYTES:
        raise HTTPException(413, "Nội dung các trường thông tin quá dài (tối đa 64 KB).")


@router.post("", response_model=DossierFull, status_code=201)
def submit_dossier(
    body: DossierIn, citizen: CitizenDep, state: StateDep, session: DbDep, response: Response,
    idempotency_key: Annotated[str | None, Header()] = None,
) -> DossierFull:
    if not idempotency_key:
        raise HTTPException(400, "Thiếu tiêu đề Idempotency-Key: mỗi hồ sơ gửi kèm một mã duy nhất "
                                 "để gửi lại không tạo hồ sơ trùng.")
    if not IDEMPOTENCY_KEY.fullmatch(idempotency_key):
        raise HTTPException(400, "Idempotency-Key phải gồm 8–128 ký tự chữ, số hoặc _ . : -")
    request_hash = _request_hash(body)
    existing = _by_key(session, citizen, idempotency_key)
    if existing is not None:
        return _replay(existing, request_hash, response)
    _check_content(body)
    receiving = commune(body.commune_code if body.commune_code is not None else citizen.household.commune_code)
    if receiving is None:
        raise HTTPException(422, f"Không có xã/phường mã {body.commune_code} (đơn vị hành chính 2025).")
    files = checked_files(body.attachments)
    now, agency = state.now(), agency_code(receiving)
    dossier = Dossier(
        code=next_dossier_code(session, agency, state.today()), procedure_id=body.procedure_id,
        citizen_id=citizen.id, commune_code=receiving.code, agency_code=agency, status=states.RECEIVED,
        fields=body.fields, idempotency_key=idempotency_key, request_hash=request_hash,
        created_at=now, updated_at=now,
        attachments=[Attachment(name=f.name, content_type=f.content_type, size=len(f.data), sha256=f.sha256,
                                data=f.data) for f in files],
        history=[StatusChange(from_status=None, to_status=states.RECEIVED, actor="citizen", at=now)])
    session.add(dossier)
    try:
        session.commit()
    except IntegrityError:  # the same key committed by a concurrent request a moment ago
        session.rollback()
        existing = _by_key(session, citizen, idempotency_key)
        if existing is None:
            raise
        return _replay(existing, request_hash, response)
    logger.info("dossier %s received (%s) for %s", dossier.code, dossier.procedure_id,
                mask_id_number(citizen.id_number))
    return full_view(dossier)


@router.get("", response_model=list[DossierPublic])
def list_dossiers(
    caller: CallerDep, session: DbDep, mine: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[DossierPublic]:
    """`?mine=1`: the citizen's own dossiers, newest first; without it: all dossiers (officers)."""
    query = select(Dossier).order_by(Dossier.id.desc()).limit(limit)
    if mine:
        if caller.citizen is None:
            raise HTTPException(403, "Danh sách 'hồ sơ của tôi' dành cho công dân đã đăng nhập.")
        query = query.where(Dossier.citizen_id == caller.citizen.id)
    elif not caller.is_officer:
        raise HTTPException(403, "Chỉ cán bộ xem được danh sách tất cả hồ sơ; anh/chị dùng ?mine=1.")
    return [public_view(d) for d in session.scalars(query)]


def _dossier(session: Session, code: str) -> Dossier:
    dossier = session.scalar(select(Dossier).where(Dossier.code == code.strip().upper()))
    if dossier is None:
        raise HTTPException(404, f"Không tìm thấy hồ sơ mã {code}; anh/chị kiểm tra lại mã trên giấy biên nhận.")
    return dossier


@router.get("/{code}", response_model=DossierFull | DossierPublic)
def get_dossier(code: str, caller: OptionalCallerDep, session: DbDep) -> DossierFull | DossierPublic:
    dossier = _dossier(session, code)
    if caller is not None and (caller.is_officer or (caller.citizen and caller.citizen.id == dossier.citizen_id)):
        return full_view(dossier)
    return public_view(dossier)


@router.post("/{code}/status", response_model=DossierFull)
def change_status(code: str, body: StatusIn, _officer: OfficerDep, state: StateDep,
                  session: DbDep) -> DossierFull:
    dossier = _dossier(session, code)
    problem = states.transition_problem(dossier.status, body.status, body.reason)
    if problem:
        raise HTTPException(*problem)
    now = state.now()
    reason = (body.reason or "").strip() or None
    dossier.history.append(StatusChange(from_status=dossier.status, to_status=body.status, reason=reason,
                                        actor="officer", at=now))
    dossier.status, dossier.updated_at = body.status, now
    session.commit()
    logger.info("dossier %s: %s", dossier.code, body.status)
    return full_view(dossier)
