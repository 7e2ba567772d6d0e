"""The portal client against a small local aiohttp server that answers from a script:
retries on 5xx and network errors only, the same idempotency key on every try, typed errors."""
from __future__ import annotations

import asyncio
import json
import os
import socket
import subprocess
import time
import urllib.request
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pytest
from aiohttp import web

from assistant.clients.portal import (
    Attachment,
    NotFound,
    PortalAuthError,
    PortalClient,
    PortalRejected,
    PortalUnavailable,
    new_idempotency_key,
)

ROOT = Path(__file__).resolve().parents[2]
DOSSIER = {"view": "full", "code": "H22.06.685-260302-0001", "procedure_id": "dang-ky-tam-tru",
           "status": "received", "status_label": "Đã tiếp nhận", "created_at": "2026-03-02T09:00:00+07:00",
           "updated_at": "2026-03-02T09:00:00+07:00", "agency_code": "H22.06.685", "fields": {"ly_do": "đi làm"},
           "applicant": {"id_number": "022190001234", "full_name": "Nguyễn Thị Lan", "date_of_birth": "1990-03-05",
                         "sex": "nữ", "phone": "0912345612",
                         "household": {"code": "HK-22-0001", "relation": "chủ hộ", "head_name": "Nguyễn Thị Lan",
                                       "head_id_number": "022190001234"},
                         "permanent_address": {"detail": "Số 12, tổ 3, khu 5", "commune_code": 6685,
                                               "commune": "Phường Hồng Gai", "province": "Quảng Ninh",
                                               "text": "Số 12, tổ 3, khu 5, Phường Hồng Gai, Quảng Ninh"},
                         "temporary_address": None},
           "attachments": [],
           "history": [{"status": "received", "status_label": "Đã tiếp nhận", "reason": None,
                        "at": "2026-03-02T09:00:00+07:00"}]}


@dataclass
class Reply:
    status: int
    body: object = None
    delay_s: float = 0.0


@dataclass
class FakePortal:
    """Answers every request with the next scripted reply (the last one repeats) and keeps
    what it received."""

    replies: list[Reply]
    received: list[dict] = field(default_factory=list)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.received.append({"method": request.method, "path": request.path, "query": dict(request.query),
                              "headers": dict(request.headers),
                              "json": await request.json() if request.can_read_body else None})
        reply = self.replies[min(len(self.received), len(self.replies)) - 1]
        if reply.delay_s:
            await asyncio.sleep(reply.delay_s)
        return web.json_response(reply.body, status=reply.status)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def run_against(replies: list[Reply], call, **client_options) -> tuple[object, FakePortal]:
    """Runs `call(client)` while the fake portal serves `replies`; returns its result (or the
    exception it raised) and the fake portal."""
    portal = FakePortal(replies)

    async def run():
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", portal.handle)
        runner = web.AppRunner(app)
        await runner.setup()
        port = free_port()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        options = {"timeout_s": 2.0, "attempts": 3, "backoff_s": 0.02, **client_options}
        try:
            return await call(PortalClient(f"http://127.0.0.1:{port}", **options))
        except Exception as error:  # noqa: BLE001 (handed back for the test to inspect)
            return error
        finally:
            await runner.cleanup()

    return asyncio.run(run()), portal


def submit(key: str):
    return lambda client: client.submit_dossier(
        "citizen-token", "dang-ky-tam-tru", {"ly_do": "đi làm"}, key,
        attachments=(Attachment("a.png", "image/png", "iVBORw0KGgo="),))


def test_submission_is_retried_after_503_with_the_same_idempotency_key():
    key = new_idempotency_key()
    result, portal = run_against([Reply(503, {"detail": "bận"}), Reply(503, {"detail": "bận"}), Reply(201, DOSSIER)],
                                 submit(key))
    assert not isinstance(result, Exception), result
    assert result.code == "H22.06.685-260302-0001" and result.full and not result.replayed
    assert result.created_at.utcoffset() == timedelta(hours=7) and result.history[0].status == "received"
    assert result.applicant.date_of_birth == date(1990, 3, 5) and result.applicant.relation == "chủ hộ"
    assert result.applicant.permanent_address.commune_code == 6685 and result.applicant.temporary_address is None
    assert len(portal.received) == 3
    assert {r["headers"]["Idempotency-Key"] for r in portal.received} == {key}
    assert all(r["json"] == portal.received[0]["json"] for r in portal.received), "the same body every time"
    sent = portal.received[0]
    assert sent["headers"]["Authorization"] == "Bearer citizen-token" and sent["path"] == "/api/dossiers"
    assert sent["json"]["attachments"][0]["data"] == "iVBORw0KGgo=" and "X-Client-Key" not in sent["headers"]


