"""Citizen login, the two ways citizens use: ID number + one-time code sent to the phone
in the registry, and a VNeID-style QR code approved in the (sandbox) VNeID app.

Limits: 5 codes per ID number per 10 minutes, a code lives 5 minutes and allows 5 wrong
tries; a QR login lives 3 minutes and hands out its token once.
"""
from __future__ import annotations

import logging
import secrets
from datetime import datetime, timedelta

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel
from sqlalchemy import func, select

from assistant.identity import IdNumberError, mask_id_number, mask_phone, parse_id_number
from services.portal.db import Citizen, OneTimeCode, QrLogin
from services.portal.deps import DbDep, StateDep, local_time
from services.portal.registry import find_citizen
from services.portal.security import issue_token, same_secret, sha256_hex

logger = logging.getLogger(__name__)
router = APIRouter(prefix="/api/auth", tags=["đăng nhập"])

OTP_TTL = timedelta(minutes=5)
OTP_WINDOW = timedelta(minutes=10)
OTP_PER_WINDOW = 5
OTP_MAX_FAILURES = 5
QR_TTL = timedelta(minutes=3)


class OtpRequest(BaseModel):
    id_number: str


class OtpSent(BaseModel):
    masked_phone: str
    expires_at: datetime


class OtpCheck(BaseModel):
    id_number: str
    code: str


class CitizenRef(BaseModel):
    name: str
    id_number: str  # masked


class Login(BaseModel):
    token: str
    expires_at: datetime
    citizen: CitizenRef


class QrStart(BaseModel):
    session_id: str
    qr_payload: str
    expires_at: datetime


class QrState(BaseModel):
    status: str  # pending | approved | expired
    login: Login | None = None  # with the first "approved" answer only


def registered_citizen(session: DbDep, id_number: str) -> Citizen:
    """The citizen with this ID number: 422 for a malformed number, 404 for an unknown one."""
    try:
        number = parse_id_number(id_number)
    except IdNumberError as error:
        raise HTTPException(422, str(error)) from error
    citizen = find_citizen(session, number.value)
    if citizen is None:
        raise HTTPException(404, "Không tìm thấy công dân có số định danh này trong cơ sở dữ liệu dân cư.")
    return citizen


def login_out(token: str, expires: datetime, citizen: Citizen) -> Login:
    return Login(token=token, expires_at=local_time(expires),
                 citizen=CitizenRef(name=citizen.full_name, id_number=mask_id_number(citizen.id_number)))


def _code_hash(salt: str, code: str) -> str:
    return sha256_hex(f"{salt}:{code}")


@router.post("/otp", response_model=OtpSent)
def send_code(body: OtpRequest, state: StateDep, session: DbDep) -> OtpSent:
    """Sends (in the sandbox: stores) a 6-digit code for the phone in the registry."""
    citizen = registered_citizen(session, body.id_number)
    if not citizen.phone:
        raise HTTPException(422, "Công dân chưa có số điện thoại trong cơ sở dữ liệu; "
                                 "anh/chị đăng nhập bằng VNeID hoặc liên hệ công an xã/phường.")
    now = state.now()
    recent = session.scalar(select(func.count()).select_from(OneTimeCode).where(
        OneTimeCode.citizen_id == citizen.id, OneTimeCode.created_at > now - OTP_WINDOW))
    if recent >= OTP_PER_WINDOW:
        raise HTTPException(429, f"Anh/chị đã yêu cầu mã {OTP_PER_WINDOW} lần trong 10 phút; "
                                 "xin thử lại sau ít phút.",
                            headers={"Retry-After": str(int(OTP_WINDOW.total_seconds()))})
    code, salt = f"{secrets.randbelow(10**6):06d}", secrets.token_hex(16)
    for old in session.scalars(select(OneTimeCode).where(OneTimeCode.citizen_id == citizen.id,
                                                         OneTimeCode.used.is_(False))):
        old.used = True  # only the newest code is valid
    session.add(OneTimeCode(citizen_id=citizen.id, salt=salt, code_hash=_code_hash(salt, code),
                            sandbox_code=code if state.settings.portal_sandbox else None,
                            created_at=now, expires_at=now + OTP_TTL))
    session.commit()
    logger.info("one-time code sent for %s", mask_id_number(citizen.id_number))
    return OtpSent(masked_phone=mask_phone(citizen.phone), expires_at=local_time(now + OTP_TTL))


