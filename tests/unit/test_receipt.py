"""The dossier receipt: an A4 PDF with a QR code of the dossier code, and its chat-message form."""
import io
import shutil
import subprocess
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

import pytest
import segno
from PIL import Image
from pypdf import PdfReader

from assistant.dossiers.receipt import (
    CT01_TITLE,
    DISCLAIMER,
    ID_CARD_TITLE,
    TITLE,
    ReceiptData,
    font_dir,
    is_id_card_procedure,
    qr_png,
    receipt_pdf,
    receipt_text,
)

FULL_ID = "022190001234"
HEAD_ID = "022305004321"

RESIDENCE = ReceiptData(
    dossier_code="G01.899.108-260213-0007",
    procedure_id="dang-ky-tam-tru",
    procedure_name="Đăng ký tạm trú",
    submitted_at=datetime(2026, 2, 13, 10, 30),
    expected_result=date(2026, 2, 25),
    fee_text=("Nộp trực tuyến: 7.000 đồng; thanh toán trên Cổng Dịch vụ công hoặc tại Công an xã "
              "khi nhận kết quả"),
    receiving_office="Công an phường Hồng Gai, tỉnh Quảng Ninh",
    applicant_name="Nguyễn Thị Hồng Nhung",
    applicant_id_masked="022*******34",
    fields=(("Nơi đề nghị đăng ký tạm trú", "Số 12, tổ 3, khu 5, phường Hồng Gai, Quảng Ninh"),
            ("Thời hạn tạm trú", "12 tháng"),
            ("Số định danh của chủ hộ", HEAD_ID),
            ("Số điện thoại liên hệ", "0912345678")),
    appointment=None,
    next_steps="Công an phường kiểm tra hồ sơ; kết quả được thông báo qua VNeID và tin nhắn.",
)
ID_CARD = replace(RESIDENCE, dossier_code="G01.899.108-260213-0008", procedure_id="cap-doi-the-can-cuoc",
                  procedure_name="Cấp đổi thẻ căn cước", fee_text="Miễn phí",
                  fields=(("Lý do cấp đổi", "Đủ tuổi đổi thẻ (14, 25, 40, 60 tuổi)"),),
                  appointment="08:00 - 11:00, Thứ Ba 17/03/2026 tại Công an phường Hồng Gai")


def _reader(data: ReceiptData) -> PdfReader:
    return PdfReader(io.BytesIO(receipt_pdf(data)))


def _text(data: ReceiptData) -> str:
    """The PDF's text with line breaks (wrapped cells) as single spaces."""
    return " ".join(" ".join(page.extract_text() for page in _reader(data).pages).split())


