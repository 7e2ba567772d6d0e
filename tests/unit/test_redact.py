from assistant.text.redact import redact
from assistant.unanswered import UnansweredLog


def test_personal_data_is_removed():
    text = "tên tôi là Nguyễn Văn An, cccd 022190001234, sdt 0912 345 678, sinh 05/03/1990"
    clean = redact(text)
    for secret in ("Nguyễn", "022190001234", "0912", "345 678", "05/03/1990"):
        assert secret not in clean


def test_unanswered_questions_are_stored_redacted(tmp_path):
    log = UnansweredLog(tmp_path / "u.sqlite3")
    log.record("số 022190001234 làm sổ đỏ thế nào", "rest", "out_of_scope", 0.9, "out_of_scope")
    rows = log.recent()
    assert len(rows) == 1 and "022190001234" not in rows[0]["text"] and "sổ đỏ" in rows[0]["text"]
