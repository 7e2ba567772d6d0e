"""The receipt of a dossier filed through the assistant: a printable A4 PDF with a QR code of the
dossier code, and the same content as a short chat message for channels that cannot print.

The receipt is the assistant's own note, not the police's CT04 (Phiếu tiếp nhận hồ sơ và hẹn trả
kết quả) nor their result: it says so on the page. Full ID numbers are never printed: any 12-digit
number in the data is masked like `assistant.identity.mask_id_number` (022*******34).

The section below the receipt follows the citizen's form: CT01 "Tờ khai thay đổi thông tin cư trú"
(Thông tư 66/2023/TT-BCA; reported re-issued with Thông tư 116/2026/TT-BCA from 1/7/2026, not
verified, so the page names the form without a circular) for residence procedures, "Đề nghị cấp
thẻ căn cước" for ID-card procedures, after DC02 "Phiếu đề nghị giải quyết thủ tục về căn cước"
(Thông tư 17/2024/TT-BCA), the form of an online request; CC01 is the officer's printout.

The font is DejaVu Sans (Vietnamese coverage), taken from the copy matplotlib ships (pinned in
requirements/rasa.lock through Rasa), else from Debian's fonts-dejavu-core. The same input gives
the same bytes: the PDF's creation date is the submission time.
"""
from __future__ import annotations

import importlib.util
import io
import re
import unicodedata
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from pathlib import Path

import segno
from fpdf import FPDF, FontFace
from fpdf.enums import XPos, YPos

from assistant.identity import mask_id_number

__all__ = ["ReceiptData", "font_dir", "is_id_card_procedure", "qr_png", "receipt_pdf", "receipt_text"]

VIETNAM_TZ = timezone(timedelta(hours=7), "ICT")
TITLE = "PHIẾU TIẾP NHẬN HỒ SƠ"
CT01_TITLE = "TỜ KHAI THAY ĐỔI THÔNG TIN CƯ TRÚ"
ID_CARD_TITLE = "ĐỀ NGHỊ CẤP THẺ CĂN CƯỚC"
CT01_FORM = "(theo mẫu CT01)"
ID_CARD_FORM = "(theo mẫu DC02 - Phiếu đề nghị giải quyết thủ tục về căn cước)"
DISCLAIMER = ("Phiếu này do Trợ lý ảo 06 tạo từ thông tin anh/chị đã khai. Kết quả giải quyết chính thức "
              "do cơ quan Công an thông báo.")

_FONT = "DejaVu"
_FONT_FILES = {"": "DejaVuSans.ttf", "B": "DejaVuSans-Bold.ttf"}
_SYSTEM_FONT_DIR = Path("/usr/share/fonts/truetype/dejavu")
_WEEKDAYS = ("Thứ Hai", "Thứ Ba", "Thứ Tư", "Thứ Năm", "Thứ Sáu", "Thứ Bảy", "Chủ nhật")
# 12 digits, optionally grouped by spaces or dots: a personal ID number.
_ID_NUMBER = re.compile(r"(?<!\d)\d{3}[ .]?\d{3}[ .]?\d{3}[ .]?\d{3}(?!\d)")
_BOLD = FontFace(emphasis="BOLD")


@dataclass(frozen=True)
class ReceiptData:
    """What a receipt shows. `applicant_id_masked` is already masked (022*******34);
    `fields` are the (label, value) pairs of the request ("Nội dung đề nghị")."""

    dossier_code: str
    procedure_id: str
    procedure_name: str
    submitted_at: datetime  # naive means Vietnam time
    expected_result: date
    fee_text: str
    receiving_office: str
    applicant_name: str
    applicant_id_masked: str
    fields: tuple[tuple[str, str], ...]
    appointment: str | None
    next_steps: str


def is_id_card_procedure(procedure_id: str) -> bool:
    """True for the căn cước procedures ("cap-doi-the-can-cuoc"), False for residence ones."""
    return "can-cuoc" in procedure_id or "cccd" in procedure_id


def _safe(text: str) -> str:
    """NFC text with every 12-digit number masked."""
    text = unicodedata.normalize("NFC", text or "")
    return _ID_NUMBER.sub(lambda m: mask_id_number(re.sub(r"\D", "", m.group())), text)


def _masked(data: ReceiptData) -> ReceiptData:
    """`data` with every text but the dossier code passed through `_safe`."""
    return replace(
        data, dossier_code=unicodedata.normalize("NFC", data.dossier_code),
        procedure_name=_safe(data.procedure_name), fee_text=_safe(data.fee_text),
        receiving_office=_safe(data.receiving_office), applicant_name=_safe(data.applicant_name),
        applicant_id_masked=_safe(data.applicant_id_masked),
        fields=tuple((_safe(label), _safe(value)) for label, value in data.fields),
        appointment=_safe(data.appointment) if data.appointment else None, next_steps=_safe(data.next_steps))


def _vn_time(moment: datetime) -> datetime:
    return moment.replace(tzinfo=VIETNAM_TZ) if moment.tzinfo is None else moment.astimezone(VIETNAM_TZ)


def _day_text(day: date) -> str:
    return f"{_WEEKDAYS[day.weekday()]}, {day:%d/%m/%Y}"


def _summary_rows(data: ReceiptData) -> list[tuple[str, str]]:
    """The receipt's lines, shared by the PDF and the chat message (`data` already masked)."""
    rows = [("Mã hồ sơ", data.dossier_code),
            ("Thủ tục", data.procedure_name),
            ("Thời điểm nộp", f"{_vn_time(data.submitted_at):%H:%M ngày %d/%m/%Y}"),
            ("Cơ quan tiếp nhận", data.receiving_office),
            ("Người nộp", data.applicant_name),
            ("Số định danh cá nhân", data.applicant_id_masked),
            ("Ngày hẹn trả kết quả (dự kiến)", _day_text(data.expected_result)),
            ("Lệ phí", data.fee_text)]
    if data.appointment:
        rows.append(("Lịch hẹn", data.appointment))
    return rows