def _modules(image: Image.Image, size: int, scale: int, border: int = 4) -> list[list[int]]:
    """The dark (1) / light (0) modules read at the centre of each module of a QR image."""
    grey = image.convert("L")
    return [[int(grey.getpixel(((border + x) * scale + scale // 2, (border + y) * scale + scale // 2)) < 128)
             for x in range(size)] for y in range(size)]


def _matrix(text: str) -> list[list[int]]:
    return [list(row) for row in segno.make(text, error="m", micro=False).matrix]


def test_a_pdf_on_a4():
    pdf = receipt_pdf(RESIDENCE)
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    page = PdfReader(io.BytesIO(pdf)).pages[0]
    assert (round(float(page.mediabox.width)), round(float(page.mediabox.height))) == (595, 842)


def test_the_receipt_shows_the_dossier_and_vietnamese_text():
    text = _text(RESIDENCE)
    for expected in (TITLE, "Mã hồ sơ: G01.899.108-260213-0007", CT01_TITLE,
                     "Kính gửi: Công an phường Hồng Gai", "Nguyễn Thị Hồng Nhung", "Thứ Tư, 25/02/2026",
                     "10:30 ngày 13/02/2026", "7.000 đồng",
                     "Nơi đề nghị đăng ký tạm trú", "Số 12, tổ 3, khu 5", "Bước tiếp theo",
                     "do Trợ lý ảo 06 tạo", "do cơ quan Công an thông báo"):
        assert expected in text, expected
    assert ID_CARD_TITLE not in text


def test_id_card_procedures_get_the_id_card_section():
    text = _text(ID_CARD)
    assert ID_CARD_TITLE in text and CT01_TITLE not in text
    assert "Lịch hẹn" in text and "Đủ tuổi đổi thẻ" in text
    assert is_id_card_procedure("cap-lai-the-can-cuoc") and not is_id_card_procedure("tach-ho")


def test_the_embedded_qr_code_is_the_dossier_code():
    images = _reader(RESIDENCE).pages[0].images
    assert len(images) == 1
    expected = _matrix(RESIDENCE.dossier_code)
    image = images[0].image
    scale = image.width // (len(expected) + 8)
    assert _modules(image, len(expected), scale) == expected
    assert _modules(image, len(expected), scale) != _matrix(ID_CARD.dossier_code)


@pytest.mark.skipif(shutil.which("zbarimg") is None, reason="zbarimg (Debian zbar-tools) not installed")
def test_the_embedded_qr_code_decodes(tmp_path):
    image = tmp_path / "qr.png"
    _reader(RESIDENCE).pages[0].images[0].image.save(image)
    decoded = subprocess.run(["zbarimg", "-q", "--raw", str(image)],
                             capture_output=True, text=True, timeout=30)
    assert decoded.stdout.strip() == RESIDENCE.dossier_code


def test_qr_png_for_a_known_text():
    png = qr_png("G01.899.108-260213-0007")
    assert png.startswith(b"\x89PNG")
    qr = segno.make("G01.899.108-260213-0007", error="m", micro=False)
    assert (qr.version, qr.error, qr.mode) == (2, "Q", "alphanumeric")  # M boosted to Q
    image = Image.open(io.BytesIO(png))
    assert image.size == (33 * 4, 33 * 4)
    assert _modules(image, 25, 4) == _matrix("G01.899.108-260213-0007")
    assert Image.open(io.BytesIO(qr_png("x", scale=2))).size == (21 * 2 + 16, 21 * 2 + 16)


def test_the_full_id_number_never_appears():
    careless = replace(RESIDENCE, applicant_id_masked=FULL_ID,
                       fields=RESIDENCE.fields + (("Thành viên", "022 305 004 321, 022.190.001.234"),),
                       next_steps=f"Mang theo thẻ số {FULL_ID}.")
    pdf = receipt_pdf(careless)
    text, chat = _text(careless), receipt_text(careless)
    for shown in (text, chat):
        for number in (FULL_ID, HEAD_ID, "022 305 004 321", "022.190.001.234", "190001", "305004"):
            assert number not in shown
        assert "022*******34" in shown and "022*******21" in shown
    assert FULL_ID.encode() not in pdf and HEAD_ID.encode() not in pdf
    assert "0912345678" in text  # a phone number is not an ID number


def test_same_input_same_bytes():
    assert receipt_pdf(RESIDENCE) == receipt_pdf(replace(RESIDENCE))
    # a naive time is Vietnam time
    vietnam = timezone(timedelta(hours=7))
    aware = replace(RESIDENCE, submitted_at=datetime(2026, 2, 13, 10, 30, tzinfo=vietnam))
    assert receipt_pdf(aware) == receipt_pdf(RESIDENCE)
    later = replace(RESIDENCE, submitted_at=datetime(2026, 2, 13, 10, 31))
    assert receipt_pdf(later) != receipt_pdf(RESIDENCE)


def test_creation_date_and_title_metadata():
    meta = _reader(RESIDENCE).metadata
    assert meta.creation_date.replace(tzinfo=None) == datetime(2026, 2, 13, 10, 30)
    assert meta.creation_date.utcoffset() == timedelta(hours=7)
    assert meta.title == "Phiếu tiếp nhận hồ sơ G01.899.108-260213-0007"


def test_a_long_request_flows_onto_a_second_page():
    many = replace(RESIDENCE, fields=tuple((f"Thông tin {i}", "Nội dung khá dài " * 6) for i in range(40)))
    reader = _reader(many)
    assert len(reader.pages) >= 2
    assert "Thông tin 39" in " ".join(page.extract_text() for page in reader.pages)


def test_the_chat_message():
    chat = receipt_text(ID_CARD)
    lines = chat.splitlines()
    assert lines[0] == TITLE and lines[-1] == DISCLAIMER
    for expected in ("Mã hồ sơ: G01.899.108-260213-0008", "Thủ tục: Cấp đổi thẻ căn cước",
                     "Ngày hẹn trả kết quả (dự kiến): Thứ Tư, 25/02/2026", "Lệ phí: Miễn phí",
                     "Lịch hẹn: 08:00 - 11:00", "- Lý do cấp đổi: Đủ tuổi đổi thẻ", "Bước tiếp theo: "):
        assert expected in chat, expected
    assert "Lịch hẹn" not in receipt_text(RESIDENCE)


def test_decomposed_vietnamese_is_normalised():
    decomposed = replace(RESIDENCE, applicant_name="Nguye\u0302\u0303n Thi\u0323 Ho\u0302\u0300ng Nhung")
    assert "Nguyễn Thị Hồng Nhung" in receipt_text(decomposed)
    assert receipt_pdf(decomposed) == receipt_pdf(RESIDENCE)


def test_the_font_is_dejavu_sans():
    assert (font_dir() / "DejaVuSans.ttf").is_file() and (font_dir() / "DejaVuSans-Bold.ttf").is_file()


@pytest.mark.parametrize("code", ["G01.899.108-260213-0007", "000.00.00.H40-260213-0001"])
def test_the_dossier_code_is_printed_as_given(code):
    assert f"Mã hồ sơ: {code}" in _text(replace(RESIDENCE, dossier_code=code))


def test_without_matplotlib_the_debian_font_is_used(monkeypatch):
    from assistant.dossiers import receipt

    monkeypatch.setattr(receipt.importlib.util, "find_spec", lambda name: None)
    receipt.font_dir.cache_clear()
    try:
        if (receipt._SYSTEM_FONT_DIR / "DejaVuSans.ttf").is_file():
            assert receipt.font_dir() == receipt._SYSTEM_FONT_DIR
        else:
            with pytest.raises(FileNotFoundError, match="fonts-dejavu-core"):
                receipt.font_dir()
    finally:
        receipt.font_dir.cache_clear()
