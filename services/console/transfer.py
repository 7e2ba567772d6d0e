"""FAQ import and export as a spreadsheet, pages and JSON API (the work is in spreadsheet.py).

Pages: `/console/import` (export links for every role; the upload form for editors and
approvers), `POST /console/import` (the preview), `POST /console/import/apply` (drafts; an
approver may tick "xuất bản luôn" with one reason), `/console/export?format=xlsx|csv`.
API: `GET faq/export?format=`, `POST faq/import` (multipart `file`: the preview and its
`plan`), `POST faq/import/apply` (`{"plan", "retire_missing", "publish_reason"}`).
"""
from __future__ import annotations

import json
import logging
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, File, Form, HTTPException, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from pydantic import BaseModel, Field

from assistant.knowledge.store import StoreError
from services.console.api import search_of
from services.console.auth import Console, ConsoleDep, Editor, Reader
from services.console.content import ContentInvalid
from services.console.pages import render, render_error
from services.console.spreadsheet import (
    CSV_MEDIA_TYPE,
    MAX_BYTES,
    MAX_ROWS,
    XLSX_MEDIA_TYPE,
    ImportRefused,
    Preview,
    apply,
    export_rows,
    preview,
    to_csv,
    to_xlsx,
)

logger = logging.getLogger(__name__)
transfer_api = APIRouter(prefix="/console/api")
transfer_pages = APIRouter(prefix="/console", include_in_schema=False)

REFUSED = "Tệp chưa nhập được, chưa thay đổi gì."
PUBLISH_NEEDS_APPROVER = "Chỉ người duyệt mới xuất bản được; biên tập viên chỉ tạo bản nháp."
MAX_PLAN_CHARS = 8 * MAX_BYTES  # the preview's plan, carried back by the page's form


