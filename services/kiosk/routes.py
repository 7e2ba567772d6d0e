"""The kiosk page and its JSON API (`/kiosk/api/…`).

The page's session secret travels in the `X-Kiosk-Session` header, never in a URL (URLs
end up in access logs and browser history). Every answer is `Cache-Control: no-store`,
and the page is served with a Content-Security-Policy that allows nothing but this
origin: no CDN, no inline script, nothing sent elsewhere.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

import segno
from fastapi import APIRouter, Depends, FastAPI, Header, HTTPException, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel

from assistant.clients.portal import PortalClient, PortalError
from assistant.settings import Settings
from services.kiosk.bot import BotUnavailable, RasaBot
from services.kiosk.replies import page_messages
from services.kiosk.sessions import KioskSession, SessionStore

logger = logging.getLogger(__name__)

STATIC_DIR = Path(__file__).resolve().parent / "static"
ASSETS = {p.name: p for p in STATIC_DIR.iterdir() if p.name != "index.html"}  # the page's script and style
SWEEP_EVERY_S = 15.0

CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
       "connect-src 'self'; frame-src blob:; object-src 'none'; base-uri 'none'; form-action 'none'; "
       "frame-ancestors 'none'")
PAGE_HEADERS = {"Content-Security-Policy": CSP, "Cache-Control": "no-store", "Referrer-Policy": "no-referrer",
                "X-Content-Type-Options": "nosniff",
                "Permissions-Policy": "camera=(), microphone=(), geolocation=()"}

SESSION_ENDED = "Phiên làm việc đã kết thúc. Màn hình bắt đầu phiên mới cho người tiếp theo."
BOT_DOWN = ("Dạ, trợ lý đang tạm gián đoạn nên chưa trả lời được. Tin nhắn của anh/chị vẫn còn trong "
            "ô nhập; anh/chị bấm \"Gửi\" lại sau ít phút, hoặc hỏi cán bộ tại quầy giúp em ạ.")
EMPTY = "Tin nhắn đang trống: anh/chị nhập câu hỏi rồi bấm \"Gửi\"."
TOO_FAST = "Dạ, anh/chị gửi hơi nhanh; anh/chị đợi em trả lời tin trước rồi gửi tiếp giúp em ạ."
TOO_LONG = ("Dạ, tin nhắn dài {length} ký tự, quá giới hạn {limit} ký tự nên em chưa đọc được. "
            "Anh/chị rút gọn, hoặc chia thành vài tin nhỏ giúp em; nội dung vẫn còn trong ô nhập.")
QR_UNAVAILABLE = ("Dạ, chưa tạo được mã QR đăng nhập (Cổng dịch vụ công chưa phản hồi). Anh/chị nhắn "
                  "số định danh để đăng nhập bằng mã xác thực qua điện thoại.")


@dataclass
class Kiosk:
    """What the kiosk routes need, made once per app in its lifespan."""

    settings: Settings
    sessions: SessionStore
    bot: RasaBot
    portal: Callable[[], PortalClient]

    @classmethod
    def create(cls, settings: Settings) -> Kiosk:
        return cls(settings, SessionStore(settings.kiosk_idle_s, settings.kiosk_max_sessions),
                   RasaBot(settings.rasa_url, settings.rasa_api_token),
                   lambda: PortalClient.from_settings(settings))

    async def sweep_forever(self) -> None:
        """End the Rasa conversations of sessions left idle (a page closed without "Kết thúc
        phiên", a crashed browser) or evicted."""
        while True:
            await asyncio.sleep(SWEEP_EVERY_S)
            for session in self.sessions.sweep():
                await self.bot.end(session.sender)


@contextlib.asynccontextmanager
async def kiosk_running(app: FastAPI, settings: Settings) -> AsyncIterator[Kiosk]:
    kiosk = Kiosk.create(settings)
    app.state.kiosk = kiosk
    sweeper = asyncio.create_task(kiosk.sweep_forever(), name="kiosk-sweeper")
    try:
        yield kiosk
    finally:
        sweeper.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sweeper
        await kiosk.bot.aclose()


def get_kiosk(request: Request) -> Kiosk:
    return request.app.state.kiosk


KioskDep = Annotated[Kiosk, Depends(get_kiosk)]
SecretHeader = Annotated[str | None, Header(alias="X-Kiosk-Session")]


def current_session(kiosk: KioskDep, secret: SecretHeader = None) -> KioskSession:
    session = kiosk.sessions.get(secret)
    if session is None:
        raise HTTPException(401, SESSION_ENDED, headers={"X-Kiosk-Error": "session_ended"})
    return session


SessionDep = Annotated[KioskSession, Depends(current_session)]

page = APIRouter()
api = APIRouter(prefix="/kiosk/api")


@page.get("/", include_in_schema=False)
def kiosk_page() -> FileResponse:
    return FileResponse(STATIC_DIR / "index.html", media_type="text/html; charset=utf-8",
                        headers=PAGE_HEADERS)


@page.get("/kiosk/static/{name}", include_in_schema=False)
def kiosk_asset(name: str) -> FileResponse:
    """The page's own script, style sheet and font-free assets (nothing from elsewhere)."""
    if name not in ASSETS:
        raise HTTPException(404, "Không có tệp này.")
    return FileResponse(ASSETS[name], headers=PAGE_HEADERS)


class SessionOut(BaseModel):
    session: str
    idle_s: float
    warning_s: float
    max_chars: int


class MessageIn(BaseModel):
    text: str


class MessagesOut(BaseModel):
    delivered: bool  # False: the bot did not see it (too long); the page keeps it in the input box
    messages: list[dict[str, Any]]


class QrOut(BaseModel):
    image: str  # data: URI of the QR code (PNG)
    payload: str  # what the QR encodes: the VNeID challenge (in the sandbox, its approval page)
    expires_at: str


class QrStatusOut(BaseModel):
    status: str  # none | pending | expired | approved
    messages: list[dict[str, Any]] = []


@api.post("/session", response_model=SessionOut, status_code=201)
def open_session(kiosk: KioskDep) -> SessionOut:
    session = kiosk.sessions.open()
    s = kiosk.settings
    return SessionOut(session=session.secret, idle_s=s.kiosk_idle_s, warning_s=s.kiosk_warning_s,
                      max_chars=s.max_message_chars)


@api.post("/message", response_model=MessagesOut)
async def send_message(body: MessageIn, kiosk: KioskDep, session: SessionDep) -> MessagesOut:
    text = body.text.strip()
    if not text:
        raise HTTPException(422, EMPTY)
    limit = kiosk.settings.max_message_chars
    if len(text) > limit:
        too_long = TOO_LONG.format(length=len(text), limit=limit)
        return MessagesOut(delivered=False, messages=[{"text": too_long}])
    if session.busy.locked() or not session.allow_message(kiosk.sessions.clock()):
        raise HTTPException(429, TOO_FAST)
    async with session.busy:
        try:
            messages = await kiosk.bot.send(session.sender, text)
        except BotUnavailable as error:
            logger.warning("kiosk message not delivered: %s", error)
            raise HTTPException(503, BOT_DOWN) from error
    return MessagesOut(delivered=True, messages=page_messages(messages))


@api.post("/ping")
def keep_alive(_: SessionDep) -> dict[str, bool]:
    """The citizen is still typing or reading: the session is not idle."""
    return {"ok": True}


@api.post("/end")
async def end_session(kiosk: KioskDep, secret: SecretHeader = None) -> JSONResponse:
    """"Kết thúc phiên" or the timeout: the conversation is restarted in Rasa (login and
    answers wiped) and the secret forgotten; the browser is told to clear what it holds."""
    session = kiosk.sessions.close(secret)
    if session is not None:
        await kiosk.bot.end(session.sender)
    return JSONResponse({"ended": True}, headers={
        "Clear-Site-Data": '"cache", "cookies", "storage"', "Cache-Control": "no-store"})


@api.post("/qr-login", response_model=QrOut)
async def start_qr_login(kiosk: KioskDep, session: SessionDep) -> QrOut:
    try:
        qr = await kiosk.portal().start_qr_login()
    except PortalError as error:
        logger.warning("QR login not started: %s", type(error).__name__)
        raise HTTPException(503, QR_UNAVAILABLE) from error
    session.qr_session = qr.session_id
    image = segno.make(qr.qr_payload, error="m").png_data_uri(scale=6, border=2)
    return QrOut(image=image, payload=qr.qr_payload, expires_at=qr.expires_at.isoformat())


@api.get("/qr-login", response_model=QrStatusOut)
async def poll_qr_login(kiosk: KioskDep, session: SessionDep) -> QrStatusOut:
    """Asked every few seconds while the QR code is shown. When the citizen has approved in
    VNeID, the portal hands out the token once; it goes to the conversation as the metadata
    of a "/login" message, and the bot's answer comes back here."""
    if session.qr_session is None:
        return QrStatusOut(status="none")
    try:
        state = await kiosk.portal().poll_qr_login(session.qr_session)
    except PortalError as error:
        logger.warning("QR login poll failed: %s", type(error).__name__)
        return QrStatusOut(status="pending")
    if state.status == "pending":
        return QrStatusOut(status="pending")
    session.qr_session = None
    if state.status != "approved" or state.login is None:
        return QrStatusOut(status="expired")
    login = {"token": state.login.token, "expires_at": state.login.expires_at.isoformat()}
    async with session.busy:
        try:
            messages = await kiosk.bot.send(session.sender, "/login", metadata={"portal_login": login})
        except BotUnavailable as error:
            raise HTTPException(503, BOT_DOWN) from error
    return QrStatusOut(status="approved", messages=page_messages(messages))


@api.delete("/qr-login")
def cancel_qr_login(session: SessionDep) -> dict[str, bool]:
    session.qr_session = None
    return {"ok": True}


def install(app: FastAPI) -> None:
    """The kiosk's page and API in an app (its `Kiosk` is made by `kiosk_running`)."""
    app.include_router(page)
    app.include_router(api)

    @app.middleware("http")
    async def kiosk_api_not_cached(request: Request,
                                   call_next: Callable[[Request], Awaitable[Response]]) -> Response:
        """Nothing a citizen typed or was answered at the kiosk is kept by the browser's cache,
        errors included."""
        response = await call_next(request)
        if request.url.path.startswith("/kiosk/api"):
            response.headers["Cache-Control"] = "no-store"
        return response