def test_a_replayed_submission_is_reported_as_such():
    result, _ = run_against([Reply(200, DOSSIER)], submit("key-0000001"))
    assert result.replayed


def test_400_is_not_retried_and_carries_the_portals_reason():
    reason = "Không có thủ tục mã 'x' trong danh mục."
    result, portal = run_against([Reply(400, {"detail": reason}), Reply(201, DOSSIER)], submit("key-0000001"))
    assert isinstance(result, PortalRejected) and not isinstance(result, NotFound)
    assert result.message == reason and result.status == 400 and not result.retryable
    assert len(portal.received) == 1


def test_409_is_a_rejection_too():
    result, portal = run_against([Reply(409, {"detail": "Khung giờ đã đủ người."})],
                                 lambda c: c.book_appointment("t", "cap-the-can-cuoc", 6685, date(2026, 3, 4),
                                                              "morning"))
    assert isinstance(result, PortalRejected) and "đủ người" in result.message and len(portal.received) == 1


def test_a_slow_portal_times_out_as_unavailable():
    result, portal = run_against([Reply(200, DOSSIER, delay_s=1.0)],
                                 lambda c: c.get_dossier("H22.06.685-260302-0001"), timeout_s=0.2, attempts=2)
    assert isinstance(result, PortalUnavailable) and result.retryable
    assert len(portal.received) == 2, "a timeout is retried"


def test_401_and_403_are_auth_errors_without_retry():
    for status in (401, 403):
        result, portal = run_against([Reply(status, {"detail": "Phiên đăng nhập đã hết hạn."})],
                                     lambda c: c.my_dossiers("old-token"))
        assert isinstance(result, PortalAuthError) and result.status == status
        assert result.message == "Phiên đăng nhập đã hết hạn." and len(portal.received) == 1


def test_404_is_not_found():
    result, portal = run_against([Reply(404, {"detail": "Không tìm thấy hồ sơ."})],
                                 lambda c: c.get_dossier("H22.06.685-260302-0009"))
    assert isinstance(result, NotFound) and len(portal.received) == 1


def test_persistent_5xx_and_unreadable_bodies_are_unavailable():
    result, portal = run_against([Reply(500, {"detail": "lỗi"})], lambda c: c.start_qr_login())
    assert isinstance(result, PortalUnavailable) and result.status == 500 and len(portal.received) == 3
    result, _ = run_against([Reply(200, {"unexpected": True})], lambda c: c.start_qr_login())
    assert isinstance(result, PortalUnavailable)


def test_a_portal_that_is_down_is_unavailable():
    async def call():
        return await PortalClient(f"http://127.0.0.1:{free_port()}", timeout_s=1, attempts=2,
                                  backoff_s=0.01).request_otp("022190001234")

    with pytest.raises(PortalUnavailable):
        asyncio.run(call())


def test_login_results_and_the_client_key():
    login = {"token": "t0k", "expires_at": "2026-03-02T09:15:00+07:00",
             "citizen": {"name": "Nguyễn Văn An", "id_number": "022*******34"}}
    result, portal = run_against([Reply(200, {"status": "approved", "login": login})],
                                 lambda c: c.poll_qr_login("session-1"), client_key="kiosk-key")
    assert result.status == "approved" and result.login.token == "t0k"
    assert result.login.citizen.id_number_masked == "022*******34"
    assert portal.received[0]["headers"]["X-Client-Key"] == "kiosk-key"
    assert portal.received[0]["path"] == "/api/auth/qr/session-1"
    result, portal = run_against([Reply(200, [{"date": "2026-03-03", "period": "morning", "label": "Sáng",
                                               "capacity": 10, "booked": 1, "available": 9}])],
                                 lambda c: c.slots(6685, date(2026, 3, 2), days=3))
    assert result[0].date == date(2026, 3, 3) and result[0].available == 9
    assert portal.received[0]["query"] == {"commune_code": "6685", "days": "3", "from": "2026-03-02"}


