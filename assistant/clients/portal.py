"""The one way the action server talks to the public-service portal (the sandbox in
services/portal by default, a real portal by configuration: PORTAL_URL, PORTAL_CLIENT_KEY).

Every call has a timeout and is retried with exponential backoff (aiohttp-retry) on 5xx
and network errors only: a 4xx means the portal understood and said no, and asking again
would get the same answer. A dossier submission carries an idempotency key that the
caller creates once per dossier (`new_idempotency_key`) and reuses on every retry, even
after a restart, so that a retry never creates a second dossier.

Errors are typed so that an action can say the right thing: `PortalUnavailable` (try
later; keep the dossier in the outbox), `PortalAuthError` (log in again), `NotFound`,
`PortalRejected` (the portal's Vietnamese reason, to show the citizen). Results are
frozen dataclasses. Runs on Python 3.10 (action server) and 3.11.
"""
from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, TypeVar
from urllib.parse import quote

import aiohttp
from aiohttp_retry import ExponentialRetry, RetryClient

from assistant.settings import Settings, load_settings

RETRIED_EXCEPTIONS: set[type[Exception]] = {aiohttp.ClientError, asyncio.TimeoutError}
T = TypeVar("T")


class PortalError(Exception):
    """Anything that kept a portal call from giving a usable answer."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class PortalUnavailable(PortalError):
    """Down, slow, 5xx or an unreadable answer, after the retries: try again later."""

    retryable = True


class PortalAuthError(PortalError):
    """401 (no, wrong or expired login: log in again) or 403 (logged in, not allowed)."""

    retryable = False


class PortalRejected(PortalError):
    """The portal refused the request (4xx); `message` is its reason, in Vietnamese."""

    retryable = False


class NotFound(PortalRejected):
    """404: no such dossier, citizen, QR session…"""


@dataclass(frozen=True)
class CitizenRef:
    name: str
    id_number_masked: str


@dataclass(frozen=True)
class OtpSent:
    masked_phone: str
    expires_at: datetime


@dataclass(frozen=True)
class Login:
    token: str
    expires_at: datetime
    citizen: CitizenRef


@dataclass(frozen=True)
class Address:
    detail: str | None
    commune_code: int
    commune: str | None
    province: str | None
    text: str  # "Số 12, tổ 3, khu 5, Phường Hồng Gai, Quảng Ninh"


@dataclass(frozen=True)
class CitizenProfile:
    """What the registry holds about a citizen: the forms pre-fill from it."""

    id_number: str
    full_name: str
    date_of_birth: date
    sex: str  # nam | nữ
    phone: str | None
    household_code: str
    relation: str  # to the household head: chủ hộ, vợ, con…
    head_name: str | None
    head_id_number: str | None
    permanent_address: Address | None
    temporary_address: Address | None


@dataclass(frozen=True)
class QrLogin:
    session_id: str  # the kiosk's secret for polling; never shown
    qr_payload: str  # what the QR code on screen encodes
    expires_at: datetime


@dataclass(frozen=True)
class QrStatus:
    status: str  # pending | approved | expired
    login: Login | None  # with the first "approved" answer only


@dataclass(frozen=True)
class StatusChange:
    status: str
    status_label: str
    reason: str | None
    at: datetime


@dataclass(frozen=True)
class Dossier:
    code: str
    procedure_id: str
    status: str
    status_label: str
    created_at: datetime
    updated_at: datetime
    full: bool  # False: the public view (status and dates only)
    agency_code: str | None = None
    fields: dict[str, Any] | None = None
    applicant: CitizenProfile | None = None
    history: tuple[StatusChange, ...] = ()
    replayed: bool = False  # a resubmission answered with the dossier created before


@dataclass(frozen=True)
class Slot:
    date: date
    period: str  # morning | afternoon
    label: str
    capacity: int
    available: int


@dataclass(frozen=True)
class Appointment:
    id: int
    procedure_id: str
    commune_code: int
    commune: str
    date: date
    period: str
    label: str
    status: str
    dossier_code: str | None


@dataclass(frozen=True)
class Attachment:
    name: str
    content_type: str  # image/jpeg | image/png | application/pdf
    data_base64: str


def new_idempotency_key() -> str:
    """A key for one dossier: create it when the dossier is confirmed, store it with the
    draft, and send the same key on every retry."""
    return uuid.uuid4().hex


class PortalClient:
    def __init__(self, base_url: str, client_key: str | None = None, timeout_s: float = 5.0,
                 attempts: int = 3, backoff_s: float = 0.3) -> None:
        self.base_url = base_url.rstrip("/")
        self.client_key = client_key
        self.timeout_s = timeout_s
        self.attempts = max(1, attempts)
        self.backoff_s = backoff_s

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> PortalClient:
        s = settings or load_settings()
        return cls(s.portal_url, s.portal_client_key, s.portal_timeout_s, s.portal_attempts, s.portal_backoff_s)

    # --- login -----------------------------------------------------------------------------
    async def request_otp(self, id_number: str) -> OtpSent:
        body = await self._call("POST", "/api/auth/otp", json={"id_number": id_number})
        return _parse(lambda: OtpSent(body["masked_phone"], _datetime(body["expires_at"])))

    async def verify_otp(self, id_number: str, code: str) -> Login:
        body = await self._call("POST", "/api/auth/otp/verify", json={"id_number": id_number, "code": code})
        return _parse(lambda: _login(body))

    async def start_qr_login(self) -> QrLogin:
        body = await self._call("POST", "/api/auth/qr")
        return _parse(lambda: QrLogin(body["session_id"], body["qr_payload"], _datetime(body["expires_at"])))

    async def poll_qr_login(self, session_id: str) -> QrStatus:
        body = await self._call("GET", f"/api/auth/qr/{quote(session_id, safe='')}")
        return _parse(lambda: QrStatus(body["status"], _login(body["login"]) if body.get("login") else None))

    async def me(self, token: str) -> CitizenProfile:
        """The logged-in citizen's registry record (for pre-filling forms)."""
        body = await self._call("GET", "/api/citizens/me", token=token)
        return _parse(lambda: _profile(body))

    # --- dossiers --------------------------------------------------------------------------
    async def submit_dossier(self, token: str, procedure_id: str, fields: dict[str, Any], idempotency_key: str,
                             attachments: tuple[Attachment, ...] = (), commune_code: int | None = None) -> Dossier:
        payload: dict[str, Any] = {
            "procedure_id": procedure_id, "fields": fields,
            "attachments": [{"name": a.name, "content_type": a.content_type, "data": a.data_base64}
                            for a in attachments]}
        if commune_code is not None:
            payload["commune_code"] = commune_code
        answer = await self._answer("POST", "/api/dossiers", json=payload, token=token,
                                    headers={"Idempotency-Key": idempotency_key})
        return _parse(lambda: _dossier(answer.body, replayed=answer.status == 200))

    async def get_dossier(self, code: str, token: str | None = None) -> Dossier:
        """Full details with the owner's or an officer's token, status and dates otherwise."""
        body = await self._call("GET", f"/api/dossiers/{quote(code.strip(), safe='')}", token=token)
        return _parse(lambda: _dossier(body))

    async def my_dossiers(self, token: str) -> list[Dossier]:
        body = await self._call("GET", "/api/dossiers", params={"mine": "1"}, token=token)
        return _parse(lambda: [_dossier(item) for item in body])

    # --- appointments ----------------------------------------------------------------------
    async def slots(self, commune_code: int, start: date | None = None, days: int = 14) -> list[Slot]:
        params: dict[str, str] = {"commune_code": str(commune_code), "days": str(days)}
        if start is not None:
            params["from"] = start.isoformat()
        body = await self._call("GET", "/api/appointments/slots", params=params)
        return _parse(lambda: [Slot(date.fromisoformat(s["date"]), s["period"], s["label"], s["capacity"],
                                    s["available"]) for s in body])

    async def book_appointment(self, token: str, procedure_id: str, commune_code: int, day: date, period: str,
                               dossier_code: str | None = None) -> Appointment:
        """Booking the same slot again returns the existing booking, so a retry is harmless."""
        body = await self._call("POST", "/api/appointments", token=token, json={
            "procedure_id": procedure_id, "commune_code": commune_code, "date": day.isoformat(),
            "period": period, "dossier_code": dossier_code})
        return _parse(lambda: Appointment(
            body["id"], body["procedure_id"], body["commune_code"], body["commune"],
            date.fromisoformat(body["date"]), body["period"], body["label"], body["status"],
            body.get("dossier_code")))

    # --- transport -------------------------------------------------------------------------
    async def _call(self, method: str, path: str, **options: Any) -> Any:
        return (await self._answer(method, path, **options)).body

    async def _answer(self, method: str, path: str, *, json: Any = None, params: dict[str, str] | None = None,
                      token: str | None = None, headers: dict[str, str] | None = None) -> _Answer:
        """One request with retries: a 2xx status and its decoded JSON body, or a typed error."""
        all_headers = dict(headers or {})
        if token:
            all_headers["Authorization"] = f"Bearer {token}"
        if self.client_key:
            all_headers["X-Client-Key"] = self.client_key
        retry = ExponentialRetry(attempts=self.attempts, start_timeout=self.backoff_s / 2, factor=2.0,
                                 exceptions=RETRIED_EXCEPTIONS, retry_all_server_errors=True)
        timeout = aiohttp.ClientTimeout(total=self.timeout_s)
        try:
            async with aiohttp.ClientSession(timeout=timeout) as session:
                client = RetryClient(client_session=session, retry_options=retry, raise_for_status=False)
                async with client.request(method, f"{self.base_url}{path}", json=json, params=params,
                                          headers=all_headers) as response:
                    status = response.status
                    try:
                        body = await response.json(content_type=None)
                    except ValueError:
                        body = None
        except (aiohttp.ClientError, asyncio.TimeoutError) as error:  # noqa: UP041 (not TimeoutError on 3.10)
            raise PortalUnavailable(f"Cổng dịch vụ công không phản hồi ({type(error).__name__}).") from error
        if status >= 500:
            raise PortalUnavailable(f"Cổng dịch vụ công đang gặp sự cố ({status}).", status)
        if status >= 400:
            raise _rejection(status, body)
        if body is None:
            raise PortalUnavailable("Cổng dịch vụ công trả lời không đọc được.", status)
        return _Answer(status, body)