@router.post("/otp/verify", response_model=Login)
def verify_code(body: OtpCheck, state: StateDep, session: DbDep) -> Login:
    citizen = registered_citizen(session, body.id_number)
    now = state.now()
    otp = session.scalar(select(OneTimeCode).where(OneTimeCode.citizen_id == citizen.id)
                         .order_by(OneTimeCode.id.desc()).limit(1))
    if otp is None or otp.used:
        raise HTTPException(401, "Chưa có mã xác thực còn hiệu lực; anh/chị yêu cầu gửi mã mới.")
    if otp.expires_at <= now:
        raise HTTPException(401, "Mã xác thực đã hết hạn (5 phút); anh/chị yêu cầu gửi mã mới.")
    if not same_secret(_code_hash(otp.salt, body.code.strip()), otp.code_hash):
        otp.failed_attempts += 1
        left = OTP_MAX_FAILURES - otp.failed_attempts
        if left <= 0:
            otp.used = True
        session.commit()
        raise HTTPException(401, f"Mã xác thực không đúng; anh/chị còn {left} lần thử." if left > 0 else
                            f"Mã xác thực đã bị khóa sau {OTP_MAX_FAILURES} lần nhập sai; "
                            "anh/chị yêu cầu gửi mã mới.")
    otp.used = True
    token, expires = issue_token(session, state, citizen, "otp")
    session.commit()
    return login_out(token, expires, citizen)


@router.post("/qr", response_model=QrStart)
def start_qr(request: Request, state: StateDep, session: DbDep) -> QrStart:
    """A QR login for the kiosk to show. The QR carries a challenge for the VNeID app (in the
    sandbox: the URL of the page standing in for it); the session id stays with the kiosk."""
    session_id, challenge = secrets.token_urlsafe(32), secrets.token_urlsafe(16)
    now = state.now()
    session.add(QrLogin(session_hash=sha256_hex(session_id), challenge=challenge, created_at=now,
                        expires_at=now + QR_TTL))
    session.commit()
    payload = (f"{str(request.base_url).rstrip('/')}/sandbox/vneid/{challenge}" if state.settings.portal_sandbox
               else f"vneid://login?challenge={challenge}")
    return QrStart(session_id=session_id, qr_payload=payload, expires_at=local_time(now + QR_TTL))


@router.get("/qr/{session_id}", response_model=QrState)
def poll_qr(session_id: str, state: StateDep, session: DbDep) -> QrState:
    qr = session.scalar(select(QrLogin).where(QrLogin.session_hash == sha256_hex(session_id)))
    if qr is None:
        raise HTTPException(404, "Không có phiên đăng nhập QR này; anh/chị tạo mã QR mới.")
    if qr.citizen_id is None:
        return QrState(status="expired" if qr.expires_at <= state.now() else "pending")
    if qr.token_collected:
        return QrState(status="approved")
    citizen = session.get(Citizen, qr.citizen_id)
    qr.token_collected = True
    token, expires = issue_token(session, state, citizen, "qr")
    session.commit()
    return QrState(status="approved", login=login_out(token, expires, citizen))


def approve_qr(session: DbDep, state: StateDep, challenge: str, citizen: Citizen) -> None:
    """The VNeID app's approval (called by the sandbox page): 404 unknown, 410 expired or used."""
    qr = session.scalar(select(QrLogin).where(QrLogin.challenge == challenge))
    if qr is None:
        raise HTTPException(404, "Mã QR không tồn tại.")
    if qr.citizen_id is not None or qr.expires_at <= state.now():
        raise HTTPException(410, "Mã QR đã hết hạn hoặc đã được dùng; anh/chị tạo mã mới trên máy.")
    qr.citizen_id, qr.approved_at = citizen.id, state.now()
    session.commit()
    logger.info("QR login approved for %s", mask_id_number(citizen.id_number))