def qr_png(text: str, scale: int = 4) -> bytes:
    """A PNG of the QR code of `text` (error level M or better, 4-module quiet zone)."""
    buffer = io.BytesIO()
    segno.make(text, error="m", micro=False).save(buffer, kind="png", scale=scale, border=4)
    return buffer.getvalue()


@lru_cache(maxsize=1)
def font_dir() -> Path:
    """The folder holding DejaVuSans.ttf and DejaVuSans-Bold.ttf."""
    candidates = []
    spec = importlib.util.find_spec("matplotlib")  # finds the package without importing it
    if spec is not None and spec.submodule_search_locations:
        candidates.append(Path(next(iter(spec.submodule_search_locations))) / "mpl-data" / "fonts" / "ttf")
    candidates.append(_SYSTEM_FONT_DIR)
    for folder in candidates:
        if all((folder / name).is_file() for name in _FONT_FILES.values()):
            return folder
    raise FileNotFoundError("DejaVu Sans not found: install matplotlib (requirements/rasa.lock) "
                            "or Debian's fonts-dejavu-core")


def _new_pdf(data: ReceiptData) -> FPDF:
    pdf = FPDF(format="A4")
    pdf.set_creation_date(_vn_time(data.submitted_at))
    pdf.set_title(f"{TITLE.capitalize()} {data.dossier_code}")
    pdf.set_author("Trợ lý ảo 06")
    pdf.set_lang("vi")
    pdf.set_margins(18, 15, 18)
    pdf.set_auto_page_break(True, margin=15)
    for style, name in _FONT_FILES.items():
        pdf.add_font(_FONT, style, font_dir() / name)
    pdf.add_page()
    return pdf


def _line(pdf: FPDF, text: str, size: float = 10, style: str = "", align: str = "L", h: float = 5.5) -> None:
    pdf.set_font(_FONT, style, size)
    pdf.multi_cell(0, h, text, align=align, new_x=XPos.LMARGIN, new_y=YPos.NEXT)


def _table(pdf: FPDF, rows: list[tuple[str, str]], label_width: float = 58) -> None:
    pdf.set_font(_FONT, "", 10)
    width = pdf.epw
    with pdf.table(col_widths=(label_width, width - label_width), width=width, borders_layout="NONE",
                   first_row_as_headings=False, text_align="LEFT", v_align="TOP", line_height=5.5,
                   padding=(0.8, 1, 0.8, 0)) as table:
        for label, value in rows:
            row = table.row()
            row.cell(label, style=_BOLD)
            row.cell(value or "—")


def _header(pdf: FPDF, data: ReceiptData) -> None:
    qr_size = 30
    pdf.image(io.BytesIO(qr_png(data.dossier_code, scale=8)), x=pdf.w - pdf.r_margin - qr_size,
              y=pdf.t_margin, w=qr_size, h=qr_size)
    _line(pdf, "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM", 10, "B", "C")
    _line(pdf, "Độc lập - Tự do - Hạnh phúc", 10, "B", "C")
    pdf.ln(4)
    _line(pdf, TITLE, 16, "B", "C", h=8)
    _line(pdf, f"Mã hồ sơ: {data.dossier_code}", 11, "B", "C")
    pdf.set_y(max(pdf.get_y(), pdf.t_margin + qr_size) + 3)


def _request_section(pdf: FPDF, data: ReceiptData) -> None:
    id_card = is_id_card_procedure(data.procedure_id)
    pdf.ln(4)
    _line(pdf, ID_CARD_TITLE if id_card else CT01_TITLE, 12, "B", "C", h=7)
    _line(pdf, ID_CARD_FORM if id_card else CT01_FORM, 9, "", "C")
    pdf.ln(2)
    _line(pdf, f"Kính gửi: {data.receiving_office}")
    rows = [("1. Họ, chữ đệm và tên", data.applicant_name),
            ("2. Số định danh cá nhân", data.applicant_id_masked),
            ("3. Nội dung đề nghị", data.procedure_name)]
    rows += [(f"{n}. {label}", value) for n, (label, value) in enumerate(data.fields, start=4)]
    _table(pdf, rows)


def receipt_pdf(data: ReceiptData) -> bytes:
    """The receipt as an A4 PDF: summary, QR code of the dossier code, the request laid out like
    CT01 (residence) or the ID-card request, next steps and the disclaimer."""
    data = _masked(data)
    pdf = _new_pdf(data)
    _header(pdf, data)
    _table(pdf, _summary_rows(data))
    _request_section(pdf, data)
    pdf.ln(4)
    _line(pdf, "Bước tiếp theo", 11, "B")
    _line(pdf, data.next_steps)
    pdf.ln(4)
    _line(pdf, DISCLAIMER, 9)
    return bytes(pdf.output())


def receipt_text(data: ReceiptData) -> str:
    """The receipt as a short plain-text chat message (Vietnamese)."""
    data = _masked(data)
    lines = [TITLE]
    lines += [f"{label}: {value}" for label, value in _summary_rows(data)]
    if data.fields:
        lines.append("Nội dung đề nghị:")
        lines += [f"- {label}: {value}" for label, value in data.fields]
    lines.append(f"Bước tiếp theo: {data.next_steps}")
    lines.append(DISCLAIMER)
    return "\n".join(lines)
