"""Filing dossiers through the REST channel of the running system, against the portal
sandbox: OTP login, the temporary-residence journey with a digression and a correction,
the dossier as the portal holds it, an officer's status change seen in chat, and the
portal going down just before the citizen confirms."""
from __future__ import annotations

import base64
import time
import uuid

import requests

from .conftest import OFFICER_TOKEN, PORTAL, ask, reply_text


def new_sender() -> str:
    return f"e2e-journey-{uuid.uuid4().hex[:8]}"


def citizens() -> list[dict]:
    return requests.get(f"{PORTAL}/sandbox/citizens", timeout=10).json()


def pick_citizen(index: int) -> dict:
    """An adult of the sandbox registry with a phone and no temporary residence."""
    adults = [c for c in citizens() if c["phone"] and not c["temporary_address"]
              and c["date_of_birth"] < "2000-01-01"]
    return adults[index]


def latest_code(id_number: str) -> str:
    return requests.get(f"{PORTAL}/sandbox/otp", params={"id_number": id_number}, timeout=10).json()["code"]


def officer(method: str, path: str, **options) -> requests.Response:
    return requests.request(method, f"{PORTAL}{path}", headers={"Authorization": f"Bearer {OFFICER_TOKEN}"},
                            timeout=10, **options)


def log_in(sender: str, citizen: dict, opening: str) -> str:
    """Start a journey and pass the OTP login; the reply after the code."""
    assert "số định danh" in reply_text(ask(sender, opening))
    sent = reply_text(ask(sender, citizen["id_number"]))
    assert "đã gửi mã xác thực" in sent and citizen["phone"][-2:] in sent
    assert citizen["id_number"] not in sent  # never shown back in clear
    return reply_text(ask(sender, latest_code(citizen["id_number"])))


def test_temporary_residence_from_login_to_status_in_chat(system):
    sender, citizen = new_sender(), pick_citizen(0)
    welcome = log_in(sender, citizen, "tôi muốn đăng ký tạm trú")
    assert "đã đăng nhập" in welcome and citizen["full_name"] in welcome
    assert "địa chỉ nào" in welcome

    # a question in the middle of the form is answered, then the form goes on
    digression = reply_text(ask(sender, "đăng ký tạm trú cần giấy tờ gì"))
    assert "CT01" in digression and "tiếp tục" in digression and "địa chỉ nào" in digression

    # a bad answer gets a reason, not a silent retry
    assert "Dạ," in reply_text(ask(sender, "abc"))
    assert "bao lâu" in reply_text(ask(sender, "so 12 to 3 khu 5 phuong bai chay quang ninh"))
    assert "tối đa" in reply_text(ask(sender, "3 năm"))
    assert "chủ hộ" in reply_text(ask(sender, "1 nam"))
    summary = reply_text(ask(sender, "người thuê nhà"))  # the phone comes from the registry
    assert "Phường Bãi Cháy" in summary and "1 năm" in summary and "7.000 đồng" in summary
    assert citizen["phone"] in summary

    corrected = reply_text(ask(sender, "sửa thời hạn thành 6 tháng"))
    assert "đã sửa thời hạn tạm trú thành: 6 tháng" in corrected and "Xác nhận và nộp" in corrected
    refused = reply_text(ask(sender, "sửa ngày sinh thành 05/03/1990"))
    assert "Cơ sở dữ liệu quốc gia về dân cư" in refused

    messages = ask(sender, "/affirm")
    receipt = reply_text(messages)
    code = next(w for w in receipt.replace(",", " ").split() if w.count("-") == 2 and "." in w)
    assert "PHIẾU TIẾP NHẬN" in receipt.upper() and "7.000 đồng" in receipt
    printable = next(m["custom"]["receipt"] for m in messages if m.get("custom"))
    assert base64.b64decode(printable["pdf_base64"]).startswith(b"%PDF")
    assert printable["dossier_code"] == code

    held = officer("GET", f"/api/dossiers/{code}").json()
    assert held["view"] == "full" and held["procedure_id"] == "dang-ky-tam-tru"
    assert held["applicant"]["id_number"] == citizen["id_number"]
    assert held["fields"]["stay_months"] == 6 and held["fields"]["head_relation"] == "người thuê nhà"
    assert held["fields"]["address"]["commune"] == "Phường Bãi Cháy"
    assert held["receiving_commune"]["commune"] == "Phường Bãi Cháy"

    assert officer("POST", f"/api/dossiers/{code}/status", json={"status": "processing"}).status_code == 200
    assert officer("POST", f"/api/dossiers/{code}/status",
                   json={"status": "needs_supplement",
                         "reason": "Thiếu hợp đồng thuê nhà"}).status_code == 200
    status = reply_text(ask(sender, f"tra cứu hồ sơ {code}"))
    assert "Cần bổ sung hồ sơ" in status and "Thiếu hợp đồng thuê nhà" in status

    mine = reply_text(ask(sender, "hồ sơ của tôi"))
    assert code in mine

    # "tạm biệt" ends the session: the next person at the kiosk is not logged in
    ask(sender, "tạm biệt")
    assert "Thiếu hợp đồng" not in reply_text(ask(sender, "hồ sơ của tôi"))