@dataclass(frozen=True)
class _Answer:
    status: int
    body: Any


def _rejection(status: int, body: Any) -> PortalError:
    detail = body.get("detail") if isinstance(body, dict) else None
    message = detail if isinstance(detail, str) else f"Cổng dịch vụ công từ chối yêu cầu ({status})."
    if status in (401, 403):
        return PortalAuthError(message, status)
    if status == 404:
        return NotFound(message, status)
    return PortalRejected(message, status)


def _parse(build: Callable[[], T]) -> T:
    """Builds a result from a body; a body without the expected fields is the portal's fault."""
    try:
        return build()
    except (KeyError, TypeError, ValueError) as error:
        raise PortalUnavailable("Cổng dịch vụ công trả lời không đúng định dạng.") from error


def _datetime(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))  # noqa: FURB162 (3.10 does not read "Z")


def _login(body: dict[str, Any]) -> Login:
    citizen = body["citizen"]
    return Login(body["token"], _datetime(body["expires_at"]), CitizenRef(citizen["name"], citizen["id_number"]))


def _dossier(body: dict[str, Any], replayed: bool = False) -> Dossier:
    full = body.get("view") == "full"
    return Dossier(
        code=body["code"], procedure_id=body["procedure_id"], status=body["status"],
        status_label=body["status_label"], created_at=_datetime(body["created_at"]),
        updated_at=_datetime(body["updated_at"]), full=full,
        agency_code=body.get("agency_code"), fields=body.get("fields"),
        applicant=_profile(body["applicant"]) if body.get("applicant") else None,
        history=tuple(StatusChange(h["status"], h["status_label"], h.get("reason"), _datetime(h["at"]))
                      for h in body.get("history", ())),
        replayed=replayed)


def _address(body: dict[str, Any] | None) -> Address | None:
    if not body:
        return None
    return Address(body.get("detail"), int(body["commune_code"]), body.get("commune"), body.get("province"),
                   body["text"])


def _profile(body: dict[str, Any]) -> CitizenProfile:
    household = body["household"]
    return CitizenProfile(
        id_number=body["id_number"], full_name=body["full_name"],
        date_of_birth=date.fromisoformat(body["date_of_birth"]), sex=body["sex"], phone=body.get("phone"),
        household_code=household["code"], relation=household["relation"], head_name=household.get("head_name"),
        head_id_number=household.get("head_id_number"), permanent_address=_address(body.get("permanent_address")),
        temporary_address=_address(body.get("temporary_address")))
