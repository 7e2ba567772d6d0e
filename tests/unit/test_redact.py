"""Personal data is removed before a question is stored for the officers (assistant/text/redact.py):
each kind has its placeholder, and the words around it (what the question was about) stay."""
import pytest

from assistant.text import redact as redact_module
from assistant.text.redact import redact
from assistant.unanswered import UnansweredLog


def test_personal_data_is_removed():
    text = "tên tôi là Nguyễn Văn An, cccd 022190001234, sdt 0912 345 678, sinh 05/03/1990"
    clean = redact(text)
    for secret in ("Nguyễn", "022190001234", "0912", "345 678", "05/03/1990"):
        assert secret not in clean


@pytest.mark.parametrize("text, secret, placeholder", [
    ("số căn cước của tôi là 022190001234 bị sai", "022190001234", "<SỐ>"),
    ("căn cước 022 190 001 234 bị sai", "001 234", "<SỐ>"),
    ("cmnd cũ 123456789 còn dùng được không", "123456789", "<SỐ>"),
    ("cmnd 123.456.789 hết hạn", "456", "<SỐ>"),
    ("gọi cho tôi 0912345678", "0912345678", "<SỐ>"),
    ("sđt 0912 345 678 nhé", "345 678", "<SỐ>"),
    ("số +84 912 345 678", "912", "<SỐ>"),
    ("máy bàn 024.3123.4567", "3123", "<SỐ>"),
    ("hồ sơ H01.02.003-260101-0001 đến đâu rồi", "H01.02.003-260101-0001", "<MÃ_HỒ_SƠ>"),
    ("tra cứu NHAP-1A2B3C4D giúp em", "1A2B3C4D", "<MÃ_HỒ_SƠ>"),
    ("email an.nguyen+hs@gmail.com.vn có nhận thông báo không", "an.nguyen", "<EMAIL>"),
    ("sinh ngày 05/03/1990 thì bao giờ đổi thẻ", "1990", "<NGÀY>"),
])
def test_each_kind_of_number_and_code(text, secret, placeholder):
    clean = redact(text, ner=False)
    assert secret not in clean and placeholder in clean, clean


@pytest.mark.parametrize("text, secret, kept", [
    # explicit cues: any case, up to four words, stopping at punctuation and non-name words
    ("tôi tên là nguyễn văn an muốn làm căn cước", "nguyễn văn an", "muốn làm căn cước"),
    ("ten toi la tran thi b can gia han tam tru", "tran thi b", "can gia han tam tru"),
    ("họ tên: Lê Thị Hoa; cần đổi thẻ", "Lê Thị Hoa", "cần đổi thẻ"),
    ("Họ và tên Phạm Minh Đức, đăng ký tạm trú", "Phạm Minh Đức", "đăng ký tạm trú"),
    ("tên của con là Bình, làm khai sinh", "Bình", "làm khai sinh"),
    # weaker cues: capitalised words only
    ("tôi tên Lan hỏi về tạm vắng", "Lan", "hỏi về tạm vắng"),
    ("em là Mai, hỏi thủ tục tách hộ", "Mai", "hỏi thủ tục tách hộ"),
    ("nhờ anh Trần Minh Tuấn hỏi về tạm trú", "Trần Minh Tuấn", "hỏi về tạm trú"),
])
def test_names_after_a_cue_are_removed_without_the_tagger(text, secret, kept):
    clean = redact(text, ner=False)
    assert secret not in clean and "<TÊN>" in clean and kept in clean, clean


@pytest.mark.parametrize("text", [
    "đổi tên trên căn cước thế nào",
    "tên con là gì thì làm khai sinh được",
    "làm sao đăng ký tạm trú ở Bà Rịa - Vũng Tàu",
    "Đăng ký thường trú ở Hà Nội cần gì",
    "năm 2025 lệ phí bao nhiêu",
])
def test_ordinary_questions_are_left_alone(text):
    assert redact(text) == text


def test_the_tagger_finds_names_without_a_cue():
    clean = redact("Cho hỏi Nguyễn Thị Mai ở phường Bến Nghé làm căn cước")
    assert "Nguyễn Thị Mai" not in clean and "<TÊN>" in clean
    assert "làm căn cước" in clean


def test_placeholders_are_never_taken_for_names():
    clean = redact("anh Trần Minh Tuấn, sđt 0912345678")
    assert clean == "anh <TÊN>, sđt <SỐ>"


def test_without_the_tagger_the_patterns_still_work(monkeypatch):
    monkeypatch.setattr(redact_module, "_ner_state", "unavailable")
    monkeypatch.setattr(redact_module, "_ner", None)
    clean = redact("tên tôi là Nguyễn Văn An, cccd 022190001234")
    assert clean == "tên tôi là <TÊN>, cccd <SỐ>"


def test_unanswered_questions_are_stored_redacted(tmp_path):
    log = UnansweredLog(tmp_path / "u.sqlite3")
    log.record("số 022190001234 làm sổ đỏ thế nào", "rest", "out_of_scope", 0.9, "out_of_scope")
    rows = log.recent()
    assert len(rows) == 1 and "022190001234" not in rows[0]["text"] and "sổ đỏ" in rows[0]["text"]
    assert rows[0]["status"] == "open"


def test_an_older_unanswered_file_gains_the_status_columns(tmp_path):
    import sqlite3

    path = tmp_path / "old.sqlite3"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE unanswered (id INTEGER PRIMARY KEY AUTOINCREMENT, asked_at TEXT NOT NULL, "
                   "channel TEXT NOT NULL, text TEXT NOT NULL, intent TEXT, confidence REAL, "
                   "reason TEXT NOT NULL)")
        db.execute("INSERT INTO unanswered (asked_at, channel, text, reason) "
                   "VALUES ('2026-01-01T00:00:00+00:00', 'rest', 'cũ', 'general')")
    log = UnansweredLog(path)
    assert [r["status"] for r in log.rows()] == ["open"]
    assert log.mark([1], "handled", "bientap") == 1
    assert log.rows(status="handled")[0]["status_by"] == "bientap"
    with pytest.raises(ValueError):
        log.mark([1], "deleted", "bientap")