def export_response(console: Console, kind: str) -> Response:
    rows = export_rows(console.content)
    name = f"hoi-dap-{console.settings.today().isoformat()}.{kind}"
    body, media_type = (to_xlsx(rows), XLSX_MEDIA_TYPE) if kind == "xlsx" else (to_csv(rows), CSV_MEDIA_TYPE)
    return Response(body, media_type=media_type,
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


async def read_upload(file: UploadFile | None) -> tuple[bytes, str]:
    if file is None or not file.filename:
        raise ImportRefused(["Chưa chọn tệp (.xlsx hoặc .csv)."])
    data = await file.read(MAX_BYTES + 1)
    if len(data) > MAX_BYTES:
        raise ImportRefused([f"Tệp quá lớn: tối đa {MAX_BYTES // 1024 // 1024} MB."])
    return data, file.filename


def import_note(filename: str, today: date) -> str:
    return f"Nhập từ bảng tính {filename[:200]} ngày {today.isoformat()}"


# ---------------------------------------------------------------- API

class FieldChangeOut(BaseModel):
    field: str
    old: str
    new: str


class PlanItemOut(BaseModel):
    key: str
    row: int | None
    title: str
    base_version: int
    changes: list[FieldChangeOut]
    open_drafts: int


class PreviewOut(BaseModel):
    new: list[PlanItemOut]
    changed: list[PlanItemOut]
    unchanged: list[PlanItemOut]
    missing: list[PlanItemOut]
    plan: dict[str, Any]


class ApplyIn(BaseModel):
    plan: dict[str, Any]
    filename: str = Field("", max_length=300)
    retire_missing: bool = False
    publish_reason: str | None = Field(None, max_length=2000)  # approvers: publish every draft with it


class AppliedOut(BaseModel):
    drafts: list[int]
    published: list[str]
    retired: list[str]
    warnings: list[str]


def preview_out(result: Preview) -> PreviewOut:
    def items(found: list[Any]) -> list[PlanItemOut]:
        return [PlanItemOut(key=i.key, row=i.row, title=i.title, base_version=i.base_version,
                            changes=[FieldChangeOut(field=c.name, old=c.old, new=c.new) for c in i.changes],
                            open_drafts=i.open_drafts) for i in found]
    return PreviewOut(new=items(result.new), changed=items(result.changed), unchanged=items(result.unchanged),
                      missing=items(result.missing), plan=result.plan())


def refused(error: ImportRefused) -> HTTPException:
    return HTTPException(422, {"message": REFUSED, "problems": error.problems})


@transfer_api.get("/faq/export")
def export_api(console: ConsoleDep, _: Reader, format: Literal["xlsx", "csv"] = "xlsx") -> Response:
    return export_response(console, format)


@transfer_api.post("/faq/import", response_model=PreviewOut)
async def import_api(console: ConsoleDep, session: Editor,
                     file: Annotated[UploadFile | None, File()] = None) -> PreviewOut:
    try:
        data, filename = await read_upload(file)
        return preview_out(preview(console.content, data, filename))
    except ImportRefused as error:
        raise refused(error) from error


@transfer_api.post("/faq/import/apply", response_model=AppliedOut)
def apply_api(body: ApplyIn, request: Request, console: ConsoleDep, session: Editor) -> AppliedOut:
    if body.publish_reason is not None and not session.officer.can("approver"):
        raise HTTPException(403, PUBLISH_NEEDS_APPROVER)
    try:
        done = apply(console.content, body.plan, session.officer.username, retire_missing=body.retire_missing,
                     publish_reason=body.publish_reason, search=search_of(request),
                     note=import_note(body.filename or "(API)", console.settings.today()))
    except ImportRefused as error:
        raise refused(error) from error
    except (ContentInvalid, StoreError) as error:
        raise HTTPException(409, str(error)) from error
    logger.info("FAQ import by %s: %d drafts", session.officer.username, len(done.drafts))
    return AppliedOut(**done.__dict__)


# ---------------------------------------------------------------- pages

def _page(request: Request, session: Any, status: int = 200, **context: Any) -> Response:
    return render(request, "import.html", session, status, max_mb=MAX_BYTES // 1024 // 1024,
                  max_rows=MAX_ROWS,
                  **context)


@transfer_pages.get("/export")
def export_page(console: ConsoleDep, _: Reader, format: Literal["xlsx", "csv"] = "xlsx") -> Response:
    return export_response(console, format)


@transfer_pages.get("/import", response_class=HTMLResponse)
def import_page(request: Request, session: Reader) -> Response:
    return _page(request, session)


@transfer_pages.post("/import", response_class=HTMLResponse)
async def import_form(request: Request, console: ConsoleDep, session: Editor,
                      file: Annotated[UploadFile | None, File()] = None) -> Response:
    try:
        data, filename = await read_upload(file)
        result = preview(console.content, data, filename)
    except ImportRefused as error:
        return _page(request, session, 422, problems=error.problems,
                     filename=file.filename if file is not None else "")
    return _page(request, session, preview=result, filename=filename,
                 plan=json.dumps(result.plan(), ensure_ascii=False, separators=(",", ":")))


@transfer_pages.post("/import/apply", response_class=HTMLResponse)
def import_apply_form(request: Request, console: ConsoleDep, session: Editor,
                      plan: Annotated[str, Form(max_length=MAX_PLAN_CHARS)] = "",
                      filename: Annotated[str, Form(max_length=300)] = "",
                      retire_missing: Annotated[str, Form()] = "",
                      publish: Annotated[str, Form()] = "",
                      reason: Annotated[str, Form(max_length=2000)] = "") -> Response:
    if publish == "1" and not session.officer.can("approver"):
        return render_error(request, PUBLISH_NEEDS_APPROVER, 403)
    try:
        parsed = json.loads(plan)
    except ValueError:
        parsed = None
    try:
        done = apply(console.content, parsed, session.officer.username, retire_missing=retire_missing == "1",
                     publish_reason=reason if publish == "1" else None, search=search_of(request),
                     note=import_note(filename or "(không tên)", console.settings.today()))
    except ImportRefused as error:
        return _page(request, session, 409, problems=error.problems, filename=filename)
    except (ContentInvalid, StoreError) as error:
        return render_error(request, str(error), 409)
    logger.info("FAQ import by %s: %d drafts", session.officer.username, len(done.drafts))
    return render(request, "imported.html", session, done=done, filename=filename)