def test_cancel_at_any_point_forgets_the_answers(system):
    sender, citizen = new_sender(), pick_citizen(1)
    log_in(sender, citizen, "toi muon dang ky tam tru")
    ask(sender, "so 5 to 2 phuong hong gai quang ninh")
    assert "đã dừng" in reply_text(ask(sender, "hủy"))
    # still logged in: straight to the address
    restarted = reply_text(ask(sender, "tôi muốn đăng ký tạm trú"))
    assert "địa chỉ nào" in restarted and "số định danh" not in restarted


def test_portal_down_at_confirmation_gives_exactly_one_dossier_once_back(system, portal):
    sender, citizen = new_sender(), pick_citizen(2)
    log_in(sender, citizen, "tôi muốn đăng ký tạm trú")
    ask(sender, "so 8 duong le thanh tong phuong hong gai quang ninh")
    ask(sender, "12 thang")
    assert "Xác nhận và nộp" in reply_text(ask(sender, "con"))
    portal.stop()
    try:
        queued = reply_text(ask(sender, "đồng ý"))
    finally:
        portal.start()
    assert "gián đoạn" in queued and "NHAP-" in queued
    draft = next(w for w in queued.replace(",", " ").replace('"', " ").split() if w.startswith("NHAP-"))
    deadline, status = time.monotonic() + 60, ""
    while time.monotonic() < deadline:
        status = reply_text(ask(sender, f"tra cứu {draft}"))
        if "đã được gửi" in status:
            break
        time.sleep(1)
    assert "đã được gửi" in status, status
    # the citizen's own list in the portal: exactly one dossier, whoever sent it (worker or chat)
    requests.post(f"{PORTAL}/api/auth/otp", json={"id_number": citizen["id_number"]}, timeout=10)
    token = requests.post(f"{PORTAL}/api/auth/otp/verify", timeout=10, json={
        "id_number": citizen["id_number"], "code": latest_code(citizen["id_number"])}).json()["token"]
    mine = requests.get(f"{PORTAL}/api/dossiers", params={"mine": "1"}, timeout=10,
                        headers={"Authorization": f"Bearer {token}"}).json()
    assert len([d for d in mine if d["procedure_id"] == "dang-ky-tam-tru"]) == 1


def test_id_card_renewal_books_an_appointment_with_the_dossier(system):
    sender, citizen = new_sender(), pick_citizen(3)
    offer = ask(sender, "cấp đổi thẻ căn cước nộp online được không")
    button = next(b for m in offer for b in m.get("buttons", []) if b["title"] == "Khai hồ sơ ngay")
    reasons = ask(sender, button["payload"])
    assert "số định danh" in reply_text(reasons)
    ask(sender, citizen["id_number"])
    asked = ask(sender, latest_code(citizen["id_number"]))
    assert "lý do" in reply_text(asked)
    offered = ask(sender, "Thẻ bị hỏng")
    buttons = [b for m in offered for b in m.get("buttons", [])]
    assert buttons and "chụp ảnh" in reply_text(offered)
    summary = reply_text(ask(sender, buttons[0]["payload"]))
    assert "Thẻ bị hỏng" in summary and "DC02" in summary and "⚠" in summary  # unverified fee reduction
    messages = ask(sender, "xác nhận")
    receipt = reply_text(messages)
    code = next(m["custom"]["receipt"]["dossier_code"] for m in messages if m.get("custom"))
    assert code in receipt and "lịch hẹn" in receipt.lower()
    held = officer("GET", f"/api/dossiers/{code}").json()
    assert held["procedure_id"] == "cap-doi-the-can-cuoc" and held["fields"]["reason"] == "Thẻ bị hỏng"


def test_absence_declaration_checks_the_dates(system):
    sender, citizen = new_sender(), pick_citizen(4)
    log_in(sender, citizen, "tôi muốn khai báo tạm vắng vì đi làm xa")
    assert "đến ngày nào" in reply_text(ask(sender, "ngay 1 thang 12 nam 2026"))
    assert "sớm hơn ngày 01/12/2026" in reply_text(ask(sender, "20/11/2026"))
    assert "đến ở đâu" in reply_text(ask(sender, "1/12/2027"))
    assert "lý do" in reply_text(ask(sender, "phuong bai chay quang ninh")).lower()
    summary = reply_text(ask(sender, "đi làm ăn xa"))
    assert "01/12/2026" in summary and "01/12/2027" in summary and "miễn phí" in summary
    assert "PHIẾU TIẾP NHẬN" in reply_text(ask(sender, "dong y")).upper()
