"""Routes that exist only with PORTAL_SANDBOX=1, for demos and tests: the last one-time
code of a citizen (a real portal sends it by SMS), the registry, and a page standing in for
the VNeID app that approves a kiosk's QR login. Without the setting they are not mounted
at all (404), so a deployment cannot expose them by mistake.
"""
from __future__ import annotations

import json
from html import escape
from typing import Annotated
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import HTMLResponse
from sqlalchemy import select

from services.portal.auth import approve_qr, registered_citizen
from services.portal.db import Citizen, OneTimeCode, QrLogin
from services.portal.deps import DbDep, StateDep, local_time
from services.portal.registry import profile_out

router = APIRouter(prefix="/sandbox", tags=["hộp cát"])

_PAGE = """<!doctype html>
<html lang="vi"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>VNeID (hộp cát)</title>
<style>body{{font-family:system-ui,sans-serif;max-width:28rem;margin:2rem auto;padding:0 1rem}}
select,input,button{{font-size:1rem;width:100%;margin:.4rem 0;padding:.5rem}}
.note{{color:#555;font-size:.9rem}}</style></head>
<body><h1>VNeID — hộp cát</h1>{body}
<p class="note">Trang giả lập ứng dụng VNeID của hộp cát cổng dịch vụ công; dữ liệu cư dân là giả.</p>
</body></html>"""


def _page(body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(_PAGE.format(body=body), status_code=status)


@router.get("/otp")
def last_code(id_number: str, session: DbDep) -> dict:
    citizen = registered_citizen(session, id_number)
    otp = session.scalar(select(OneTimeCode).where(OneTimeCode.citizen_id == citizen.id)
                         .order_by(OneTimeCode.id.desc()).limit(1))
    if otp is None or otp.sandbox_code is None:
        raise HTTPException(404, "Chưa có mã xác thực nào được gửi cho số định danh này.")
    return {"id_number": citizen.id_number, "code": otp.sandbox_code, "expires_at": local_time(otp.expires_at),
            "used": otp.used}


@router.get("/citizens")
def citizens(session: DbDep) -> list[dict]:
    return [profile_out(c) for c in session.scalars(select(Citizen).order_by(Citizen.id))]


@router.get("/vneid/{challenge}", response_class=HTMLResponse)
def vneid_page(challenge: str, state: StateDep, session: DbDep) -> HTMLResponse:
    qr = session.scalar(select(QrLogin).where(QrLogin.challenge == challenge))
    if qr is None or qr.citizen_id is not None or qr.expires_at <= state.now():
        return _page("<p>Mã QR không còn hiệu lực; hãy tạo mã mới trên máy tra cứu.</p>", 410 if qr else 404)
    options = "".join(
        f'<option value="{escape(c.id_number)}">{escape(c.full_name)} — {escape(c.id_number)}</option>'
        for c in session.scalars(select(Citizen).where(Citizen.phone.is_not(None)).order_by(Citizen.id)))
    action = f"/sandbox/vneid/{escape(challenge, quote=True)}/approve"
    return _page(f"""<p>Máy tra cứu xin đăng nhập bằng tài khoản định danh điện tử của bạn.</p>
<form method="post" action="{action}">
<label>Chọn công dân<select name="id_number">{options}</select></label>
<button type="submit">Xác nhận đăng nhập</button></form>""")


async def posted_id_number(request: Request) -> str:
    """`id_number` from a urlencoded form or a JSON body. Parsed by hand: FastAPI's Form
    needs python-multipart, which nothing else here needs."""
    raw = await request.body()
    try:
        if request.headers.get("content-type", "").startswith("application/json"):
            return str(json.loads(raw or b"{}").get("id_number", ""))
        return parse_qs(raw.decode("utf-8")).get("id_number", [""])[0]
    except (ValueError, AttributeError) as error:
        raise HTTPException(422, "Dữ liệu gửi lên không đọc được; cần trường id_number.") from error


@router.post("/vneid/{challenge}/approve", response_class=HTMLResponse)
def vneid_approve(challenge: str, id_number: Annotated[str, Depends(posted_id_number)], state: StateDep,
                  session: DbDep) -> HTMLResponse:
    """Approves the kiosk's login as the chosen citizen, as the VNeID app would."""
    citizen = registered_citizen(session, id_number)
    approve_qr(session, state, challenge, citizen)
    return _page(f"<p>Đã xác nhận đăng nhập cho <b>{escape(citizen.full_name)}</b>. "
                 "Máy tra cứu sẽ tự tiếp tục.</p>")