def test_public_view_of_a_dossier():
    public = {key: DOSSIER[key] for key in ("code", "procedure_id", "status", "status_label", "created_at",
                                            "updated_at")}
    result, _ = run_against([Reply(200, {"view": "public", **public})], lambda c: c.get_dossier(DOSSIER["code"]))
    assert not result.full and result.fields is None and result.history == ()


def test_idempotency_keys_are_unique():
    assert len({new_idempotency_key() for _ in range(100)}) == 100


# --- against the real sandbox ----------------------------------------------------------------
SERVICES_UVICORN = ROOT / ".venv" / "services" / "bin" / "uvicorn"


@pytest.fixture(scope="module")
def sandbox_url(tmp_path_factory):
    """The portal sandbox (services env, Python 3.11) on a free port with its own database:
    the client and the server must agree on every body."""
    if not SERVICES_UVICORN.exists():
        pytest.skip("the services environment is not installed")
    port = free_port()
    database = tmp_path_factory.mktemp("portal") / "portal.sqlite3"
    env = dict(os.environ, PYTHONPATH=str(ROOT), PORTAL_SANDBOX="1", PORTAL_OFFICER_TOKEN="officer-token",
               PORTAL_DATABASE_URL=f"sqlite:///{database}")
    env.pop("PORTAL_CLIENT_KEY", None)
    process = subprocess.Popen([str(SERVICES_UVICORN), "services.portal.main:app", "--host", "127.0.0.1",
                                "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"{url}/health", timeout=2):
                    break
            except OSError:
                time.sleep(0.3)
        else:
            pytest.fail("the portal sandbox did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=15)


def sandbox_get(url: str) -> object:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.load(response)


def test_the_client_against_the_real_sandbox(sandbox_url):
    citizen = next(c for c in sandbox_get(f"{sandbox_url}/sandbox/citizens")
                   if c["phone"] and c["date_of_birth"] < "2000")

    async def journey():
        client = PortalClient(sandbox_url, timeout_s=5, attempts=2, backoff_s=0.05)
        sent = await client.request_otp(citizen["id_number"])
        code = sandbox_get(f"{sandbox_url}/sandbox/otp?id_number={citizen['id_number']}")["code"]
        login = await client.verify_otp(citizen["id_number"], code)
        profile = await client.me(login.token)
        key = new_idempotency_key()
        first = await client.submit_dossier(login.token, "cap-doi-the-can-cuoc", {"ly_do": "hết hạn"}, key)
        again = await client.submit_dossier(login.token, "cap-doi-the-can-cuoc", {"ly_do": "hết hạn"}, key)
        public = await client.get_dossier(first.code)
        mine = await client.my_dossiers(login.token)
        slots = await client.slots(profile.permanent_address.commune_code, days=10)
        booking = await client.book_appointment(login.token, "cap-doi-the-can-cuoc",
                                                profile.permanent_address.commune_code, slots[0].date,
                                                slots[0].period, dossier_code=first.code)
        qr = await client.start_qr_login()
        polled = await client.poll_qr_login(qr.session_id)
        with pytest.raises(PortalRejected) as conflict:
            await client.submit_dossier(login.token, "cap-doi-the-can-cuoc", {"ly_do": "mất"}, key)
        with pytest.raises(PortalAuthError):
            await client.my_dossiers("wrong-token")
        with pytest.raises(NotFound):
            await client.get_dossier("H22.06.685-200101-0001")
        return sent, login, profile, first, again, public, mine, booking, polled, conflict.value

    sent, login, profile, first, again, public, mine, booking, polled, conflict = asyncio.run(journey())
    assert sent.masked_phone.endswith(citizen["phone"][-2:]) and login.citizen.name == citizen["full_name"]
    assert profile.id_number == citizen["id_number"] and profile.household_code == citizen["household"]["code"]
    assert first.full and not first.replayed and first.applicant.id_number == citizen["id_number"]
    assert again.replayed and again.code == first.code and [d.code for d in mine] == [first.code]
    assert not public.full and public.status == "received" and public.status_label == "Đã tiếp nhận"
    assert booking.status == "booked" and booking.dossier_code == first.code
    assert polled.status == "pending" and polled.login is None
    assert conflict.status == 409 and first.code in conflict.message
