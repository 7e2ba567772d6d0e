"""Through the REST channel of the running system: answers carry the right facts."""
import sqlite3
import uuid

import pytest
import requests

from .conftest import ask, reply_text


def new_sender() -> str:
    return f"e2e-{uuid.uuid4().hex[:8]}"


@pytest.mark.parametrize("question", [
    "Lệ phí đăng ký tạm trú là bao nhiêu?",
    "le phi dang ky tam tru bao nhieu",
    "đk tt mất bn tiền vậy",
])
def test_temporary_residence_fee(system, question):
    text = reply_text(ask(new_sender(), question))
    assert "15.000 đồng" in text and "7.000 đồng" in text and "75/2022/TT-BTC" in text


@pytest.mark.parametrize("question", [
    "Đăng ký thường trú mất bao lâu?",
    "dang ky thuong tru bao lau thi xong",
])
def test_permanent_residence_processing_time(system, question):
    assert "07 ngày làm việc" in reply_text(ask(new_sender(), question))


@pytest.mark.parametrize("question", [
    "Đăng ký tạm trú cần những giấy tờ gì?",
    "dang ky tam tru can giay to gi",
])
def test_temporary_residence_documents_name_form_ct01(system, question):
    assert "CT01" in reply_text(ask(new_sender(), question))


def test_follow_up_uses_the_procedure_of_the_conversation(system):
    sender = new_sender()
    first = reply_text(ask(sender, "đăng ký tạm trú cần giấy tờ gì"))
    assert "CT01" in first
    follow_up = reply_text(ask(sender, "còn lệ phí thì sao?"))
    assert "15.000 đồng" in follow_up


def test_id_card_reissue_fee_reduction_is_quoted_with_its_end_date(system):
    text = reply_text(ask(new_sender(), "cấp lại thẻ căn cước bị mất mất bao nhiêu tiền"))
    assert "35.000 đồng" in text and "31/12/2026" in text


def test_out_of_scope_is_declined_politely_and_recorded(system):
    text = reply_text(ask(new_sender(), "thủ tục đăng ký kết hôn cần những gì"))
    assert "chưa hỗ trợ" in text and "cư trú" in text
    with sqlite3.connect(system["unanswered"]) as connection:
        rows = connection.execute("SELECT text, reason FROM unanswered").fetchall()
    assert any("kết hôn" in row[0] for row in rows)


def test_the_action_server_and_the_api_are_up(system):
    assert requests.get("http://127.0.0.1:5055/health", timeout=5).json()["status"] == "ok"
    assert requests.get("http://127.0.0.1:8000/health", timeout=5).json()["procedures"] == 18


def test_documents_with_many_cases_ask_first_and_a_button_answers_that_case(system):
    sender = new_sender()
    question = ask(sender, "đăng ký thường trú cần những giấy tờ gì")
    buttons = [b for m in question for b in m.get("buttons", [])]
    assert "trường hợp nào" in reply_text(question) and len(buttons) >= 3
    rented = next(b for b in buttons if "thuê" in b["title"])
    answer = reply_text(ask(sender, rented["payload"]))
    assert "10 m²" in answer and "công chứng" in answer


def test_gibberish_gets_a_clarifying_answer_not_a_guess(system):
    text = reply_text(ask(new_sender(), "asdkjh qwe zxcvb"))
    assert "chưa tìm được câu trả lời" in text


def test_the_portal_sandbox_runs_with_its_registry(system):
    health = requests.get("http://127.0.0.1:8100/health", timeout=10).json()
    assert health["status"] == "ok" and health["citizens"] >= 50 and health["sandbox"] is True
    citizens = requests.get("http://127.0.0.1:8100/sandbox/citizens", timeout=10).json()
    assert len(citizens) == health["citizens"]


def test_the_running_rasa_mounts_the_zalo_and_messenger_webhooks_and_refuses_forgeries(system):
    forged = {"app_id": "1", "event_name": "user_send_text", "timestamp": "1",
              "sender": {"id": "9"}, "message": {"text": "xin chào", "msg_id": "m1"}}
    zalo = requests.post("http://127.0.0.1:5005/webhooks/zalo/webhook", json=forged,
                         headers={"X-ZEvent-Signature": "mac=00"}, timeout=10)
    facebook = requests.post("http://127.0.0.1:5005/webhooks/facebook/webhook",
                             json={"object": "page", "entry": []}, timeout=10)
    handshake = requests.get("http://127.0.0.1:5005/webhooks/facebook/webhook", timeout=10, params={
        "hub.mode": "subscribe", "hub.verify_token": "", "hub.challenge": "42"})
    assert (zalo.status_code, facebook.status_code, handshake.status_code) == (401, 401, 403)
